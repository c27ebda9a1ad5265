"""Helpers for end-to-end tests on the sandbox: sample apps built through the facade."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from snapbridge._internal.k8s import KubeCluster
from snapbridge.cluster import NAMESPACE, PERSISTENT_VOLUME_CLAIM, POD, KubeObject

SANDBOX_CLASS = "sandbox-csi"


def pvc_body(
    ns: str,
    name: str,
    *,
    annotations: dict[str, str] | None = None,
    storage_class: str = SANDBOX_CLASS,
) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }


def pod_body(
    ns: str, name: str, pvcs: list[str], annotations: dict[str, str] | None = None
) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "busybox",
                    "command": ["sleep", "1d"],
                    "volumeMounts": [{"name": p, "mountPath": f"/data/{p}"} for p in pvcs],
                }
            ],
            "volumes": [{"name": p, "persistentVolumeClaim": {"claimName": p}} for p in pvcs],
        },
    }


@dataclass
class App:
    cluster: KubeCluster
    namespace: str
    pvcs: list[str]
    pod: str = "app"

    def sh(self, script: str, pod: str | None = None, ns: str | None = None) -> str:
        res = self.cluster.exec(
            ns or self.namespace, pod or self.pod, "app", ["sh", "-c", script], timeout=60
        )
        assert res.exit_code == 0, res.stderr
        return res.stdout

    def checksums(self, pod: str | None = None, ns: str | None = None) -> dict[str, str]:
        out = self.sh("cd /data && sha256sum */*", pod, ns)
        return {line.split()[1]: line.split()[0] for line in out.splitlines()}


def running(obj: KubeObject) -> bool:
    return (obj.get("status") or {}).get("phase") == "Running"


def bound(obj: KubeObject) -> bool:
    return (obj.get("status") or {}).get("phase") == "Bound"


@pytest.fixture
def cluster(kube_cluster: KubeCluster) -> KubeCluster:
    return kube_cluster


@pytest.fixture
def make_app(cluster: KubeCluster) -> Iterator[object]:
    created: list[str] = []

    def make(
        n: int = 3,
        *,
        pvc_annotations: dict[str, str] | None = None,
        pod_annotations: dict[str, str] | None = None,
        fill: bool = True,
    ) -> App:
        ns = f"e2e-{secrets.token_hex(3)}"
        created.append(ns)
        cluster.create(
            NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        )
        pvcs = [f"data-{i}" for i in range(n)]
        for p in pvcs:
            cluster.create(PERSISTENT_VOLUME_CLAIM, pvc_body(ns, p, annotations=pvc_annotations))
        cluster.wait_for(PERSISTENT_VOLUME_CLAIM, pvcs, ns, bound, timeout=60)
        cluster.create(POD, pod_body(ns, "app", pvcs, pod_annotations))
        cluster.wait_for(POD, ["app"], ns, running, timeout=60)
        app = App(cluster, ns, pvcs)
        if fill:
            app.sh(" && ".join(f"head -c 65536 /dev/urandom > /data/{p}/blob" for p in pvcs))
        return app

    yield make
    for ns in created:
        cluster.delete(NAMESPACE, ns)
        cluster.delete(NAMESPACE, f"{ns}-restored")


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "snapbridge.yaml"
    path.write_text(body)
    return path
