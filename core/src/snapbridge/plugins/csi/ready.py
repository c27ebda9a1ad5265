"""Waiting for readiness after thaw (watch-driven), and retaining group member contents."""

from __future__ import annotations

from typing import Any

from ...cluster import VOLUME_SNAPSHOT, VOLUME_SNAPSHOT_CONTENT, KubeObject, group_snapshot_kinds
from ...context import RunContext, utcnow
from ...errors import ClusterAPIError
from ...models import SnapshotRecord, SnapshotSet
from .names import RUN_LABEL, member_content_name
from .snapshot import _raise_on_error, _status


def _retain_if_present(ctx: RunContext, content: str) -> None:
    """One PATCH; a driver that made no per-member content (404) has nothing to retain."""
    try:
        ctx.cluster.patch(VOLUME_SNAPSHOT_CONTENT, content, {"spec": {"deletionPolicy": "Retain"}})
    except ClusterAPIError as exc:
        if exc.status != 404:
            raise


def _ready(obj: KubeObject) -> bool:
    return bool(_status(obj).get("readyToUse"))


def wait_ready(ctx: RunContext, snapshots: SnapshotSet, deadline: float) -> SnapshotSet:
    if snapshots.group_snapshot_name:
        return _wait_group(ctx, snapshots, deadline)
    ns = snapshots.records[0].snapshot_namespace if snapshots.records else ""
    seen_ready: dict[str, Any] = {}
    pvc_of = {r.snapshot_name: r.volume.key for r in snapshots.records}
    check_error = _raise_on_error(
        pvc_of, snapshots.records[0].driver if snapshots.records else None
    )

    def on_event(obj: KubeObject) -> None:
        check_error(obj)
        if _ready(obj):
            seen_ready.setdefault(obj["metadata"]["name"], utcnow())

    done = ctx.cluster.wait_for(
        VOLUME_SNAPSHOT,
        [r.snapshot_name for r in snapshots.records],
        ns,
        _ready,
        timeout=deadline,
        on_event=on_event,
        label_selector=f"{RUN_LABEL}={ctx.run_id}",
    )
    records = [
        r.model_copy(
            update={
                "ready_time": seen_ready.get(r.snapshot_name, utcnow()),
                "restore_size": _status(done[r.snapshot_name]).get("restoreSize"),
            }
        )
        for r in snapshots.records
    ]
    return snapshots.model_copy(update={"records": records})


def _wait_group(ctx: RunContext, snapshots: SnapshotSet, deadline: float) -> SnapshotSet:
    vgs_kind, content_kind, _ = group_snapshot_kinds(snapshots.group_snapshot_api or "v1")
    name = snapshots.group_snapshot_name or ""
    ns = snapshots.records[0].snapshot_namespace
    pvcs = ",".join(r.volume.pvc for r in snapshots.records)
    vgs = ctx.cluster.wait_for(
        vgs_kind,
        [name],
        ns,
        _ready,
        timeout=deadline,
        on_event=_raise_on_error({name: f"{ns}/{pvcs}"}, snapshots.records[0].driver),
    )[name]
    ready_at = utcnow()
    content = (
        ctx.cluster.get(content_kind, _status(vgs)["boundVolumeGroupSnapshotContentName"]) or {}
    )
    sizes = {
        i.get("volumeHandle"): i.get("restoreSize")
        for i in _status(content).get("volumeSnapshotInfoList") or []
    }
    records: list[SnapshotRecord] = []
    for r in snapshots.records:
        member = member_content_name(vgs["metadata"]["uid"], r.volume.volume_handle or "")
        _retain_if_present(ctx, member)
        size = sizes.get(r.volume.volume_handle) or r.volume.size
        records.append(
            r.model_copy(
                update={
                    "ready_time": ready_at,
                    "restore_size": str(size) if size is not None else None,
                    "content_name": member,
                }
            )
        )
    return snapshots.model_copy(update={"records": records})
