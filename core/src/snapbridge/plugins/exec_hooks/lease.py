"""QuiesceLease: the persisted promise to thaw, written to the cluster before anything freezes.

One ConfigMap per (run, consistency group) in the snapbridge system namespace::

    metadata:
      name: quiesce-<run id>-<sha256(group)[:10]>
      labels: {snapbridge.io/quiesce-lease: "v1", snapbridge.io/run-id: <run id>,
               app.kubernetes.io/managed-by: snapbridge}
      annotations: {snapbridge.io/quiesce-deadline: <RFC 3339>}
    data:
      lease.json: {"name", "runId", "group", "plugin", "holder": {"host", "pid", "started"},
                   "acquiredAt", "deadline", "attempts", "lastError",
                   "entries": [{"namespace", "pod", "podUid", "order",
                                "thaw": [{"container", "command", "onError", "timeout"}]}]}

It names every pod that *may* be frozen and the argv that thaws it. Thaw deletes it; a run
that dies leaves it behind, and :mod:`.reconcile` thaws and removes it once its deadline has
passed or its holder process is known to be dead.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from ...cluster import CONFIG_MAP, NAMESPACE, Cluster, KubeObject
from ...errors import ClusterAPIError
from ...models import Model
from .config import ExecHook
from .runner import waves
from .spec import PodHooks

LEASE_LABEL = "snapbridge.io/quiesce-lease"
RUN_LABEL = "snapbridge.io/run-id"
ANN_DEADLINE = "snapbridge.io/quiesce-deadline"
DATA_KEY = "lease.json"
VERSION = "v1"


def _start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), or ``None`` if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


class LeaseHolder(Model):
    """The process that froze: dead is only decidable on the same host."""

    host: str
    pid: int
    started: int | None = None

    @classmethod
    def current(cls) -> LeaseHolder:
        return cls(host=socket.gethostname(), pid=os.getpid(), started=_start_ticks(os.getpid()))

    def is_dead(self) -> bool:
        if self.host != socket.gethostname():
            return False
        ticks = _start_ticks(self.pid)
        return ticks is None or (self.started is not None and ticks != self.started)

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


class LeaseEntry(Model):
    namespace: str
    pod: str
    pod_uid: str = ""
    order: int = 0
    thaw: list[ExecHook] = Field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.pod}"


class QuiesceLease(Model):
    name: str
    run_id: str
    group: str
    plugin: str = "exec_hooks"
    holder: LeaseHolder
    acquired_at: datetime
    deadline: datetime
    entries: list[LeaseEntry] = Field(default_factory=list)
    attempts: int = 0
    last_error: str | None = None

    def expired(self, now: datetime) -> bool:
        return now >= self.deadline


def lease_name(run_id: str, group: str) -> str:
    return f"quiesce-{run_id}-{hashlib.sha256(group.encode()).hexdigest()[:10]}"


def plan_lease(
    name: str, run_id: str, group: str, plans: list[PodHooks], now: datetime
) -> QuiesceLease:
    """The lease for freezing ``plans``: its deadline is the worst case of the freezes (each
    wave's slowest pre hooks at their timeouts) plus the longest max hold."""
    worst_freeze = sum(
        max(sum(h.timeout for h in p.pre) for p in wave) for wave in waves(plans, lambda p: p.order)
    )
    hold = max((p.max_hold for p in plans), default=0.0)
    return QuiesceLease(
        name=name,
        run_id=run_id,
        group=group,
        holder=LeaseHolder.current(),
        acquired_at=now,
        deadline=now + timedelta(seconds=worst_freeze + hold),
        entries=[
            LeaseEntry(
                namespace=p.pod.namespace,
                pod=p.pod.name,
                pod_uid=p.pod.uid,
                order=p.order,
                thaw=p.post,
            )
            for p in plans
        ],
    )


class LeaseStore:
    """Leases as ConfigMaps in one namespace, through the cluster facade."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    def _body(self, lease: QuiesceLease) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": lease.name,
                "namespace": self.namespace,
                "labels": {
                    LEASE_LABEL: VERSION,
                    RUN_LABEL: lease.run_id,
                    "app.kubernetes.io/managed-by": "snapbridge",
                },
                "annotations": {ANN_DEADLINE: lease.deadline.isoformat()},
            },
            "data": {DATA_KEY: json.dumps(lease.to_wire(), indent=1)},
        }

    def acquire(self, lease: QuiesceLease) -> None:
        """Create the lease; raises :class:`ClusterAPIError` (409) if one of its name exists."""
        body = self._body(lease)
        try:
            self.cluster.create(CONFIG_MAP, body, exist_ok=False)
        except ClusterAPIError as exc:
            if exc.status != 404:
                raise
            ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
            self.cluster.create(NAMESPACE, ns, exist_ok=True)
            self.cluster.create(CONFIG_MAP, body, exist_ok=False)

    def update(self, lease: QuiesceLease) -> None:
        self.cluster.patch(
            CONFIG_MAP, lease.name, {"data": self._body(lease)["data"]}, self.namespace
        )

    def release(self, name: str) -> bool:
        return self.cluster.delete(CONFIG_MAP, name, self.namespace)

    def get(self, name: str) -> QuiesceLease | None:
        obj = self.cluster.get(CONFIG_MAP, name, self.namespace)
        return None if obj is None else parse_lease(obj)

    def list(self) -> tuple[list[QuiesceLease], list[str]]:
        """Every lease, and the names of lease objects that cannot be read."""
        leases: list[QuiesceLease] = []
        broken: list[str] = []
        for obj in self.cluster.list(CONFIG_MAP, self.namespace, label_selector=LEASE_LABEL):
            lease = parse_lease(obj)
            if lease is None:
                broken.append(str(obj.get("metadata", {}).get("name")))
            else:
                leases.append(lease)
        return leases, broken


def parse_lease(obj: KubeObject) -> QuiesceLease | None:
    raw = (obj.get("data") or {}).get(DATA_KEY)
    try:
        return QuiesceLease.model_validate_json(raw) if raw else None
    except ValidationError:
        return None
