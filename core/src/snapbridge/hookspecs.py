"""The snapbridge contract: every hook a plugin may implement.

This is the one file an adapter author must read. A backup runs as phases::

    discover -> quiesce -> snapshot (returns at the cut) -> thaw -> ready -> export
    restore (separately)

Plugins are modules or objects with functions named like the hooks below, marked with
:data:`snapbridge.hookimpl`. External plugins register through the entry-point group
``snapbridge``::

    [project.entry-points.snapbridge]
    kasten = "snapbridge_kasten.plugin"

Only the built-in plugins and the *selected* backend's adapter take part in a run; other
installed adapters stay inert. Every hook receives a :class:`~snapbridge.context.RunContext`
(``ctx``) that carries the cluster facade, the backend's typed settings and the progress
emitter. Implementations may accept fewer arguments than the spec (pluggy's opt-in arguments),
so adding an argument here never breaks an adapter.

Errors: raise :class:`~snapbridge.errors.RetryableError` for transient conditions (the engine
retries, honouring ``retry_after``) and :class:`~snapbridge.errors.PermanentError` otherwise.
Never retry inside a hook.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .adapter import AdapterSpec
    from .context import RunContext
    from .models import (
        BackupRequest,
        ConsistencyGroup,
        ExportResult,
        Inventory,
        PlanNote,
        ProgressEvent,
        QuiesceRecord,
        RestorePoint,
        RestoreRequest,
        RestoreResult,
        SnapshotSet,
    )

PROJECT = "snapbridge"
_hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl"]


# --------------------------------------------------------------------------- registration


@_hookspec
def snapbridge_adapters() -> Sequence[AdapterSpec]:
    """Register backend adapters.

    Broadcast: every plugin is asked; the manager flattens the answers, validates each spec
    and rejects two adapters of one name, naming both distributions.

    Args: none.

    Returns:
        The :class:`~snapbridge.adapter.AdapterSpec` records this plugin provides (name,
        version, capabilities, typed config model). Plugins that provide no backend return
        nothing (or do not implement the hook).

    Example::

        @hookimpl
        def snapbridge_adapters():
            return [AdapterSpec(name="kasten", version=__version__,
                                capabilities=frozenset({Capability.EXPORT, Capability.RESTORE}),
                                config_model=KastenConfig)]
    """
    raise NotImplementedError


# --------------------------------------------------------------------------- plan


@_hookspec
def snapbridge_plan(
    ctx: RunContext, request: BackupRequest, inventory: Inventory
) -> Sequence[PlanNote] | None:
    """Say what this plugin would do for a backup, without side effects.

    Broadcast: every plugin comments on the discovered inventory (hooks it would run, vendor
    objects it would create, problems it sees). Must only read from the cluster.

    Args:
        ctx: the run context (``ctx.dry_run`` is ``True``).
        request: the backup request being planned.
        inventory: the result of discovery.

    Returns:
        :class:`~snapbridge.models.PlanNote` items; a ``blocking`` note makes ``plan`` fail.

    Example::

        @hookimpl
        def snapbridge_plan(ctx, request, inventory):
            if not ctx.cluster.get(TARGET_KIND, ctx.backend_settings.target, "trilio"):
                return [PlanNote(plugin="trilio", message="Target missing", blocking=True)]
            return []
    """
    raise NotImplementedError


# --------------------------------------------------------------------------- phases


@_hookspec
def snapbridge_discover(ctx: RunContext, request: BackupRequest) -> Inventory | None:
    """Find the volumes a backup covers, group them, and say which cannot be snapshotted.

    Broadcast: the engine merges the inventories every plugin returns (volumes by PVC key,
    groups by name, unsnapshottable reasons appended). The built-in ``csi`` plugin resolves
    PVC -> PV -> StorageClass -> CSI driver -> VolumeSnapshotClass.

    Args:
        ctx: the run context.
        request: namespaces, label selector and PVC names to select.

    Returns:
        An :class:`~snapbridge.models.Inventory`, or ``None`` when this plugin has nothing
        to add.

    Example::

        @hookimpl
        def snapbridge_discover(ctx, request):
            pvcs = ctx.cluster.list(PERSISTENT_VOLUME_CLAIM, request.namespaces[0])
            return Inventory(volumes=[...], groups=[...])
    """
    raise NotImplementedError


@_hookspec
def snapbridge_quiesce(ctx: RunContext, group: ConsistencyGroup) -> Sequence[QuiesceRecord] | None:
    """Stop application I/O for a consistency group, just before its cut.

    Broadcast: every plugin quiesces what it owns (exec hooks on pods, a vendor's own hook
    objects). Each returned record is handed back to the same plugin's
    :func:`snapbridge_thaw` — the engine guarantees that call (``finally``, also on
    ``KeyboardInterrupt``) for every record returned, and thaws a plugin's records even when
    another plugin's quiesce failed.

    Args:
        ctx: the run context.
        group: the volumes and the pods that use them.

    Returns:
        One :class:`~snapbridge.models.QuiesceRecord` per thing frozen (``frozen`` window
        start set; ``degraded_reason`` when a hook failed with on-error Continue).

    Example::

        @hookimpl
        def snapbridge_quiesce(ctx, group):
            argv = ["fsfreeze", "--freeze", "/data"]
            out = ctx.cluster.exec(pod.namespace, pod.name, "db", argv, timeout=30)
            return [QuiesceRecord(plugin="exec", group=group.name, pod=pod, state={...})]
    """
    raise NotImplementedError


@_hookspec
def snapbridge_thaw(
    ctx: RunContext, group: ConsistencyGroup, records: Sequence[QuiesceRecord]
) -> Sequence[QuiesceRecord] | None:
    """Resume application I/O: the counterpart of :func:`snapbridge_quiesce`.

    Broadcast: every plugin thaws the records whose ``plugin`` is its own name and ignores
    the rest. Called the moment the cut exists (never waits for readiness), and on every
    failure path. Should not raise; a failure is logged and reported as a phase error.

    Args:
        ctx: the run context.
        group: the group being thawed.
        records: every record the quiesce phase returned for this group.

    Returns:
        The records it thawed, with ``frozen.end`` set (the engine measures freeze windows
        from these).

    Example::

        @hookimpl
        def snapbridge_thaw(ctx, group, records):
            mine = [r for r in records if r.plugin == "exec"]
            return [unfreeze(ctx, r) for r in mine]
    """
    raise NotImplementedError


@_hookspec(firstresult=True)
def snapbridge_snapshot(ctx: RunContext, group: ConsistencyGroup) -> SnapshotSet | None:
    """Cut the snapshots of one consistency group; return at the cut, not at readiness.

    firstresult: exactly one plugin takes the cut. The selected backend's adapter may answer
    first (``tryfirst``); otherwise the built-in ``csi`` plugin creates VolumeSnapshots (or a
    VolumeGroupSnapshot). Must be idempotent: names derive from (run id, PVC uid), so a
    rerun finds what an earlier attempt created.

    Args:
        ctx: the run context.
        group: the volumes to cut together.

    Returns:
        A :class:`~snapbridge.models.SnapshotSet` whose records carry ``snapshot_handle`` and
        ``cut_time``; ``None`` to let the next plugin answer.

    Example::

        @hookimpl(tryfirst=True)
        def snapbridge_snapshot(ctx, group):
            return SnapshotSet(group=group.name, records=[...], cut_at=...)
    """
    raise NotImplementedError


@_hookspec(firstresult=True)
def snapbridge_wait_ready(ctx: RunContext, snapshots: SnapshotSet) -> SnapshotSet | None:
    """Wait until every snapshot of a set is ready to use (after thaw).

    firstresult: the plugin that took the cut answers (check ``snapshots.created_by``).

    Args:
        ctx: the run context.
        snapshots: the set returned by :func:`snapbridge_snapshot`.

    Returns:
        The set with ``ready_time`` and ``restore_size`` filled in; ``None`` if not yours.

    Example::

        @hookimpl
        def snapbridge_wait_ready(ctx, snapshots):
            if snapshots.created_by != "csi":
                return None
            return wait_all_ready(ctx, snapshots)
    """
    raise NotImplementedError


@_hookspec(firstresult=True)
def snapbridge_export(ctx: RunContext, restore_point: RestorePoint) -> ExportResult | None:
    """Export a finished backup: the selected backend's job.

    firstresult: the selected adapter answers (vendors copy data to their repository; the
    built-in ``csi`` backend writes the RestorePoint and PVC manifests to its target).

    Args:
        ctx: the run context (``ctx.backend_settings`` holds the target).
        restore_point: what the backup produced.

    Returns:
        An :class:`~snapbridge.models.ExportResult` naming the location; ``None`` if this
        plugin does not export for the selected backend.

    Example::

        @hookimpl
        def snapbridge_export(ctx, restore_point):
            if ctx.backend != "csi":
                return None
            return ExportResult(location=write(restore_point), exported_by="csi")
    """
    raise NotImplementedError


@_hookspec(firstresult=True)
def snapbridge_restore(
    ctx: RunContext, request: RestoreRequest, restore_point: RestorePoint
) -> RestoreResult | None:
    """Restore a RestorePoint's volumes as new PVCs.

    firstresult: the selected backend's adapter may answer first; otherwise the built-in
    ``csi`` plugin re-imports the retained snapshots and creates PVCs from them.

    Args:
        ctx: the run context.
        request: target namespace or map, StorageClass override, mode (snapshot or clone).
        restore_point: the record to restore from.

    Returns:
        A :class:`~snapbridge.models.RestoreResult`; ``None`` to let the next plugin answer.

    Example::

        @hookimpl
        def snapbridge_restore(ctx, request, restore_point):
            return RestoreResult(restore_point=restore_point.name, volumes=[...])
    """
    raise NotImplementedError


# --------------------------------------------------------------------------- observers


@_hookspec
def snapbridge_progress(event: ProgressEvent) -> None:
    """Observe progress of a run (rendering, logs, metrics).

    Broadcast, fire-and-forget: must be quick and must not raise (errors are logged and
    ignored).

    Args:
        event: what happened, in which phase, for which volume.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def snapbridge_progress(event):
            print(f"{event.phase}: {event.message}")
    """
    raise NotImplementedError
