"""The backup engine: runs the phases in order through the plugin manager.

discover -> (per consistency group: quiesce -> snapshot -> thaw) -> ready -> export.

Guarantees: whenever anything was frozen, thaw runs (``finally``; also on
``KeyboardInterrupt``), the moment the cut exists. Each phase's outcome is recorded. Finished
work is journaled, so a rerun with the same run id resumes at the first unfinished phase.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import TypeVar

from ..context import RunContext, utcnow
from ..errors import PermanentError, SnapbridgeError
from ..models import (
    BackupRequest,
    BackupResult,
    ConsistencyGroup,
    Inventory,
    Phase,
    PhaseOutcome,
    PhaseStatus,
    Plan,
    PlanEntry,
    ProgressEvent,
    QuiesceRecord,
    RestorePoint,
    RestorePointState,
    SnapshotSet,
)
from .inventory import merge_inventories
from .journal import JournalState, MemoryJournal, RunJournal
from .metrics import observe_freeze
from .plugins import PluginHost
from .restore_point import build_restore_point
from .retry import RetryPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")


class BackupEngine:
    """Runs one backup (or plan) for the selected backend."""

    def __init__(
        self,
        host: PluginHost,
        ctx: RunContext,
        *,
        journal: RunJournal | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.host = host
        self.ctx = ctx
        self.journal: RunJournal = journal or MemoryJournal()
        self.retry = retry or RetryPolicy()
        ctx.emit = self._emit
        ctx.retry = self.retry.call

    # ----------------------------------------------------------------- helpers
    def _emit(self, event: ProgressEvent) -> None:
        try:
            self.host.hook.snapbridge_progress(event=event)
        except Exception:  # observers must never break a run
            log.exception("progress observer failed")

    def say(
        self, phase: Phase, message: str, *, volume: str | None = None, state: str = "info"
    ) -> None:
        self._emit(
            ProgressEvent(
                run_id=self.ctx.run_id,
                phase=phase,
                message=message,
                volume=volume,
                state=state,
                at=utcnow(),
            )
        )

    @contextmanager
    def _phase(self, state: JournalState, phase: Phase, detail: str = "") -> Iterator[None]:
        started = utcnow()
        self.say(phase, f"{phase.value} started", state="start")
        try:
            yield
        except BaseException as exc:
            state.phases.append(
                PhaseOutcome(
                    phase=phase,
                    status=PhaseStatus.FAILED,
                    started=started,
                    ended=utcnow(),
                    error=str(exc) or type(exc).__name__,
                    detail=detail,
                )
            )
            self.say(phase, f"{phase.value} failed: {exc}", state="error")
            self.journal.save(state)
            raise
        state.phases.append(
            PhaseOutcome(
                phase=phase,
                status=PhaseStatus.SUCCEEDED,
                started=started,
                ended=utcnow(),
                detail=detail,
            )
        )
        self.journal.save(state)  # durable before it is announced
        self.say(phase, f"{phase.value} done", state="done")

    def _call(self, fn: Callable[[], T], what: str) -> T:
        return self.retry.call(fn, what)

    # ----------------------------------------------------------------- phases
    def discover(self, request: BackupRequest) -> Inventory:
        results = self._call(
            lambda: self.host.hook.snapbridge_discover(ctx=self.ctx, request=request), "discover"
        )
        return merge_inventories([r for r in results if r is not None])

    def _quiesce_snapshot_thaw(self, group: ConsistencyGroup, state: JournalState) -> SnapshotSet:
        ledger_start = len(self.ctx.frozen)
        returned: list[QuiesceRecord] = []
        snapshot_set: SnapshotSet | None = None
        try:
            with self._phase(state, Phase.QUIESCE, group.name):
                for batch in self.host.hook.snapbridge_quiesce(ctx=self.ctx, group=group) or []:
                    returned.extend(batch or [])
            with self._phase(state, Phase.SNAPSHOT, group.name):
                snapshot_set = self._call(
                    lambda: self.host.hook.snapbridge_snapshot(ctx=self.ctx, group=group),
                    f"snapshot {group.name}",
                )
                if snapshot_set is None:
                    raise PermanentError(
                        f"no plugin took the snapshot of group {group.name}",
                        hint="enable the built-in csi plugin or an adapter that can snapshot",
                    )
                # journaled with the phase: a rerun resumes after the cut, never re-cuts
                state.snapshot_sets[group.name] = snapshot_set
        finally:
            records = _unique(self.ctx.frozen[ledger_start:] + returned)
            if records:
                self._thaw(group, records, state)
        return snapshot_set

    def _thaw(
        self, group: ConsistencyGroup, records: list[QuiesceRecord], state: JournalState
    ) -> None:
        started = utcnow()
        thawed: list[QuiesceRecord] = []
        error: str | None = None
        try:
            for batch in (
                self.host.hook.snapbridge_thaw(ctx=self.ctx, group=group, records=records) or []
            ):
                thawed.extend(batch or [])
        except Exception as exc:  # reported, never hides the original error
            error = f"thaw failed: {exc}"
            log.exception("thaw of group %s failed", group.name)
        final = thawed or records
        thaw_errors = [r.thaw_error for r in final if r.thaw_error]
        if thaw_errors and error is None:
            error = "thaw failed: " + "; ".join(thaw_errors)
        state.thawed[group.name] = final
        observe_freeze(final)
        state.phases.append(
            PhaseOutcome(
                phase=Phase.THAW,
                status=PhaseStatus.FAILED if error else PhaseStatus.SUCCEEDED,
                started=started,
                ended=utcnow(),
                error=error,
                detail=group.name,
            )
        )
        self.journal.save(state)

    def run(self, request: BackupRequest) -> BackupResult:
        self.ctx.request = request
        state = self.journal.load(request.run_id) or JournalState(
            run_id=request.run_id, backend=self.ctx.backend
        )
        try:
            rp = self._run(request, state)
        except SnapbridgeError as exc:
            return self._result(state, ok=False, error=str(exc))
        return self._result(state, ok=rp.state is RestorePointState.COMPLETE, rp=rp)

    def _run(self, request: BackupRequest, state: JournalState) -> RestorePoint:
        if state.inventory is None:
            with self._phase(state, Phase.DISCOVER):
                state.inventory = self.discover(request)
        else:
            self._resumed(state, Phase.DISCOVER)
        inventory = state.inventory
        if inventory.unsnapshottable:
            names = ", ".join(
                f"{u.namespace}/{u.pvc} ({u.reason})" for u in inventory.unsnapshottable
            )
            self.say(Phase.DISCOVER, f"not snapshottable: {names}", state="warning")
        for group in inventory.groups:
            if group.name in state.snapshot_sets:
                self._resumed(state, Phase.SNAPSHOT, group.name)
                continue
            state.snapshot_sets[group.name] = self._quiesce_snapshot_thaw(group, state)
            self.journal.save(state)
        for name, snapshot_set in state.snapshot_sets.items():
            if name in state.ready_sets:
                continue
            with self._phase(state, Phase.READY, name):
                ready = self._call(
                    partial(
                        self.host.hook.snapbridge_wait_ready, ctx=self.ctx, snapshots=snapshot_set
                    ),
                    f"wait ready {name}",
                )
                state.ready_sets[name] = ready or snapshot_set
        rp = build_restore_point(self.ctx, request, state)
        with self._phase(state, Phase.EXPORT):
            result = self._call(
                lambda: self.host.hook.snapbridge_export(ctx=self.ctx, restore_point=rp), "export"
            )
            rp = rp.model_copy(update={"export_location": result.location if result else None})
            rp = rp.model_copy(update={"phases": list(state.phases)})
            self.journal.save_restore_point(rp)
            state.exported = True
        return rp

    def plan(self, request: BackupRequest) -> Plan:
        """Discover and ask every plugin what it would do; reads only."""
        self.ctx.dry_run = True
        self.ctx.request = request
        inventory = self.discover(request)
        notes = [
            n
            for batch in self.host.hook.snapbridge_plan(
                ctx=self.ctx, request=request, inventory=inventory
            )
            or []
            for n in batch or []
        ]
        group_of = {v.key: g for g in inventory.groups for v in g.volumes}
        hooks_of: dict[str, list[str]] = {}
        for n in notes:
            if n.pvc and n.hooks:
                hooks_of.setdefault(n.pvc, []).extend(n.hooks)
        target = getattr(self.ctx.backend_settings, "export_target", None) or self.ctx.backend
        entries = [
            PlanEntry(
                namespace=v.namespace,
                pvc=v.pvc,
                snapshot_class=v.snapshot_class,
                class_source=v.snapshot_class_source,
                group=group_of[v.key].name,
                group_snapshot_class=group_of[v.key].group_snapshot_class,
                hooks=hooks_of.get(v.key, []),
                export_target=str(target),
            )
            for v in inventory.volumes
        ] + [
            PlanEntry(namespace=u.namespace, pvc=u.pvc, problem=f"{u.reason} ({u.hint})")
            for u in inventory.unsnapshottable
        ]
        return Plan(
            run_id=request.run_id,
            backend=self.ctx.backend,
            entries=entries,
            notes=[n for n in notes if not n.hooks],
        )

    def _resumed(self, state: JournalState, phase: Phase, detail: str = "") -> None:
        now = utcnow()
        state.phases.append(
            PhaseOutcome(
                phase=phase, status=PhaseStatus.RESUMED, started=now, ended=now, detail=detail
            )
        )
        self.say(
            phase,
            f"{phase.value} already done in an earlier attempt ({detail or 'all'})",
            state="done",
        )

    def _result(
        self,
        state: JournalState,
        *,
        ok: bool,
        error: str | None = None,
        rp: RestorePoint | None = None,
    ) -> BackupResult:
        inv = state.inventory
        return BackupResult(
            run_id=state.run_id,
            ok=ok,
            phases=list(state.phases),
            restore_point=rp.name if rp else None,
            error=error,
            snapshots=rp.volumes if rp else [],
            unsnapshottable=inv.unsnapshottable if inv else [],
        )


def _unique(records: Sequence[QuiesceRecord]) -> list[QuiesceRecord]:
    seen: set[str] = set()
    out: list[QuiesceRecord] = []
    for r in records:
        key = r.model_dump_json()
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
