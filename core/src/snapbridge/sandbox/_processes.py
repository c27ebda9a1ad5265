"""Starting and stopping the sandbox's child processes.

Each child runs in its own process group (so stopping it also stops whatever it spawned) with its
output in a log file. An *attached* child also gets `PR_SET_PDEATHSIG`, so the kernel terminates it
when the process that started it dies (the pytest case); a *detached* child outlives the CLI that
started it and is found again through its recorded pid and start time.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

_PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 10.0


class ProcessRecord(BaseModel):
    """A started child as recorded in the state file."""

    name: str
    pid: int
    start_ticks: int
    log: Path
    argv: list[str]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot; None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime); the command name in field 2 may contain spaces, so split after ')'.
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else int(fields[19])


def is_alive(record: ProcessRecord) -> bool:
    """True when the recorded process still runs (and its pid was not reused)."""
    return start_ticks(record.pid) == record.start_ticks


def _die_with_parent(death_signal: signal.Signals) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, death_signal)


def spawn(
    name: str,
    argv: Sequence[str | Path],
    log: Path,
    *,
    attached: bool,
    death_signal: signal.Signals = signal.SIGTERM,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], ProcessRecord]:
    """Start `argv` in a new session with stdout/stderr appended to `log`.

    An attached child gets `death_signal` when its owner dies. SIGKILL suits the control-plane
    binaries: they all die at once then, and a kube-apiserver whose etcd is gone spends up to a
    minute draining requests after SIGTERM. The throw-away state makes a hard kill harmless.
    """
    args = [str(a) for a in argv]
    preexec: Callable[[], None] | None = (
        functools.partial(_die_with_parent, death_signal) if attached else None
    )
    with log.open("ab") as out:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec,  # noqa: PLW1509 - only prctl, async-signal-safe enough
            env=env,
        )
    ticks = start_ticks(process.pid) or 0
    return process, ProcessRecord(name=name, pid=process.pid, start_ticks=ticks, log=log, argv=args)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def stop(record: ProcessRecord, process: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the child's process group, SIGKILL it after STOP_TIMEOUT; reap our own child."""
    if process is None and not is_alive(record):
        return
    _signal_group(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                break
        elif not is_alive(record):
            break
        time.sleep(0.05)
    else:
        _signal_group(record.pid, signal.SIGKILL)
        if process is not None:
            process.wait(timeout=STOP_TIMEOUT)
    # Leftovers of the group (e.g. grandchildren) go too.
    _signal_group(record.pid, signal.SIGKILL)


def log_tail(log: Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file, for error messages."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
