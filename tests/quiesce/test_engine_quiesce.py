"""exec_hooks inside the real engine (fake cluster, fake snapshots): records, levels, metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from snapbridge import RunContext, hookimpl
from snapbridge._internal.config import RetrySettings
from snapbridge._internal.engine import BackupEngine
from snapbridge._internal.journal import MemoryJournal
from snapbridge._internal.metrics import REGISTRY
from snapbridge._internal.plugins import create_plugin_host
from snapbridge._internal.retry import RetryPolicy
from snapbridge.cluster import ExecResult
from snapbridge.models import (
    BackupRequest,
    ConsistencyGroup,
    ConsistencyLevel,
    ExportResult,
    Inventory,
    PhaseStatus,
    RestorePoint,
    SnapshotRecord,
    SnapshotSet,
)
from snapbridge.plugins.exec_hooks.config import ExecHook
from snapbridge.plugins.exec_hooks.lease import (
    LeaseEntry,
    LeaseHolder,
    LeaseStore,
    QuiesceLease,
)

from .conftest import FakeCluster, add_pods, group_of, pod_ref

REQ = BackupRequest(run_id="r1", namespaces=["app"])


class FakeBackend:
    """Discovers a fixed group; the 'cut' notes which volumes were frozen at that instant."""

    def __init__(
        self, cluster: FakeCluster, group: ConsistencyGroup, fail: BaseException | None = None
    ) -> None:
        self.cluster, self.group, self.fail = cluster, group, fail
        self.frozen_at_cut: set[str] = set()

    @hookimpl
    def snapbridge_discover(self, ctx: RunContext, request: BackupRequest) -> Inventory:
        return Inventory(volumes=self.group.volumes, groups=[self.group], pods=self.group.pods)

    @hookimpl
    def snapbridge_snapshot(self, ctx: RunContext, group: ConsistencyGroup) -> SnapshotSet:
        self.frozen_at_cut = set(self.cluster.frozen)
        if self.fail is not None:
            raise self.fail
        now = datetime.now(UTC)
        recs = [
            SnapshotRecord(
                volume=v, snapshot_name=f"s-{v.pvc}", snapshot_namespace="app", cut_time=now
            )
            for v in group.volumes
        ]
        return SnapshotSet(group=group.name, records=recs, cut_at=now, created_by="fake")

    @hookimpl
    def snapbridge_wait_ready(self, ctx: RunContext, snapshots: SnapshotSet) -> SnapshotSet:
        now = datetime.now(UTC)
        recs = [r.model_copy(update={"ready_time": now}) for r in snapshots.records]
        return snapshots.model_copy(update={"records": recs})

    @hookimpl
    def snapbridge_export(self, ctx: RunContext, restore_point: Any) -> ExportResult:
        return ExportResult(location="mem://x", exported_by="fake")


def run(
    cluster: FakeCluster, backend: FakeBackend
) -> tuple[Any, RestorePoint | None, BackupEngine]:
    host = create_plugin_host(
        builtins=("snapbridge.plugins.exec_hooks",), eps=[], extra_plugins=[("fake", backend)]
    )
    ctx = RunContext(run_id="r1", backend="csi", cluster=cluster)
    journal = MemoryJournal()
    engine = BackupEngine(host, ctx, journal=journal, retry=RetryPolicy(RetrySettings(attempts=1)))
    result = engine.run(REQ)
    return result, journal.get_restore_point("r1"), engine


def freeze_count() -> float:
    return REGISTRY.get_sample_value("snapbridge_freeze_window_seconds_count") or 0.0


def test_quiesced_volumes_are_app_consistent_with_freeze_windows(cluster: FakeCluster) -> None:
    group = group_of(
        pod_ref("a", ["da"], {"snapbridge.io/fsfreeze": "/da"}),
        pod_ref(
            "b",
            ["db"],
            {
                "pre.hook.backup.velero.io/command": '["fsfreeze", "--freeze", "/db"]',
                "post.hook.backup.velero.io/command": '["fsfreeze", "--unfreeze", "/db"]',
            },
        ),
    )
    backend = FakeBackend(cluster, group)
    before = freeze_count()
    result, rp, _ = run(cluster, backend)
    assert result.ok, result.error
    assert backend.frozen_at_cut == {"app/a:/da", "app/b:/db"}
    assert not cluster.frozen and not cluster.leases()
    assert rp is not None
    assert {v.volume.pvc: v.consistency for v in rp.volumes} == {
        "da": ConsistencyLevel.APP,
        "db": ConsistencyLevel.APP,
    }
    assert all(v.quiesced_by == ["exec_hooks"] and v.degraded_reason is None for v in rp.volumes)
    pods = {w.pod: w.window for w in rp.freeze_windows if w.pod}
    (whole,) = [w.window for w in rp.freeze_windows if w.pod is None]
    assert set(pods) == {"a", "b"}
    assert whole.start == min(w.start for w in pods.values())
    assert whole.end == max(w.end for w in pods.values())
    assert all(w.seconds > 0 for w in pods.values())
    assert freeze_count() == before + 1


def test_continue_degrades_only_that_volume_to_crash_with_the_reason(cluster: FakeCluster) -> None:
    def handler(pod: str, arg0: str, argv: list[str], timeout: float) -> ExecResult | None:
        return ExecResult("", "", -1, timed_out=True) if arg0 == "hang" else None

    cluster.handler = handler
    hang = {
        "snapbridge.io/pre-hook-command": '["hang"]',
        "snapbridge.io/pre-hook-on-error": "Continue",
    }
    group = group_of(
        pod_ref("a", ["da"], {"snapbridge.io/fsfreeze": "/da"}), pod_ref("b", ["db"], hang)
    )
    result, rp, _ = run(cluster, FakeBackend(cluster, group))
    assert result.ok, result.error
    assert rp is not None
    levels = {v.volume.pvc: (v.consistency, v.degraded_reason) for v in rp.volumes}
    assert levels["da"] == (ConsistencyLevel.APP, None)
    assert levels["db"] == (
        ConsistencyLevel.CRASH,
        "pre hook 'hang' in app/b: timed out after 30s and was killed",
    )


def test_a_volume_is_app_only_when_every_pod_mounting_it_was_quiesced(cluster: FakeCluster) -> None:
    group = group_of(
        pod_ref("writer", ["shared"], {"snapbridge.io/fsfreeze": "/shared"}),
        pod_ref("reader", ["shared"]),
    )
    _, rp, _ = run(cluster, FakeBackend(cluster, group))
    assert rp is not None
    (vol,) = rp.volumes
    assert vol.consistency is ConsistencyLevel.CRASH
    assert vol.degraded_reason == "pod app/reader mounts it but was not quiesced"


def test_a_failing_hook_fails_the_run_and_thaws_what_froze(cluster: FakeCluster) -> None:
    def handler(pod: str, arg0: str, argv: list[str], timeout: float) -> ExecResult | None:
        return ExecResult("", "", -1, timed_out=True) if arg0 == "hang" else None

    cluster.handler = handler
    group = group_of(
        pod_ref("a", ["da"], {"snapbridge.io/fsfreeze": "/da"}),
        pod_ref(
            "b",
            ["db"],
            {"snapbridge.io/pre-hook-command": '["hang"]', "snapbridge.io/pre-hook-timeout": "1s"},
        ),
    )
    backend = FakeBackend(cluster, group)
    result, rp, _ = run(cluster, backend)
    assert not result.ok and rp is None
    assert "pre hook 'hang' in app/b: timed out after 1s and was killed" in (result.error or "")
    assert not cluster.frozen and not cluster.leases()
    statuses = [(p.phase.value, p.status) for p in result.phases]
    assert ("quiesce", PhaseStatus.FAILED) in statuses and (
        "thaw",
        PhaseStatus.SUCCEEDED,
    ) in statuses
    assert "snapshot" not in [p for p, _ in statuses]


def test_an_interrupt_at_the_cut_thaws_and_removes_the_lease(cluster: FakeCluster) -> None:
    group = group_of(pod_ref("a", ["da"], {"snapbridge.io/fsfreeze": "/da"}))
    backend = FakeBackend(cluster, group, fail=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run(cluster, backend)
    assert backend.frozen_at_cut == {"app/a:/da"}
    assert not cluster.frozen and not cluster.leases()


def test_a_failed_thaw_fails_the_thaw_phase(cluster: FakeCluster) -> None:
    group = group_of(
        pod_ref(
            "a",
            ["da"],
            {
                "snapbridge.io/pre-hook-command": '["ok"]',
                "snapbridge.io/post-hook-command": '["fsfreeze", "--unfreeze", "/nothing"]',
            },
        )
    )
    result, _, _ = run(cluster, FakeBackend(cluster, group))
    (thaw,) = [p for p in result.phases if p.phase.value == "thaw"]
    assert thaw.status is PhaseStatus.FAILED
    assert "unfreeze failed: Invalid argument" in (thaw.error or "")
    assert len(cluster.leases()) == 1, "kept for reconcile"


def test_a_backup_starts_by_thawing_a_dead_runs_expired_lease(cluster: FakeCluster) -> None:
    stale_pod = pod_ref("old", ["do"])
    add_pods(cluster, group_of(stale_pod))
    cluster.frozen["app/old:/do"] = "frozen"
    now = datetime.now(UTC)
    LeaseStore(cluster, "snapbridge-system").acquire(
        QuiesceLease(
            name="quiesce-dead-0123456789",
            run_id="dead",
            group="g-old",
            holder=LeaseHolder(host="elsewhere", pid=1),
            acquired_at=now - timedelta(minutes=5),
            deadline=now - timedelta(minutes=4),
            entries=[
                LeaseEntry(
                    namespace="app",
                    pod="old",
                    pod_uid="uid-old",
                    thaw=[ExecHook(command=["fsfreeze", "--unfreeze", "/do"])],
                )
            ],
        )
    )
    group = group_of(pod_ref("a", ["da"], {"snapbridge.io/fsfreeze": "/da"}))
    result, _, _ = run(cluster, FakeBackend(cluster, group))
    assert result.ok
    assert not cluster.frozen and not cluster.leases()
    assert ["fsfreeze", "--unfreeze", "/do"] in [c.argv for c in cluster.calls_for("app/old")]
