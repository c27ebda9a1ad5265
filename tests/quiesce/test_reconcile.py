"""QuiesceLease reconcile: what is stale, what is thawed, what is kept."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from snapbridge.cluster import CONFIG_MAP, POD, ExecResult
from snapbridge.context import RunContext
from snapbridge.plugins import exec_hooks
from snapbridge.plugins.exec_hooks.config import ExecHook
from snapbridge.plugins.exec_hooks.lease import (
    LEASE_LABEL,
    LeaseEntry,
    LeaseHolder,
    LeaseStore,
    QuiesceLease,
    lease_name,
)
from snapbridge.plugins.exec_hooks.reconcile import reconcile_leases

from .conftest import FakeCluster, add_pods, group_of, pod_ref

NS = "snapbridge-system"
NOW = datetime.now(UTC)


def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


def lease(
    holder: LeaseHolder,
    *,
    expires_in: float,
    pods: tuple[str, ...] = ("a",),
    name: str = "quiesce-x-1",
) -> QuiesceLease:
    return QuiesceLease(
        name=name,
        run_id="x",
        group="g",
        holder=holder,
        acquired_at=NOW - timedelta(seconds=10),
        deadline=NOW + timedelta(seconds=expires_in),
        entries=[
            LeaseEntry(
                namespace="app",
                pod=p,
                pod_uid=f"uid-{p}",
                thaw=[ExecHook(command=["fsfreeze", "--unfreeze", f"/{p}"])],
            )
            for p in pods
        ],
    )


@pytest.fixture
def store(cluster: FakeCluster) -> LeaseStore:
    add_pods(cluster, group_of(pod_ref("a", ["a"]), pod_ref("b", ["b"])))
    return LeaseStore(cluster, NS)


def test_holders() -> None:
    me = LeaseHolder.current()
    assert me.host == socket.gethostname() and me.pid == os.getpid() and me.started
    assert not me.is_dead()
    assert LeaseHolder(host=me.host, pid=dead_pid()).is_dead()
    assert LeaseHolder(host=me.host, pid=me.pid, started=(me.started or 0) + 1).is_dead(), (
        "pid reused"
    )
    assert not LeaseHolder(host="another-host", pid=dead_pid()).is_dead(), "undecidable elsewhere"


def test_a_live_runs_lease_is_left_alone(cluster: FakeCluster, store: LeaseStore) -> None:
    cluster.frozen["app/a:/a"] = "frozen"
    store.acquire(lease(LeaseHolder.current(), expires_in=60))
    (out,) = reconcile_leases(cluster, NS)
    assert out.action == "kept" and "live run" in out.reason
    assert not cluster.calls and cluster.leases()


def test_a_dead_holders_lease_is_thawed_before_its_deadline(
    cluster: FakeCluster, store: LeaseStore
) -> None:
    cluster.frozen["app/a:/a"] = "frozen"
    store.acquire(lease(LeaseHolder(host=socket.gethostname(), pid=dead_pid()), expires_in=60))
    (out,) = reconcile_leases(cluster, NS)
    assert out.action == "removed" and "is dead" in out.reason and not out.problems
    assert not cluster.frozen and not cluster.leases()


def test_a_failed_thaw_before_the_deadline_keeps_the_lease(
    cluster: FakeCluster, store: LeaseStore
) -> None:
    cluster.handler = lambda pod, arg0, argv, t: ExecResult("", "", -1, timed_out=True)
    store.acquire(lease(LeaseHolder(host=socket.gethostname(), pid=dead_pid()), expires_in=60))
    (out,) = reconcile_leases(cluster, NS)
    assert out.action == "kept" and out.problems
    kept = store.get("quiesce-x-1")
    assert (
        kept is not None
        and kept.attempts == 1
        and kept.last_error
        and "timed out" in kept.last_error
    )


def test_an_expired_lease_is_removed_even_if_the_thaw_fails(
    cluster: FakeCluster, store: LeaseStore
) -> None:
    store.acquire(lease(LeaseHolder(host="elsewhere", pid=1), expires_in=-1, pods=("a", "b")))
    cluster.frozen["app/b:/b"] = "frozen"  # a thawed itself; b did not
    (out,) = reconcile_leases(cluster, NS)
    assert out.action == "removed" and "self-thawing" in out.reason
    (problem,) = out.problems
    assert problem.startswith("post hook 'fsfreeze' in app/a: exit code 1 after ")
    assert problem.endswith("s: fsfreeze: unfreeze failed: Invalid argument")
    assert not cluster.frozen and not cluster.leases()


def test_gone_or_replaced_pods_are_not_exec_d(cluster: FakeCluster, store: LeaseStore) -> None:
    cluster.delete(POD, "a", "app")
    cluster.objects[(POD.kind, "app", "b")]["metadata"]["uid"] = "a-new-pod"
    store.acquire(lease(LeaseHolder(host="elsewhere", pid=1), expires_in=-1, pods=("a", "b")))
    (out,) = reconcile_leases(cluster, NS)
    assert out.action == "removed" and not out.problems and not cluster.calls


def test_force_and_unreadable_leases(cluster: FakeCluster, store: LeaseStore) -> None:
    cluster.frozen["app/a:/a"] = "frozen"
    store.acquire(lease(LeaseHolder.current(), expires_in=60))
    cluster.create(
        CONFIG_MAP,
        {
            "metadata": {"name": "junk", "namespace": NS, "labels": {LEASE_LABEL: "v9"}},
            "data": {"lease.json": "{"},
        },
    )
    outcomes = {o.lease: o for o in reconcile_leases(cluster, NS, force=True)}
    assert outcomes["quiesce-x-1"].action == "removed" and not cluster.frozen
    assert outcomes["junk"].action == "unreadable"


def test_a_rerun_of_the_same_run_thaws_its_earlier_attempt_first(
    ctx: RunContext, cluster: FakeCluster, store: LeaseStore
) -> None:
    group = group_of(pod_ref("a", ["a"], {"snapbridge.io/fsfreeze": "/a"}))
    earlier = lease(LeaseHolder.current(), expires_in=60, name=lease_name("r1", "g"))
    cluster.frozen["app/a:/a"] = "frozen"  # left by the earlier attempt of run r1
    store.acquire(earlier)
    ctx.extras["exec_hooks.reconciled"] = True  # resumed runs skip discover
    records = exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    assert [c.argv[:2] for c in cluster.calls] == [["fsfreeze", "--unfreeze"], ["sh", "-c"]]
    assert cluster.frozen == {"app/a:/a": "frozen"}
    exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=records)
    assert not cluster.frozen and not cluster.leases()


def test_reconcile_runs_once_per_run_and_never_in_a_dry_run(
    ctx: RunContext, cluster: FakeCluster, store: LeaseStore
) -> None:
    store.acquire(lease(LeaseHolder(host="elsewhere", pid=1), expires_in=-1))
    ctx.dry_run = True
    assert exec_hooks.reconcile_once(ctx) == []
    assert cluster.leases()
    ctx.dry_run = False
    (out,) = exec_hooks.reconcile_once(ctx)
    assert out.action == "removed"
    store.acquire(lease(LeaseHolder(host="elsewhere", pid=1), expires_in=-1))
    assert exec_hooks.reconcile_once(ctx) == []
    assert cluster.leases()
