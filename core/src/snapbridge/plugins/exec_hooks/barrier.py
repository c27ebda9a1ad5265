"""The group barrier: freeze every pod of a consistency group, later thaw each exactly once.

Freeze: the lease is written first, then pods freeze wave by wave (ascending
``quiesce-order``; one wave's pods in parallel). Every pod's record enters ``ctx.frozen``
*before* its pre hook runs, so a hook that fails or hangs half-way is still thawed. A pre hook
that fails with on-error ``Fail`` stops further waves and fails the quiesce phase; with
``Continue`` the pod's record carries ``degraded_reason``.

Thaw (the engine's call right after the cut, or the watchdog at the lease deadline, whichever
comes first; each pod is thawed once): waves in reverse order, in a non-daemon thread the
caller joins, so a second Ctrl-C/SIGTERM cannot cut a thaw short. The lease is deleted when
every pod thawed cleanly; otherwise it stays for ``snapbridge quiesce reconcile``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from ...context import RunContext, utcnow
from ...errors import ClusterAPIError, PermanentError
from ...models import ConsistencyGroup, Phase, ProgressEvent, QuiesceRecord, TimeWindow
from .config import ExecHook, OnError
from .lease import LeaseStore, lease_name, plan_lease
from .reconcile import reconcile_lease
from .runner import run_hook, run_parallel, waves
from .spec import PodHooks

log = logging.getLogger(__name__)
PLUGIN = "exec_hooks"


class QuiesceHookError(PermanentError):
    """A pre hook with on-error Fail failed or timed out; what it froze has been thawed."""


@dataclass(eq=False)
class Hold:
    """One pod of the barrier: its hooks, its record, and whether it was frozen/thawed."""

    hooks: PodHooks
    volumes: list[str]
    record: QuiesceRecord
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempted: bool = False
    thawed: bool = False


class Barrier:
    def __init__(
        self, ctx: RunContext, group: ConsistencyGroup, plans: list[PodHooks], parallelism: int
    ) -> None:
        self.ctx = ctx
        self.group = group
        self.parallelism = parallelism
        self.closed = threading.Event()
        self._ledger_lock = threading.Lock()
        self._thaw_lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._events: list[tuple[str, str, Hold, Phase]] = []  # emitted by the caller's thread
        self.store = LeaseStore(ctx.cluster, ctx.system_namespace)
        now = utcnow()
        keys = {v.key for v in group.volumes}
        name = lease_name(ctx.run_id, group.name)
        self.holds = [self._hold(p, keys, name, now) for p in plans]
        self.lease = plan_lease(name, ctx.run_id, group.name, plans, now)

    def _hold(self, plan: PodHooks, keys: set[str], lease: str, now: datetime) -> Hold:
        pod = plan.pod
        volumes = sorted(k for pvc in pod.mounts if (k := f"{pod.namespace}/{pvc}") in keys)
        record = QuiesceRecord(
            plugin=PLUGIN,
            group=self.group.name,
            pod=pod,
            container=(plan.pre or plan.post)[0].container,
            volumes=volumes,
            frozen=TimeWindow(start=now, end=now),
            degraded_reason=None if plan.pre else "no pre hook: the pod was not quiesced",
            state={
                "lease": lease,
                "source": plan.source,
                "order": plan.order,
                "maxHold": plan.max_hold,
                "post": [h.to_wire() for h in plan.post],
            },
        )
        return Hold(hooks=plan, volumes=volumes, record=record)

    @classmethod
    def adopt(
        cls,
        ctx: RunContext,
        group: ConsistencyGroup,
        records: list[QuiesceRecord],
        parallelism: int,
    ) -> Barrier:
        """A barrier for records this process holds no state for: thaws from the records."""
        records = [r for r in records if r.pod is not None]
        plans = [
            PodHooks(
                pod=r.pod,
                source=str(r.state.get("source", "")),
                post=[ExecHook.model_validate(h) for h in r.state.get("post", [])],
                order=int(r.state.get("order", 0)),
                max_hold=float(r.state.get("maxHold", 60.0)),
            )
            for r in records
            if r.pod is not None
        ]
        barrier = cls(ctx, group, plans, parallelism)
        if records:
            name = str(records[0].state.get("lease", barrier.lease.name))
            barrier.lease = barrier.lease.model_copy(update={"name": name})
        for hold, record in zip(barrier.holds, records, strict=True):
            hold.record, hold.attempted = record, True
        return barrier

    # ------------------------------------------------------------------ freeze
    def freeze(self) -> list[QuiesceRecord]:
        """Acquire the lease, start the watchdog, freeze wave by wave. Raises on Fail."""
        try:
            self.store.acquire(self.lease)
        except ClusterAPIError as exc:
            stale = self.store.get(self.lease.name) if exc.status == 409 else None
            if stale is None:
                raise
            # an earlier attempt of this very run died while frozen: thaw that first
            outcome = reconcile_lease(self.store, stale, force=True)
            log.warning("lease %s of an earlier attempt: %s", stale.name, outcome.reason)
            self.store.acquire(self.lease)
        delay = (self.lease.deadline - utcnow()).total_seconds()
        self._timer = threading.Timer(max(0.0, delay), self._watchdog)
        self._timer.daemon = True
        self._timer.start()
        for wave in waves(self.holds, lambda h: h.hooks.order):
            with self._ledger_lock:
                self.ctx.frozen.extend(h.record for h in wave)  # before any hook runs
            fatal = [e for e in run_parallel(self._freeze_one, wave, self.parallelism) if e]
            self._flush()
            if fatal:
                raise QuiesceHookError(
                    f"quiesce of group {self.group.name} failed: {'; '.join(fatal)}",
                    hint="fix the hook, raise its timeout, or set its on-error to Continue "
                    "to take a crash-consistent snapshot instead",
                )
        return [h.record for h in self.holds if h.attempted]

    def _replace(self, hold: Hold, record: QuiesceRecord) -> None:
        with self._ledger_lock:
            for i, r in enumerate(self.ctx.frozen):
                if r is hold.record:
                    self.ctx.frozen[i] = record
            hold.record = record

    def _freeze_one(self, hold: Hold) -> str | None:
        """Run the pod's pre hooks; the fatal error (on-error Fail), if any."""
        with hold.lock:
            if self.closed.is_set():
                return None
            hold.attempted = True
            start = utcnow()
            problems: list[str] = []
            fatal: str | None = None
            pod = hold.hooks.pod
            for hook in hold.hooks.pre:
                error = run_hook(
                    self.ctx.cluster, pod.namespace, pod.name, pod.containers, hook, "pre"
                )
                if error is None:
                    continue
                problems.append(error)
                if hook.on_error is OnError.FAIL:
                    fatal = error
                    break
            reason = "; ".join(problems) or hold.record.degraded_reason
            self._replace(
                hold,
                hold.record.model_copy(
                    update={"frozen": TimeWindow(start=start, end=start), "degraded_reason": reason}
                ),
            )
        for problem in problems:
            self._note(problem, "error" if fatal else "warning", hold, Phase.QUIESCE)
        return fatal

    # ------------------------------------------------------------------ thaw
    def thaw(self) -> list[QuiesceRecord]:
        """Thaw every frozen pod (once); returns their records with the freeze window closed."""
        self.closed.set()
        if self._timer is not None:
            self._timer.cancel()
        worker = threading.Thread(target=self._thaw_all, args=("engine",), name="snapbridge-thaw")
        worker.start()
        worker.join()
        self._flush()
        return [h.record for h in self.holds if h.attempted and h.thawed]

    def _watchdog(self) -> None:
        log.warning("group %s held past its deadline; the watchdog thaws it", self.group.name)
        self.closed.set()
        self._thaw_all("watchdog")

    def _thaw_all(self, by: str) -> None:
        with self._thaw_lock:
            pending = [h for h in self.holds if not h.thawed]
            for wave in waves(pending, lambda h: h.hooks.order, reverse=True):
                run_parallel(lambda h: self._thaw_one(h, by), wave, self.parallelism)
            failed = [h for h in self.holds if h.attempted and h.record.thaw_error]
            try:
                if not failed:
                    self.store.release(self.lease.name)
                else:
                    errors = "; ".join(str(h.record.thaw_error) for h in failed)
                    self.store.update(self.lease.model_copy(update={"last_error": errors}))
            except Exception:  # the lease outlives us; reconcile will find it
                log.exception("cannot finish quiesce lease %s", self.lease.name)

    def _thaw_one(self, hold: Hold, by: str) -> None:
        with hold.lock:
            if hold.thawed:
                return
            hold.thawed = True
            if not hold.attempted:
                return
            begin = utcnow()
            pod = hold.hooks.pod
            errors: list[str] = []
            warnings: list[str] = []
            for hook in hold.hooks.post:
                error = run_hook(
                    self.ctx.cluster, pod.namespace, pod.name, pod.containers, hook, "post"
                )
                if error is not None:
                    (errors if hook.on_error is OnError.FAIL else warnings).append(error)
            end = utcnow()
            start = hold.record.frozen.start if hold.record.frozen else begin
            reasons = [hold.record.degraded_reason] if hold.record.degraded_reason else []
            held = (begin - start).total_seconds()
            if by == "watchdog" or held > hold.hooks.max_hold:
                reasons.append(
                    f"held {held:.1f}s, beyond its max hold of {hold.hooks.max_hold:g}s "
                    f"(thawed by the {by}); the cut may have come after the thaw"
                )
            state = dict(hold.record.state, thawedBy=by, thawWarnings=warnings)
            self._replace(
                hold,
                hold.record.model_copy(
                    update={
                        "frozen": TimeWindow(start=start, end=end),
                        "degraded_reason": "; ".join(reasons) or None,
                        "thaw_error": "; ".join(errors) or None,
                        "state": state,
                    }
                ),
            )
        for problem in errors + warnings:
            self._note(problem, "error" if problem in errors else "warning", hold, Phase.THAW)

    def _note(self, message: str, state: str, hold: Hold, phase: Phase) -> None:
        log.warning("%s", message)
        with self._ledger_lock:
            self._events.append((message, state, hold, phase))

    def _flush(self) -> None:
        """Emit the noted problems from the calling thread (observers need not be thread-safe)."""
        with self._ledger_lock:
            events, self._events = self._events, []
        for message, state, hold, phase in events:
            try:
                self.ctx.emit(
                    ProgressEvent(
                        run_id=self.ctx.run_id,
                        phase=phase,
                        message=message,
                        volume=", ".join(hold.volumes) or None,
                        state=state,
                        at=utcnow(),
                    )
                )
            except Exception:  # observers never break a freeze or a thaw
                log.exception("progress observer failed")
