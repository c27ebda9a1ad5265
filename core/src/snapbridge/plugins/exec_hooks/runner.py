"""Running one hook through ``pods/exec``, and running work in ordered parallel waves."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from typing import TypeVar

from ...cluster import Cluster
from ...errors import SnapbridgeError
from .config import ExecHook

T = TypeVar("T")
R = TypeVar("R")

_TAIL = 300


def run_hook(
    cluster: Cluster,
    namespace: str,
    pod: str,
    containers: Sequence[str],
    hook: ExecHook,
    phase: str,
) -> str | None:
    """Run ``hook`` in the pod; ``None`` on success, else what went wrong (one line).

    The argv goes to ``pods/exec`` as is. On timeout the exec stream is closed, which makes
    the kubelet (the sandbox's, and kubelets that tie the process to the stream) kill it.
    """
    where = f"{phase} hook {hook.command[0]!r} in {namespace}/{pod}"
    if hook.container and containers and hook.container not in containers:
        return f"{where}: container {hook.container!r} not in the pod ({', '.join(containers)})"
    started = time.monotonic()
    try:
        result = cluster.exec(
            namespace, pod, hook.container, list(hook.command), timeout=hook.timeout
        )
    except SnapbridgeError as exc:
        return f"{where}: exec failed: {exc.message}"
    if result.timed_out:
        return f"{where}: timed out after {hook.timeout:g}s and was killed"
    if result.exit_code != 0:
        detail = (result.stderr.strip() or result.stdout.strip())[-_TAIL:]
        took = time.monotonic() - started
        return f"{where}: exit code {result.exit_code} after {took:.2f}s" + (
            f": {detail}" if detail else ""
        )
    return None


def waves(items: Sequence[T], order: Callable[[T], int], *, reverse: bool = False) -> list[list[T]]:
    """``items`` grouped by ``order`` (ascending, or descending with ``reverse``)."""
    ranked = sorted(items, key=order, reverse=reverse)
    return [list(group) for _, group in groupby(ranked, key=order)]


def run_parallel(fn: Callable[[T], R], items: Sequence[T], parallelism: int) -> list[R]:
    """``fn`` over ``items`` on a thread pool; results in order; waits for every call.

    If the waiting thread is interrupted (Ctrl-C, SIGTERM turned into ``KeyboardInterrupt``),
    calls not yet started are cancelled and the interrupt propagates at once; calls already
    running finish in the background.
    """
    if len(items) == 1:
        return [fn(items[0])]
    pool = ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(items))))
    try:
        futures = [pool.submit(fn, item) for item in items]
        results = [f.result() for f in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results
