"""Built-in ``metrics`` plugin: times every phase hook (wrapper hooks) into Prometheus metrics.

Uses an explicit registry per process (never the global one) so tests can create many.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from ..hookspecs import hookimpl


def _timed(name: str) -> Generator[None, Any, Any]:
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        from .._internal.metrics import observe_phase

        observe_phase(name, time.perf_counter() - start)


@hookimpl(wrapper=True)
def snapbridge_discover() -> Generator[None, Any, Any]:
    return (yield from _timed("discover"))


@hookimpl(wrapper=True)
def snapbridge_quiesce() -> Generator[None, Any, Any]:
    return (yield from _timed("quiesce"))


@hookimpl(wrapper=True)
def snapbridge_snapshot() -> Generator[None, Any, Any]:
    return (yield from _timed("snapshot"))


@hookimpl(wrapper=True)
def snapbridge_thaw() -> Generator[None, Any, Any]:
    return (yield from _timed("thaw"))


@hookimpl(wrapper=True)
def snapbridge_wait_ready() -> Generator[None, Any, Any]:
    return (yield from _timed("ready"))


@hookimpl(wrapper=True)
def snapbridge_export() -> Generator[None, Any, Any]:
    return (yield from _timed("export"))


@hookimpl(wrapper=True)
def snapbridge_restore() -> Generator[None, Any, Any]:
    return (yield from _timed("restore"))
