"""What ``snapbridge plan`` learns from the exec_hooks plugin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from snapbridge.context import RunContext
from snapbridge.models import BackupRequest, Inventory
from snapbridge.plugins import exec_hooks
from snapbridge.plugins.exec_hooks.lease import LeaseHolder, LeaseStore, QuiesceLease

from .conftest import FakeCluster, group_of, pod_ref

REQ = BackupRequest(run_id="p", namespaces=["app"])


def test_plan_describes_each_pvcs_hooks_and_blocks_on_bad_ones(
    ctx: RunContext, cluster: FakeCluster
) -> None:
    ctx.dry_run = True
    group = group_of(
        pod_ref(
            "db", ["data"], {"snapbridge.io/fsfreeze": "/data", "snapbridge.io/quiesce-order": "1"}
        ),
        pod_ref("plain", ["logs"]),
        pod_ref("typo", ["x"], {"snapbridge.io/pre-hook-command": "fsfreeze -f /x"}),
        pod_ref(
            "ghost",
            ["y"],
            {
                "pre.hook.backup.velero.io/command": '["sync"]',
                "pre.hook.backup.velero.io/container": "gone",
            },
        ),
    )
    now = datetime.now(UTC)
    LeaseStore(cluster, ctx.system_namespace).acquire(
        QuiesceLease(
            name="quiesce-old-1",
            run_id="old",
            group="g",
            holder=LeaseHolder(host="h", pid=1),
            acquired_at=now,
            deadline=now + timedelta(seconds=1),
        )
    )
    notes = exec_hooks.snapbridge_plan(ctx=ctx, request=REQ, inventory=Inventory(groups=[group]))
    by_pvc = {n.pvc: n.hooks for n in notes if n.pvc}
    assert by_pvc["app/data"] == [
        "db: freeze fsfreeze --freeze /data (thaws itself after 60s); "
        "thaw fsfreeze --unfreeze /data (snapbridge.io annotations, order 1, max hold 60s)"
    ]
    assert by_pvc["app/logs"] == ["plain: no hooks (crash)"]
    blocking = [n.message for n in notes if n.blocking]
    assert any("app/typo" in m and "JSON array" in m for m in blocking)
    assert any("container 'gone' does not exist" in m for m in blocking)
    assert any("quiesce-old-1" in n.message for n in notes if not n.blocking)
    assert not cluster.calls, "plan runs nothing"
    assert cluster.leases(), "plan removes nothing"
