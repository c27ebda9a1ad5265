"""Built-in ``csi`` plugin: vendor-neutral CSI VolumeSnapshots and VolumeGroupSnapshots.

It registers the ``csi`` backend and implements discover, snapshot, wait_ready, restore and
(for the ``csi`` backend) export.
"""

from __future__ import annotations

from collections.abc import Sequence

from ... import __version__
from ...adapter import AdapterSpec
from ...context import RunContext
from ...errors import PermanentError
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


def _request(ctx: RunContext) -> BackupRequest:
    """The run's request (concurrency, deadlines), also when discovery was resumed."""
    if ctx.request is None:
        raise PermanentError(
            "the csi plugin was called outside a backup run", hint="run it through BackupEngine"
        )
    return ctx.request


@hookimpl
def snapbridge_discover(ctx: RunContext, request: BackupRequest) -> Inventory:
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
    request = _request(ctx)
    if group.group_snapshot_class:
        return _snapshot.snapshot_group(ctx, group, request.cut_deadline_seconds)
    return _snapshot.snapshot_single(ctx, group, request.concurrency, request.cut_deadline_seconds)


@hookimpl
def snapbridge_wait_ready(ctx: RunContext, snapshots: SnapshotSet) -> SnapshotSet | None:
    if snapshots.created_by != "csi":
        return None
    return _ready.wait_ready(ctx, snapshots, _request(ctx).snapshot_deadline_seconds)


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
