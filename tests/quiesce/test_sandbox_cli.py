"""On the sandbox: ``snapbridge quiesce reconcile`` thaws a dead run's pod and removes its lease."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from snapbridge._internal.k8s import KubeCluster
from snapbridge.cli import app
from snapbridge.cluster import CONFIG_MAP
from snapbridge.plugins.exec_hooks.config import ExecHook
from snapbridge.plugins.exec_hooks.lease import (
    LEASE_LABEL,
    LeaseEntry,
    LeaseHolder,
    LeaseStore,
    QuiesceLease,
)
from snapbridge.sandbox import SYSTEM_NAMESPACE

from . import sandbox_kit as kit

pytestmark = pytest.mark.sandbox


@pytest.fixture
def cluster(kube_cluster: KubeCluster) -> KubeCluster:  # the real one, not conftest's fake
    return kube_cluster


def reconcile(kubeconfig: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["quiesce", "reconcile", "--kubeconfig", kubeconfig])
    return result.exit_code, result.output


def test_cli_reconcile_thaws_stale_leases_keeps_live_ones_and_reports_junk(
    cluster: KubeCluster, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SNAPBRIDGE_CONFIG", raising=False)
    store = LeaseStore(cluster, SYSTEM_NAMESPACE)
    now = datetime.now(UTC)
    with kit.namespace(cluster, "qr") as ns:
        kit.pvc(cluster, ns, "data")
        pod = kit.pod(cluster, ns, "app", {"data": "/data"})
        handle = kit.volume_handle(cluster, ns, "data")
        frozen = cluster.exec(ns, "app", "main", ["fsfreeze", "--freeze", "/data"], timeout=30)
        assert frozen.exit_code == 0, frozen
        thaw = [ExecHook(container="main", command=["fsfreeze", "--unfreeze", "/data"])]
        dead = QuiesceLease(
            name=f"quiesce-dead-{ns}",
            run_id="dead",
            group=ns,
            holder=LeaseHolder(host=socket.gethostname(), pid=2**22 + 7),  # no such process
            acquired_at=now,
            deadline=now + timedelta(minutes=5),
            entries=[LeaseEntry(namespace=ns, pod="app", pod_uid=pod.uid, thaw=thaw)],
        )
        live = dead.model_copy(
            update={"name": f"quiesce-live-{ns}", "holder": LeaseHolder.current(), "entries": []}
        )
        junk = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": f"junk-{ns}",
                "namespace": SYSTEM_NAMESPACE,
                "labels": {LEASE_LABEL: "v0"},
            },
            "data": {"lease.json": "not json"},
        }
        for lease in (dead, live):
            store.acquire(lease)
        cluster.create(CONFIG_MAP, junk)
        try:
            code, out = reconcile(str(sandbox.kubeconfig))
            assert code == 1, out
            assert "could not be reconciled" in out
            assert store.get(dead.name) is None
            assert store.get(live.name) is not None
            (entry,) = kit.freezes(cluster, handle, lambda es: all(e["thawedAt"] for e in es))
            assert entry["thawReason"] == "unfreeze"

            cluster.delete(CONFIG_MAP, f"junk-{ns}", SYSTEM_NAMESPACE)
            code, out = reconcile(str(sandbox.kubeconfig))
            assert code == 0, out
            assert "kept" in out and store.get(live.name) is not None
        finally:
            for name in (dead.name, live.name, f"junk-{ns}"):
                cluster.delete(CONFIG_MAP, name, SYSTEM_NAMESPACE)
