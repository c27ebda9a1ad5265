"""On the sandbox: a continuously written group, quiesced, is cut inside its freeze and restores
consistent; snapshots the barrier did not cover are not."""

from __future__ import annotations

from datetime import datetime

import pytest

from snapbridge._internal.k8s import KubeCluster
from snapbridge.cluster import CONFIG_MAP
from snapbridge.context import RunContext
from snapbridge.plugins import exec_hooks
from snapbridge.plugins.exec_hooks.lease import LEASE_LABEL
from snapbridge.sandbox import SYSTEM_NAMESPACE

from . import sandbox_kit as kit

pytestmark = pytest.mark.sandbox

VELERO = {
    "pre.hook.backup.velero.io/command": '["/sbin/fsfreeze", "--freeze", "/data"]',
    "post.hook.backup.velero.io/command": '["/sbin/fsfreeze", "--unfreeze", "/data"]',
}


@pytest.fixture
def cluster(kube_cluster: KubeCluster) -> KubeCluster:  # the real one, not conftest's fake
    return kube_cluster


def test_a_written_group_is_cut_inside_its_freeze_and_restores_consistent(
    cluster: KubeCluster,
) -> None:
    with kit.namespace(cluster, "qc") as ns:
        for claim in ("data-a", "data-b"):
            kit.pvc(cluster, ns, claim)
        pods = [
            kit.pod(cluster, ns, "a", {"data-a": "/data"}, {"snapbridge.io/fsfreeze": "/data"}),
            kit.pod(cluster, ns, "b", {"data-b": "/data"}, VELERO),
        ]
        group = kit.group(ns, ns, pods)
        ctx = RunContext(run_id="consistency", backend="csi", cluster=cluster)
        handles = {c: kit.volume_handle(cluster, ns, c) for c in ("data-a", "data-b")}
        with kit.Writer(cluster, ns, "a", "/data"), kit.Writer(cluster, ns, "b", "/data"):
            records = exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
            assert len(records) == 2 and all(r.degraded_reason is None for r in records)
            assert cluster.list(CONFIG_MAP, SYSTEM_NAMESPACE, label_selector=LEASE_LABEL)
            for claim in handles:
                kit.snapshot(cluster, ns, f"q-{claim}", claim)
            cut = kit.wait_cut(cluster, ns, [f"q-{c}" for c in handles])
            thawed = exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=records)
            # control: the same volumes, cut while the writers run unfrozen
            for claim in handles:
                kit.snapshot(cluster, ns, f"u-{claim}", claim)
            uncut = kit.wait_cut(cluster, ns, [f"u-{c}" for c in handles])
            after = kit.line_counts(cluster, ns, "a", "/data")
        assert not cluster.list(CONFIG_MAP, SYSTEM_NAMESPACE, label_selector=LEASE_LABEL)

        windows = {r.pod.name: r.frozen for r in thawed if r.pod and r.frozen}
        for claim, pod_name in (("data-a", "a"), ("data-b", "b")):
            ann = kit.content_annotations(cluster, cut[f"q-{claim}"])
            assert ann[kit.FROZEN_AT_CUT] == "true", (claim, ann)
            cut_at = datetime.fromisoformat(ann[kit.CUT_AT])
            window = windows[pod_name]
            assert window is not None and window.start < cut_at < window.end
            assert (
                kit.content_annotations(cluster, uncut[f"u-{claim}"])[kit.FROZEN_AT_CUT] == "false"
            )
            (entry,) = kit.freezes(
                cluster, handles[claim], lambda es: bool(es) and all(e["thawedAt"] for e in es)
            )
            assert entry["thawReason"] == "unfreeze"
            assert entry["frozenAt"] < ann[kit.CUT_AT] < entry["thawedAt"]
        assert entry["thawDeadline"] is None  # b froze with Velero's plain fsfreeze: no self-thaw

        # the writers went on after the thaw
        assert after[0] > 0

        # restore the quiesced snapshots and check the writer's invariant in each
        for claim in handles:
            kit.pvc(cluster, ns, f"r-{claim}", source=f"q-{claim}")
        kit.pod(cluster, ns, "check", {f"r-{c}": f"/r/{c}" for c in handles})
        for claim in handles:
            counts = kit.line_counts(cluster, ns, "check", f"/r/{claim}")
            assert counts[0] > 0 and kit.consistent(counts), (claim, counts)
