"""Built-in ``exec_hooks`` plugin: quiesce and thaw pods with commands run through ``pods/exec``.

Declaring hooks (per pod, first source wins, see :mod:`.spec`):

* snapbridge annotations: ``snapbridge.io/pre-hook-container``,
  ``snapbridge.io/pre-hook-command`` (a JSON argv array), ``snapbridge.io/pre-hook-timeout``
  (``30s``), ``snapbridge.io/pre-hook-on-error`` (``Fail``/``Continue``), the same four with
  ``post-hook-``, and the shorthand
  ``snapbridge.io/fsfreeze: "/data,/wal"`` (self-thawing ``fsfreeze`` of each path, then
  ``fsfreeze --unfreeze``). ``snapbridge.io/quiesce-order`` (integer; lower freezes first,
  thaws last; equal orders freeze in parallel) and ``snapbridge.io/quiesce-max-hold``
  (duration) apply to every source.
* Velero's ``pre.hook.backup.velero.io/{container,command,on-error,timeout}`` and
  ``post.hook.backup.velero.io/{...}``, read as Velero reads them.
* ``quiesce.hooks`` rules of the config (:class:`.config.HookRule`), by namespace and label
  selector. The engine's caller passes the ``quiesce`` section as ``ctx.extras["quiesce"]``.

Commands are argv arrays handed to ``pods/exec`` unchanged: snapbridge never adds a shell.

Never leaving an application frozen:

* A :mod:`.lease` (ConfigMap in ``ctx.system_namespace``) is written *before* the first
  freeze: pods, their thaw argv, a deadline. Thaw deletes it.
* The engine thaws in ``finally`` right after the cut; the barrier's watchdog thaws at the
  deadline if the engine is alive but stuck; ``reconcile`` (at the start of every backup, in
  this plugin's ``snapbridge_discover``, and ``snapbridge quiesce reconcile``) thaws and
  removes leases whose deadline passed or whose process died.
* If the engine is killed outright, only the pod can keep the promise: use a freeze form that
  carries its own timer. ``fsfreeze``: the shorthand above (or :func:`.spec.auto_thaw_argv`)
  leaves a background ``sleep N; fsfreeze --unfreeze`` in the container. Databases: take the
  lock in a session with a server-side timeout that ends with the session, e.g. a MySQL
  ``FLUSH TABLES WITH READ LOCK`` client started with ``timeout $(SNAPBRIDGE_MAX_HOLD_SECONDS)``,
  or PostgreSQL ``SET idle_in_transaction_session_timeout``. ``$(SNAPBRIDGE_MAX_HOLD_SECONDS)`` in
  an argument is replaced by the pod's max hold, so the pod's timer matches the lease.

Vendor quiesce forms plug in beside this plugin, through their adapter's own
``snapbridge_quiesce``/``snapbridge_thaw`` (records carry ``plugin=<adapter>``; the engine
hands each plugin its own records). A Kasten adapter runs a Blueprint's ``backupPrehook`` as
its quiesce (creating the ActionSet, returning one record per action with the ActionSet name
in ``state``) and ``backupPosthook`` as its thaw; a Trilio adapter creates or triggers the
``Hook`` CR's ``pre``/``post`` in the same way. They should append each record to
``ctx.frozen`` as soon as the vendor has frozen, set ``frozen``/``degraded_reason`` like this
plugin does, and, to survive a crash, record their own thaw intent (a lease of their own, or
their vendor object's own timeout).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ...context import RunContext
from ...errors import SnapbridgeError
from ...hookspecs import hookimpl
from ...models import (
    BackupRequest,
    ConsistencyGroup,
    Inventory,
    PlanNote,
    QuiesceRecord,
)
from .barrier import PLUGIN, Barrier
from .config import ExecHook, HookRule, OnError, QuiesceSettings
from .lease import LeaseStore
from .reconcile import LeaseOutcome, reconcile_leases
from .spec import ANNOTATIONS, AUTO_THAW_SCRIPT, HookSpecError, PodHooks, auto_thaw_argv, resolve

__all__ = [
    "ANNOTATIONS",
    "PLUGIN",
    "SETTINGS_KEY",
    "ExecHook",
    "HookRule",
    "HookSpecError",
    "LeaseOutcome",
    "OnError",
    "QuiesceSettings",
    "auto_thaw_argv",
    "reconcile_leases",
]

log = logging.getLogger(__name__)

#: ``ctx.extras`` key of the :class:`QuiesceSettings` (a model or its dict form).
SETTINGS_KEY = "quiesce"
_BARRIERS = "exec_hooks.barriers"
_RECONCILED = "exec_hooks.reconciled"


def settings_of(ctx: RunContext) -> QuiesceSettings:
    raw: Any = ctx.extras.get(SETTINGS_KEY)
    if raw is None:
        return QuiesceSettings()
    if isinstance(raw, QuiesceSettings):
        return raw
    if hasattr(raw, "model_dump"):
        raw = raw.model_dump(by_alias=True)
    return QuiesceSettings.model_validate(raw)


def reconcile_once(ctx: RunContext) -> list[LeaseOutcome]:
    """Reconcile leases once per run (never in a dry run); problems are logged, not raised."""
    if ctx.dry_run or ctx.extras.get(_RECONCILED):
        return []
    ctx.extras[_RECONCILED] = True
    try:
        outcomes = reconcile_leases(ctx.cluster, ctx.system_namespace)
    except SnapbridgeError as exc:
        log.warning("quiesce lease reconcile failed: %s", exc)
        return []
    for o in outcomes:
        if o.action != "kept" or o.problems:
            log.warning("quiesce lease %s: %s %s", o.lease, o.reason, "; ".join(o.problems))
    return outcomes


@hookimpl
def snapbridge_discover(ctx: RunContext, request: BackupRequest) -> None:
    """Discovery adds nothing; it is where a backup starts, so stale leases are thawed here."""
    reconcile_once(ctx)


@hookimpl
def snapbridge_plan(
    ctx: RunContext, request: BackupRequest, inventory: Inventory
) -> Sequence[PlanNote]:
    settings = settings_of(ctx)
    notes: list[PlanNote] = []
    for group in inventory.groups:
        keys = {v.key for v in group.volumes}
        for pod in group.pods:
            try:
                hooks = resolve(pod, settings)
            except HookSpecError as exc:
                notes.append(PlanNote(plugin=PLUGIN, message=exc.message, blocking=True))
                continue
            mounted = sorted(k for p in pod.mounts if (k := f"{pod.namespace}/{p}") in keys)
            text = f"{pod.name}: no hooks (crash)" if hooks is None else _describe(hooks)
            notes.extend(
                PlanNote(plugin=PLUGIN, message=text, pvc=k, hooks=[text]) for k in mounted
            )
            if hooks is not None:
                notes.extend(_container_problems(hooks))
    try:
        leases, _ = LeaseStore(ctx.cluster, ctx.system_namespace).list()
    except SnapbridgeError:
        leases = []
    if leases:
        names = ", ".join(lease.name for lease in leases)
        notes.append(
            PlanNote(
                plugin=PLUGIN,
                message=f"quiesce leases present ({names}); stale ones are thawed at the start "
                "of the backup (or run `snapbridge quiesce reconcile`)",
            )
        )
    return notes


def _argv(hook: ExecHook) -> str:
    argv = hook.command
    if len(argv) == 6 and argv[2] == AUTO_THAW_SCRIPT:
        return f"fsfreeze --freeze {argv[4]} (thaws itself after {argv[5]}s)"
    return " ".join(argv)


def _describe(hooks: PodHooks) -> str:
    pre = " then ".join(_argv(h) for h in hooks.pre) or "nothing"
    post = " then ".join(_argv(h) for h in hooks.post) or "nothing"
    return (
        f"{hooks.pod.name}: freeze {pre}; thaw {post} ({hooks.source}, order {hooks.order}, "
        f"max hold {hooks.max_hold:g}s)"
    )


def _container_problems(hooks: PodHooks) -> list[PlanNote]:
    known = hooks.pod.containers
    return [
        PlanNote(
            plugin=PLUGIN,
            message=f"pod {hooks.key}: hook container {h.container!r} does not exist "
            f"(containers: {', '.join(known)})",
            blocking=h.on_error is OnError.FAIL,
        )
        for h in (*hooks.pre, *hooks.post)
        if known and h.container and h.container not in known
    ]


@hookimpl
def snapbridge_quiesce(ctx: RunContext, group: ConsistencyGroup) -> Sequence[QuiesceRecord]:
    if ctx.dry_run:
        return []
    reconcile_once(ctx)
    settings = settings_of(ctx)
    plans = [p for pod in group.pods if (p := resolve(pod, settings)) is not None]
    if not plans:
        return []
    barrier = Barrier(ctx, group, plans, settings.parallelism)
    ctx.extras.setdefault(_BARRIERS, {})[barrier.lease.name] = barrier
    return barrier.freeze()


@hookimpl
def snapbridge_thaw(
    ctx: RunContext, group: ConsistencyGroup, records: Sequence[QuiesceRecord]
) -> Sequence[QuiesceRecord]:
    mine = [r for r in records if r.plugin == PLUGIN]
    barriers: dict[str, Barrier] = ctx.extras.get(_BARRIERS, {})
    out: list[QuiesceRecord] = []
    for lease in dict.fromkeys(str(r.state.get("lease")) for r in mine):
        barrier = barriers.pop(lease, None)
        if barrier is None:
            own = [r for r in mine if r.state.get("lease") == lease]
            barrier = Barrier.adopt(ctx, group, own, settings_of(ctx).parallelism)
        out.extend(barrier.thaw())
    return out
