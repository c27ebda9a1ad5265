"""Building the RestorePoint record from a journaled run."""

from __future__ import annotations

from ..context import RunContext, utcnow
from ..models import (
    BackupRequest,
    ConsistencyLevel,
    FreezeWindow,
    RestorePoint,
    RestorePointState,
    SnapshotRecord,
    TimeWindow,
)
from .journal import JournalState


def build_restore_point(
    ctx: RunContext, request: BackupRequest, state: JournalState
) -> RestorePoint:
    volumes: list[SnapshotRecord] = []
    windows: list[FreezeWindow] = []
    for group_name, snapshot_set in state.ready_sets.items():
        thawed = state.thawed.get(group_name, [])
        group_windows = [r for r in thawed if r.frozen is not None]
        windows.extend(
            FreezeWindow(
                group=group_name,
                pod=r.pod.name if r.pod else None,
                window=r.frozen,
                plugin=r.plugin,
            )
            for r in group_windows
            if r.frozen is not None
        )
        if group_windows:
            start = min(r.frozen.start for r in group_windows if r.frozen)
            end = max(r.frozen.end for r in group_windows if r.frozen)
            windows.append(FreezeWindow(group=group_name, window=TimeWindow(start=start, end=end)))
        for rec in snapshot_set.records:
            volumes.append(_with_consistency(rec, thawed))
    inventory = state.inventory
    notes = [
        f"{u.namespace}/{u.pvc}: {u.reason}"
        for u in (inventory.unsnapshottable if inventory else [])
    ]
    complete = (
        inventory is not None
        and not inventory.unsnapshottable
        and all(v.ready_time for v in volumes)
    )
    return RestorePoint(
        name=request.run_id,
        run_id=request.run_id,
        backend=ctx.backend,
        created=utcnow(),
        state=RestorePointState.COMPLETE if complete else RestorePointState.PARTIAL,
        namespaces=list(request.namespaces),
        volumes=volumes,
        freeze_windows=windows,
        manifests=inventory.manifests if inventory else {},
        notes=notes,
    )


def _with_consistency(rec: SnapshotRecord, thawed: list) -> SnapshotRecord:  # type: ignore[type-arg]
    """``app`` only when every pod using the volume was quiesced without degradation."""
    key = rec.volume.key
    covering = [r for r in thawed if key in r.volumes]
    if not covering:
        return rec
    degraded = [r.degraded_reason for r in covering if r.degraded_reason]
    if rec.consistency is ConsistencyLevel.APP or not degraded:
        level = ConsistencyLevel.APP if not degraded else rec.consistency
    else:
        level = rec.consistency
    return rec.model_copy(
        update={
            "consistency": level,
            "quiesced_by": sorted({r.plugin for r in covering}),
            "degraded_reason": "; ".join(degraded) or None,
        }
    )
