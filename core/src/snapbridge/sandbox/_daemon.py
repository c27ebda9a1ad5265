"""The sandbox daemon: hosts the simulated storage and kubelet (`snapbridge.sandbox._sim`).

Run as `python -m snapbridge.sandbox._daemon --state-dir DIR --kubeconfig K --kubelet-port P`.
It calls `_sim.serve(...)` until SIGTERM/SIGINT. While `_sim` is not available it says so in its log
and in `DIR/sim-status`, and idles, so the control plane is still usable.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
import traceback
import warnings
from pathlib import Path
from types import FrameType

from snapbridge.sandbox._state import SIM_STATUS_FILE

log = logging.getLogger("snapbridge.sandbox.daemon")


def _write_status(state_dir: Path, status: str) -> None:
    (state_dir / SIM_STATUS_FILE).write_text(status + "\n")


def run(state_dir: Path, kubeconfig: Path, kubelet_port: int, stop: threading.Event) -> int:
    try:
        sim = importlib.import_module("snapbridge.sandbox._sim")
        serve = sim.serve
    except (ImportError, AttributeError) as exc:
        reason = f"snapbridge.sandbox._sim.serve is not available ({exc}); control plane only"
        log.warning("simulated storage/kubelet not started: %s", reason)
        _write_status(state_dir, f"unavailable: {reason}")
        stop.wait()
        return 0
    _write_status(state_dir, "running")
    log.info("simulated storage/kubelet starting (kubelet port %d)", kubelet_port)
    try:
        serve(kubeconfig=kubeconfig, state_dir=state_dir, kubelet_port=kubelet_port, stop=stop)
    except Exception as exc:
        log.error("simulated storage/kubelet failed:\n%s", traceback.format_exc())
        _write_status(state_dir, f"failed: {exc!r}")
        return 1
    _write_status(state_dir, "stopped")
    log.info("simulated storage/kubelet stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m snapbridge.sandbox._daemon")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--kubelet-port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The sandbox apiserver's certificate is self-signed and not verified (loopback only); urllib3
    # would warn on every request the simulator makes.
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    stop = threading.Event()

    def _request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    return run(args.state_dir, args.kubeconfig, args.kubelet_port, stop)


if __name__ == "__main__":
    sys.exit(main())
