"""Thaw and remove what dead runs froze: the logic of ``snapbridge quiesce reconcile``.

A lease is *stale* when its deadline has passed, or when its holder process is known to be
dead (same host, pid gone or reused). A stale lease's thaw commands run for every pod that is
still the pod that was frozen (same uid); then the lease is deleted. When a thaw command fails
before the deadline the lease is kept for the next reconcile; after the deadline it is
removed anyway and the failure reported (a self-thawing freeze has released by then, and
``fsfreeze --unfreeze`` of a thawed filesystem fails). Leases of live runs are left alone.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import Field

from ...cluster import POD, Cluster
from ...context import utcnow
from ...models import Model
from .lease import LeaseEntry, LeaseStore, QuiesceLease
from .runner import run_hook, run_parallel, waves

log = logging.getLogger(__name__)


class LeaseOutcome(Model):
    """What reconcile did with one lease."""

    lease: str
    run_id: str = ""
    group: str = ""
    action: str = Field(description="kept | removed | unreadable")
    reason: str
    problems: list[str] = Field(default_factory=list)


def thaw_entries(cluster: Cluster, lease: QuiesceLease, parallelism: int = 16) -> list[str]:
    """Run every entry's thaw argv (reverse order waves); the problems met."""

    def thaw(entry: LeaseEntry) -> list[str]:
        pod = cluster.get(POD, entry.pod, entry.namespace)
        if pod is None:
            return []  # gone: nothing of it is frozen any more
        meta = pod.get("metadata") or {}
        if entry.pod_uid and meta.get("uid") != entry.pod_uid:
            return []  # replaced by a new pod, which was never frozen
        containers = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
        out: list[str] = []
        for hook in entry.thaw:
            error = run_hook(cluster, entry.namespace, entry.pod, containers, hook, "post")
            if error:
                out.append(error)
        return out

    problems: list[str] = []
    for wave in waves(lease.entries, lambda e: e.order, reverse=True):
        for found in run_parallel(thaw, wave, parallelism):
            problems.extend(found)
    return problems


def reconcile_lease(
    store: LeaseStore, lease: QuiesceLease, *, now: datetime | None = None, force: bool = False
) -> LeaseOutcome:
    """Thaw and remove one lease if it is stale (or ``force``); otherwise leave it."""
    now = now or utcnow()
    expired = lease.expired(now)
    dead = lease.holder.is_dead()
    base = {"lease": lease.name, "run_id": lease.run_id, "group": lease.group}
    if not (force or expired or dead):
        left = (lease.deadline - now).total_seconds()
        return LeaseOutcome(
            **base,
            action="kept",
            reason=f"held by a live run ({lease.holder.describe()}); expires in {left:.0f}s",
        )
    why = (
        "forced" if force else "expired" if expired else f"holder {lease.holder.describe()} is dead"
    )
    problems = thaw_entries(store.cluster, lease)
    if problems and not expired and not force:
        store.update(
            lease.model_copy(
                update={"attempts": lease.attempts + 1, "last_error": "; ".join(problems)}
            )
        )
        return LeaseOutcome(
            **base, action="kept", reason=f"{why}; thaw failed, retried later", problems=problems
        )
    store.release(lease.name)
    reason = f"{why}; thawed and removed"
    if problems:
        reason += " (thaw commands failed: a self-thawing freeze has released by its deadline)"
    return LeaseOutcome(**base, action="removed", reason=reason, problems=problems)


def reconcile_leases(
    cluster: Cluster, namespace: str, *, now: datetime | None = None, force: bool = False
) -> list[LeaseOutcome]:
    """Reconcile every lease in ``namespace``; one outcome per lease object found."""
    store = LeaseStore(cluster, namespace)
    leases, broken = store.list()
    outcomes = [
        LeaseOutcome(
            lease=name,
            action="unreadable",
            reason="not a lease this snapbridge understands; inspect and delete it by hand",
        )
        for name in broken
    ]
    for lease in leases:
        try:
            outcome = reconcile_lease(store, lease, now=now, force=force)
        except Exception as exc:  # one bad lease must not stop the others
            log.exception("reconcile of lease %s failed", lease.name)
            outcome = LeaseOutcome(
                lease=lease.name,
                run_id=lease.run_id,
                group=lease.group,
                action="kept",
                reason=f"reconcile failed: {exc}",
            )
        outcomes.append(outcome)
    return outcomes
