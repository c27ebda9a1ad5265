"""SIGTERM as an interrupt, so the engine's ``finally`` (the thaw) runs when a pod is stopped.

Python turns SIGINT into :class:`KeyboardInterrupt`; SIGTERM (``kubectl delete pod``, a
CronJob's deadline, ``kill``) would end the process without unwinding. Wrap anything that may
freeze an application::

    with sigterm_as_interrupt():
        result = engine.run(request)

The first SIGTERM raises ``KeyboardInterrupt`` in the main thread; later ones are logged and
ignored, so they cannot cut the thaw short (the thaw also runs in a non-daemon thread).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises ``KeyboardInterrupt`` (once). Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if fired:
            log.warning("SIGTERM again: still thawing, ignored")
            return
        fired = True
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
