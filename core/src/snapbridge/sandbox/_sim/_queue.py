"""A client-go style work queue (dedup, delayed re-adds, one worker per key at a time)."""

from __future__ import annotations

import heapq
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ._kube import ApiException, Kube, log

Key = tuple[str, ...]
# A reconcile returns None when done, or the delay (seconds) after which to run it again.
Reconcile = Callable[[Kube, Key], float | None]


class WorkQueue:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[Key] = []
        self._queued: set[Key] = set()
        self._active: set[Key] = set()
        self._dirty: set[Key] = set()
        self._delayed: list[tuple[float, int, Key]] = []
        self._seq = 0
        self._closed = False

    def add(self, key: Key) -> None:
        with self._cond:
            if key in self._active:
                self._dirty.add(key)
            elif key not in self._queued:
                self._queued.add(key)
                self._queue.append(key)
                self._cond.notify()

    def add_after(self, key: Key, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            self._seq += 1
            heapq.heappush(self._delayed, (time.monotonic() + delay, self._seq, key))
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def get(self) -> Key | None:
        with self._cond:
            while True:
                if self._closed:
                    return None
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    _, _, key = heapq.heappop(self._delayed)
                    if key in self._active:
                        self._dirty.add(key)
                    elif key not in self._queued:
                        self._queued.add(key)
                        self._queue.append(key)
                if self._queue:
                    key = self._queue.pop(0)
                    self._queued.discard(key)
                    self._active.add(key)
                    return key
                timeout = self._delayed[0][0] - now if self._delayed else None
                self._cond.wait(timeout)

    def done(self, key: Key) -> None:
        with self._cond:
            self._active.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                if key not in self._queued:
                    self._queued.add(key)
                    self._queue.append(key)
                    self._cond.notify()


class Waiters:
    """Keys waiting for news about something (a namespace's claims, a snapshot...).

    Register with :meth:`expect` *before* checking the condition, so that an event arriving
    between the check and the registration still wakes the key.
    """

    def __init__(self, queue: WorkQueue) -> None:
        self.queue = queue
        self.lock = threading.Lock()
        self.keys: dict[tuple[str, ...], set[Key]] = {}

    def expect(self, token: tuple[str, ...], key: Key) -> None:
        with self.lock:
            self.keys.setdefault(token, set()).add(key)

    def wake(self, token: tuple[str, ...]) -> None:
        with self.lock:
            keys = self.keys.pop(token, set())
        for key in keys:
            self.queue.add(key)


def describe(exc: Exception) -> str:
    """One line for the log (API errors carry their whole HTTP exchange otherwise)."""
    if isinstance(exc, ApiException):
        try:
            message = json.loads(exc.body or "{}").get("message", "")
        except ValueError:
            message = str(exc.body)[:200]
        return f"HTTP {exc.status} {exc.reason}: {message}"
    return f"{type(exc).__name__}: {exc}"


def run_workers(
    kubeconfig: Path,
    queue: WorkQueue,
    reconcile: Reconcile,
    *,
    name: str,
    workers: int = 2,
) -> list[threading.Thread]:
    """Start ``workers`` daemon threads, each with its own :class:`Kube`, draining ``queue``."""

    def run() -> None:
        kube = Kube(kubeconfig)
        failures: dict[Key, int] = {}
        try:
            while (key := queue.get()) is not None:
                try:
                    again = reconcile(kube, key)
                    failures.pop(key, None)
                except Exception as exc:
                    n = failures[key] = failures.get(key, 0) + 1
                    log.warning("%s %s: reconcile failed: %s", name, key, describe(exc))
                    again = min(0.1 * 2**n, 10.0)
                finally:
                    queue.done(key)
                if again is not None:
                    queue.add_after(key, again)
        finally:
            kube.close()

    threads = [
        threading.Thread(target=run, name=f"{name}-{i}", daemon=True) for i in range(workers)
    ]
    for t in threads:
        t.start()
    return threads
