"""Built-in ``csi`` plugin: vendor-neutral CSI VolumeSnapshots and VolumeGroupSnapshots.

It registers the ``csi`` backend and implements discover, snapshot, wait_ready, restore and
(for the ``csi`` backend) export.
"""

from __future__ import annotations

from collections.abc import Sequence

from ... import __version__
from ...adapter import AdapterSpec
from ...context import RunContext
from ...hookspecs import hookimpl
from ...models import (
    BackupRequest,
    Capability,
    ConsistencyGroup,
    ExportResult,
    Inventory,
    PlanNote,
    RestorePoint,
    RestoreRequest,
    RestoreResult,
    SnapshotSet,
)
from . import discover as _discover
from . import export as _export
from . import ready as _ready
from . import restore as _restore
from . import snapshot as _snapshot
from .config import CsiBackendConfig

__all__ = ["CsiBackendConfig"]


@hookimpl
def snapbridge_adapters() -> Sequence[AdapterSpec]:
    return [
        AdapterSpec(
            name="csi",
            version=__version__,
            capabilities=frozenset(
                {
                    Capability.DISCOVER,
                    Capability.SNAPSHOT,
                    Capability.GROUP_SNAPSHOT,
                    Capability.EXPORT,
                    Capability.RESTORE,
                    Capability.CLONE,
                }
            ),
            config_model=CsiBackendConfig,
            description="Kubernetes CSI snapshots, records exported to a directory",
        )
    ]


def _settings(ctx: RunContext) -> dict[str, float | int]:
    return dict(ctx.extras.get("snapshot", {}))


@hookimpl
def snapbridge_discover(ctx: RunContext, request: BackupRequest) -> Inventory:
    ctx.extras.setdefault(
        "snapshot",
        {
            "concurrency": request.concurrency,
            "cut_deadline": request.cut_deadline_seconds,
            "deadline": request.snapshot_deadline_seconds,
        },
    )
    return _discover.discover(ctx, request)


@hookimpl
def snapbridge_plan(
    ctx: RunContext, request: BackupRequest, inventory: Inventory
) -> Sequence[PlanNote]:
    return [
        PlanNote(
            plugin="csi",
            message=f"{u.reason}; {u.hint}",
            blocking=True,
            pvc=f"{u.namespace}/{u.pvc}",
        )
        for u in inventory.unsnapshottable
    ]


@hookimpl
def snapbridge_snapshot(ctx: RunContext, group: ConsistencyGroup) -> SnapshotSet:
    s = _settings(ctx)
    cut_deadline = float(s.get("cut_deadline", 120))
    if group.group_snapshot_class:
        return _snapshot.snapshot_group(ctx, group, cut_deadline)
    return _snapshot.snapshot_single(ctx, group, int(s.get("concurrency", 16)), cut_deadline)


@hookimpl
def snapbridge_wait_ready(ctx: RunContext, snapshots: SnapshotSet) -> SnapshotSet | None:
    if snapshots.created_by != "csi":
        return None
    return _ready.wait_ready(ctx, snapshots, float(_settings(ctx).get("deadline", 600)))


@hookimpl
def snapbridge_export(ctx: RunContext, restore_point: RestorePoint) -> ExportResult | None:
    if ctx.backend != "csi":
        return None
    settings = ctx.backend_settings
    target = getattr(settings, "export_target", None) or CsiBackendConfig().export_target
    return _export.export_to_directory(restore_point, target)


@hookimpl
def snapbridge_restore(
    ctx: RunContext, request: RestoreRequest, restore_point: RestorePoint
) -> RestoreResult:
    return _restore.restore(ctx, request, restore_point)
