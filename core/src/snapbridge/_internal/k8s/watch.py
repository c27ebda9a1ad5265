"""Watch-driven waits: one LIST + one WATCH for many objects; re-list on 410 Gone."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kubernetes.client.exceptions import ApiException
from kubernetes.watch import Watch

from ...cluster import KubeObject, ResourceKind

if TYPE_CHECKING:
    from .client import KubeCluster

log = logging.getLogger(__name__)


def wait_for_objects(
    cluster: KubeCluster,
    kind: ResourceKind,
    pending: set[str],
    namespace: str | None,
    condition: Callable[[KubeObject], bool],
    *,
    timeout: float,
    on_event: Callable[[KubeObject], None] | None = None,
    label_selector: str | None = None,
) -> dict[str, KubeObject]:
    done: dict[str, KubeObject] = {}
    deadline = time.monotonic() + timeout
    res = cluster.resource(kind)
    ns = namespace if kind.namespaced else None

    def consider(obj: KubeObject) -> None:
        name = obj.get("metadata", {}).get("name")
        if name not in pending:
            return
        if on_event is not None:
            on_event(obj)
        if condition(obj):
            done[name] = obj
            pending.discard(name)

    field_selector = f"metadata.name={next(iter(pending))}" if len(pending) == 1 else None
    while pending:
        items, rv = cluster.list_with_version(kind, namespace, label_selector)
        for obj in items:
            consider(obj)
        if not pending:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        watcher = Watch()
        stream = watcher.stream(
            res.get,
            namespace=ns,
            resource_version=rv,
            label_selector=label_selector,
            field_selector=field_selector,
            timeout_seconds=max(1, int(remaining)),
            serialize=False,
        )
        try:
            for event in stream:
                if event.get("type") == "ERROR":
                    log.debug("watch error event, re-listing: %s", event.get("raw_object"))
                    break
                consider(event.get("raw_object") or event["object"])
                if not pending or time.monotonic() >= deadline:
                    break
        except ApiException as exc:
            if exc.status != 410:
                raise
            log.debug("watch expired (410 Gone); re-listing")
        finally:
            watcher.stop()
            stream.close()
        if time.monotonic() >= deadline:
            break
    if pending:
        raise TimeoutError(
            f"{kind.kind} not ready after {timeout:.0f}s: {', '.join(sorted(pending))}"
        )
    return done
