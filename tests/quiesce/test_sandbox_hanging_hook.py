"""On the sandbox: a hanging pre hook is killed at its timeout; Fail fails and thaws what froze,
Continue records the volume ``crash`` with the reason."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from snapbridge._internal.journal import JournalState
from snapbridge._internal.k8s import KubeCluster
from snapbridge._internal.restore_point import build_restore_point
from snapbridge.cluster import CONFIG_MAP
from snapbridge.context import RunContext
from snapbridge.models import (
    BackupRequest,
    ConsistencyGroup,
    ConsistencyLevel,
    Inventory,
    SnapshotRecord,
    SnapshotSet,
)
from snapbridge.plugins import exec_hooks
from snapbridge.plugins.exec_hooks.barrier import QuiesceHookError
from snapbridge.plugins.exec_hooks.lease import LEASE_LABEL
from snapbridge.sandbox import SYSTEM_NAMESPACE

from . import sandbox_kit as kit

pytestmark = pytest.mark.sandbox

SLEEP = 3.0


def hanging(on_error: str) -> dict[str, str]:
    return {
        "snapbridge.io/pre-hook-command": f'["sh", "-c", "sleep {SLEEP:g}; touch /data/survived"]',
        "snapbridge.io/pre-hook-timeout": "1s",
        "snapbridge.io/pre-hook-on-error": on_error,
    }


@pytest.fixture
def cluster(kube_cluster: KubeCluster) -> KubeCluster:  # the real one, not conftest's fake
    return kube_cluster


def setup(cluster: KubeCluster, ns: str, on_error: str) -> tuple[ConsistencyGroup, dict[str, str]]:
    for claim in ("data-a", "data-b"):
        kit.pvc(cluster, ns, claim)
    pods = [
        kit.pod(cluster, ns, "a", {"data-a": "/data"}, {"snapbridge.io/fsfreeze": "/data"}),
        kit.pod(cluster, ns, "b", {"data-b": "/data"}, hanging(on_error)),
    ]
    handles = {c: kit.volume_handle(cluster, ns, c) for c in ("data-a", "data-b")}
    return kit.group(ns, ns, pods), handles


def assert_killed(cluster: KubeCluster, ns: str, started: float) -> None:
    time.sleep(max(0.0, started + SLEEP + 1.0 - time.monotonic()))
    probe = cluster.exec(ns, "b", "main", ["test", "-e", "/data/survived"], timeout=30)
    assert probe.exit_code == 1, "the hook outlived its timeout"


def leases(cluster: KubeCluster) -> list[Any]:
    return cluster.list(CONFIG_MAP, SYSTEM_NAMESPACE, label_selector=LEASE_LABEL)


def test_fail_fails_the_quiesce_and_thaws_what_it_froze(cluster: KubeCluster) -> None:
    with kit.namespace(cluster, "qf") as ns:
        group, handles = setup(cluster, ns, "Fail")
        ctx = RunContext(run_id="hang-fail", backend="csi", cluster=cluster)
        started = time.monotonic()
        with pytest.raises(
            QuiesceHookError, match=r"pre hook 'sh' in .*/b: timed out after 1s and was killed"
        ):
            exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
        assert time.monotonic() - started < SLEEP, (
            "the barrier waited for the hook, not its timeout"
        )
        frozen = kit.freezes(cluster, handles["data-a"], bool)
        assert [e["thawedAt"] for e in frozen] == [None], "a froze, and is still frozen"
        assert leases(cluster)
        # what the engine's finally does with the ledger
        thawed = exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=list(ctx.frozen))
        assert {r.pod.name for r in thawed if r.pod} == {"a", "b"}
        (entry,) = kit.freezes(
            cluster, handles["data-a"], lambda es: all(e["thawedAt"] for e in es)
        )
        assert entry["thawReason"] == "unfreeze"
        assert not leases(cluster)
        assert_killed(cluster, ns, started)


def test_continue_snapshots_the_volume_as_crash_with_the_reason(cluster: KubeCluster) -> None:
    with kit.namespace(cluster, "qn") as ns:
        group, handles = setup(cluster, ns, "Continue")
        ctx = RunContext(run_id="hang-continue", backend="csi", cluster=cluster)
        started = time.monotonic()
        records = exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
        for claim in handles:
            kit.snapshot(cluster, ns, f"s-{claim}", claim)
        cut = kit.wait_cut(cluster, ns, [f"s-{c}" for c in handles])
        thawed = exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=records)
        assert not leases(cluster)
        frozen_at_cut = {
            c: kit.content_annotations(cluster, cut[f"s-{c}"])[kit.FROZEN_AT_CUT] for c in handles
        }
        assert frozen_at_cut == {"data-a": "true", "data-b": "false"}

        now = datetime.now(UTC)
        state = JournalState(
            run_id="hang-continue",
            backend="csi",
            inventory=Inventory(volumes=group.volumes, groups=[group], pods=group.pods),
            ready_sets={
                group.name: SnapshotSet(
                    group=group.name,
                    records=[
                        SnapshotRecord(
                            volume=v,
                            snapshot_name=f"s-{v.pvc}",
                            snapshot_namespace=ns,
                            cut_time=now,
                            ready_time=now,
                        )
                        for v in group.volumes
                    ],
                )
            },
            thawed={group.name: thawed},
        )
        rp = build_restore_point(ctx, BackupRequest(run_id="hang-continue", namespaces=[ns]), state)
        levels = {v.volume.pvc: (v.consistency, v.degraded_reason) for v in rp.volumes}
        assert levels["data-a"] == (ConsistencyLevel.APP, None)
        assert levels["data-b"] == (
            ConsistencyLevel.CRASH,
            f"pre hook 'sh' in {ns}/b: timed out after 1s and was killed",
        )
        assert {w.pod for w in rp.freeze_windows} == {"a", "b", None}
        assert_killed(cluster, ns, started)
