"""SIGTERM becomes an interrupt (once), so ``finally`` blocks such as the thaw run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

SCRIPT = """
import sys, time
from snapbridge._internal.signals import sigterm_as_interrupt
try:
    with sigterm_as_interrupt():
        try:
            print("frozen", flush=True)
            time.sleep(60)
        finally:  # the engine's thaw
            print("thawing", flush=True)
            time.sleep(1.0)  # a second SIGTERM must not cut it short
            print("thawed", flush=True)
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_sigterm_interrupts_once_and_the_cleanup_completes() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "frozen"
        child.send_signal(signal.SIGTERM)
        assert child.stdout.readline().strip() == "thawing"
        time.sleep(0.2)
        child.send_signal(signal.SIGTERM)
        rest, _ = child.communicate(timeout=30)
    assert rest.split() == ["thawed"]
    assert child.returncode == 130


def test_the_previous_handler_is_restored() -> None:
    from snapbridge._internal.signals import sigterm_as_interrupt

    before = signal.getsignal(signal.SIGTERM)
    with sigterm_as_interrupt():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
