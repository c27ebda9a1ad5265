"""On the sandbox: the engine process dies or is stopped between freeze and thaw.

SIGKILL: nothing in the process runs; the pod's self-thawing freeze releases at its deadline and
the next run's reconcile removes the lease. SIGTERM/SIGINT: the engine's ``finally`` thaws at
once and removes the lease.
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from snapbridge._internal.k8s import KubeCluster
from snapbridge.cluster import CONFIG_MAP
from snapbridge.context import RunContext
from snapbridge.models import BackupRequest, ConsistencyGroup
from snapbridge.plugins import exec_hooks
from snapbridge.plugins.exec_hooks.lease import LEASE_LABEL, parse_lease
from snapbridge.sandbox import SYSTEM_NAMESPACE

from . import sandbox_kit as kit

pytestmark = pytest.mark.sandbox
CHILD = Path(__file__).with_name("child.py")


@pytest.fixture
def cluster(kube_cluster: KubeCluster) -> KubeCluster:  # the real one, not conftest's fake
    return kube_cluster


def start_child(
    mode: str, kubeconfig: Path, group: ConsistencyGroup, tmp: Path, ready: str
) -> subprocess.Popen[str]:
    spec = tmp / "group.json"
    spec.write_text(group.model_dump_json())
    child = subprocess.Popen(
        [sys.executable, str(CHILD), mode, str(kubeconfig), str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        readable, _, _ = select.select([child.stdout], [], [], 1.0)
        if readable and child.stdout.readline().strip() == ready:
            return child
        if child.poll() is not None:
            break
    child.kill()
    child.communicate()
    raise AssertionError(f"child never printed {ready} (exit {child.returncode})")


def leases_of(cluster: KubeCluster, run_id: str) -> list[Any]:
    found = [
        parse_lease(o)
        for o in cluster.list(CONFIG_MAP, SYSTEM_NAMESPACE, label_selector=LEASE_LABEL)
    ]
    return [x for x in found if x is not None and x.run_id == run_id]


def one_pod(
    cluster: KubeCluster, ns: str, annotations: dict[str, str]
) -> tuple[ConsistencyGroup, str]:
    kit.pvc(cluster, ns, "data")
    pod = kit.pod(cluster, ns, "app", {"data": "/data"}, annotations)
    return kit.group(ns, ns, [pod]), kit.volume_handle(cluster, ns, "data")


def test_sigkill_the_pod_thaws_itself_and_the_next_run_removes_the_lease(
    cluster: KubeCluster, sandbox: Any, tmp_path: Path
) -> None:
    ann = {
        "snapbridge.io/fsfreeze": "/data",
        "snapbridge.io/quiesce-max-hold": "4s",
        "snapbridge.io/pre-hook-timeout": "2s",
    }
    with kit.namespace(cluster, "qk") as ns:
        group, handle = one_pod(cluster, ns, ann)
        with start_child("freeze", sandbox.kubeconfig, group, tmp_path, "FROZEN") as child:
            child.send_signal(signal.SIGKILL)

        (frozen,) = kit.freezes(cluster, handle, bool)
        assert frozen["thawedAt"] is None, "frozen when the engine died"
        (lease,) = leases_of(cluster, "child-freeze")
        assert [e.pod for e in lease.entries] == ["app"]
        assert lease.holder.pid == child.pid

        (entry,) = kit.freezes(cluster, handle, lambda es: all(e["thawedAt"] for e in es))
        assert entry["thawReason"] == "deadline", "the pod thawed itself"
        held = datetime.fromisoformat(entry["thawedAt"]) - datetime.fromisoformat(entry["frozenAt"])
        assert timedelta(seconds=4) <= held < timedelta(seconds=6)
        assert leases_of(cluster, "child-freeze"), "nobody removed the lease yet"

        # the next backup run starts (discover) after the lease's own deadline
        time.sleep(max(0.0, (lease.deadline - datetime.now(UTC)).total_seconds() + 0.2))
        ctx = RunContext(run_id="next-run", backend="csi", cluster=cluster)
        exec_hooks.snapbridge_discover(
            ctx=ctx, request=BackupRequest(run_id="next-run", namespaces=[ns])
        )
        assert not leases_of(cluster, "child-freeze")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_engine_thaws_at_once_and_removes_its_lease(
    cluster: KubeCluster, sandbox: Any, tmp_path: Path, sig: signal.Signals
) -> None:
    with kit.namespace(cluster, "qt") as ns:
        group, handle = one_pod(cluster, ns, {"snapbridge.io/fsfreeze": "/data"})  # 60 s max hold
        with start_child("engine", sandbox.kubeconfig, group, tmp_path, "CUTTING") as child:
            assert leases_of(cluster, "child-engine")
            child.send_signal(sig)
            out, _ = child.communicate(timeout=60)
        assert child.returncode == 130 and "INTERRUPTED" in out
        (entry,) = kit.freezes(cluster, handle, lambda es: all(e["thawedAt"] for e in es))
        assert entry["thawReason"] == "unfreeze", "the engine thawed, not the deadline"
        held = datetime.fromisoformat(entry["thawedAt"]) - datetime.fromisoformat(entry["frozenAt"])
        assert held < timedelta(seconds=30)
        assert not leases_of(cluster, "child-engine")
