"""Building the RestorePoint record from a journaled run."""

from __future__ import annotations

from ..context import RunContext, utcnow
from ..models import (
    BackupRequest,
    ConsistencyLevel,
    FreezeWindow,
    PodRef,
    QuiesceRecord,
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
    groups = state.inventory.groups if state.inventory else []
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
        group = next((g for g in groups if g.name == group_name), None)
        for rec in snapshot_set.records:
            volumes.append(_with_consistency(rec, thawed, group.pods if group else []))
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


def _with_consistency(
    rec: SnapshotRecord, thawed: list[QuiesceRecord], pods: list[PodRef]
) -> SnapshotRecord:
    """``app`` only when every pod mounting the volume was quiesced without degradation.

    A record without a pod (an application-level quiesce by an adapter) covers every pod.
    Otherwise the cut's own level stays (``crash``, or ``group-crash`` for a group cut) and
    ``degraded_reason`` says why it is not ``app``.
    """
    key = rec.volume.key
    covering = [r for r in thawed if key in r.volumes]
    if not covering:
        return rec
    reasons = [r.degraded_reason for r in covering if r.degraded_reason]
    whole_app = any(r.pod is None and not r.degraded_reason for r in covering)
    quiesced = {(r.pod.namespace, r.pod.name) for r in covering if r.pod is not None}
    if not whole_app:
        reasons += [
            f"pod {p.namespace}/{p.name} mounts it but was not quiesced"
            for p in pods
            if p.namespace == rec.volume.namespace
            and rec.volume.pvc in p.mounts
            and (p.namespace, p.name) not in quiesced
        ]
    return rec.model_copy(
        update={
            "consistency": rec.consistency if reasons else ConsistencyLevel.APP,
            "quiesced_by": sorted({r.plugin for r in covering}),
            "degraded_reason": "; ".join(reasons) or None,
        }
    )
