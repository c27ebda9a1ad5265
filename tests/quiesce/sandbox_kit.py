"""Building blocks for the quiesce tests on the sandbox, all through the cluster facade."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from snapbridge.cluster import (
    CONFIG_MAP,
    NAMESPACE,
    PERSISTENT_VOLUME,
    PERSISTENT_VOLUME_CLAIM,
    POD,
    VOLUME_SNAPSHOT,
    VOLUME_SNAPSHOT_CONTENT,
    Cluster,
    KubeObject,
)
from snapbridge.models import ConsistencyGroup, PodRef, VolumeRef
from snapbridge.sandbox import SNAPSHOT_CLASS, STORAGE_CLASS, SYSTEM_NAMESPACE

FROZEN_AT_CUT = "sandbox.snapbridge.io/frozen-at-cut"
CUT_AT = "sandbox.snapbridge.io/cut-at"
FREEZE_LOG = "sandbox-freeze-log"
FILES = 4

#: Appends i to f0..f3 in turn, forever: at every instant c0 >= c1 >= c2 >= c3 >= c0 - 1
#: (c = line count). A copy taken while it runs, file after file, breaks that; a frozen
#: volume keeps it.
WRITER = (
    'i=0; while [ ! -e "$1/stop" ]; do i=$((i+1)); '
    'for k in 0 1 2 3; do echo $i >> "$1/f$k"; done; done'
)


@contextmanager
def namespace(cluster: Cluster, prefix: str) -> Iterator[str]:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    cluster.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    try:
        yield name
    finally:
        cluster.delete(NAMESPACE, name)


def pvc(cluster: Cluster, ns: str, name: str, source: str | None = None) -> None:
    spec: dict[str, Any] = {
        "storageClassName": STORAGE_CLASS,
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
    }
    if source:
        spec["dataSource"] = {
            "apiGroup": "snapshot.storage.k8s.io",
            "kind": "VolumeSnapshot",
            "name": source,
        }
    body = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }
    cluster.create(PERSISTENT_VOLUME_CLAIM, body)


def pod(
    cluster: Cluster,
    ns: str,
    name: str,
    mounts: dict[str, str],
    annotations: dict[str, str] | None = None,
) -> PodRef:
    """A running pod with one container ``main`` mounting ``mounts`` (claim -> path)."""
    claims = list(mounts)
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "volumeMounts": [
                        {"name": f"v{i}", "mountPath": mounts[c]} for i, c in enumerate(claims)
                    ],
                }
            ],
            "volumes": [
                {"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}}
                for i, c in enumerate(claims)
            ],
            "terminationGracePeriodSeconds": 1,
        },
    }
    cluster.create(POD, body)
    obj = cluster.wait_for(
        POD, [name], ns, lambda p: (p.get("status") or {}).get("phase") == "Running", timeout=60
    )[name]
    meta = obj["metadata"]
    return PodRef(
        namespace=ns,
        name=name,
        uid=meta["uid"],
        annotations=meta.get("annotations") or {},
        labels=meta.get("labels") or {},
        containers=["main"],
        mounts={c: [p] for c, p in mounts.items()},
    )


def group(name: str, ns: str, pods: list[PodRef]) -> ConsistencyGroup:
    claims = sorted({c for p in pods for c in p.mounts})
    vols = [VolumeRef(namespace=ns, pvc=c, uid=c) for c in claims]
    return ConsistencyGroup(name=name, namespace=ns, volumes=vols, pods=pods)


def snapshot(cluster: Cluster, ns: str, name: str, claim: str) -> None:
    body = {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "volumeSnapshotClassName": SNAPSHOT_CLASS,
            "source": {"persistentVolumeClaimName": claim},
        },
    }
    cluster.create(VOLUME_SNAPSHOT, body)


def wait_cut(
    cluster: Cluster, ns: str, names: list[str], timeout: float = 30
) -> dict[str, KubeObject]:
    """Wait until each snapshot is cut (``status.creationTime``); never for readyToUse."""
    return cluster.wait_for(
        VOLUME_SNAPSHOT,
        names,
        ns,
        lambda s: bool((s.get("status") or {}).get("creationTime")),
        timeout=timeout,
    )


def content_annotations(cluster: Cluster, snapshot: KubeObject) -> dict[str, str]:
    name = snapshot["status"]["boundVolumeSnapshotContentName"]
    deadline = time.monotonic() + 10
    while True:
        content = cluster.get(VOLUME_SNAPSHOT_CONTENT, name) or {}
        ann: dict[str, str] = content.get("metadata", {}).get("annotations") or {}
        if FROZEN_AT_CUT in ann or time.monotonic() > deadline:
            return ann
        time.sleep(0.1)


def volume_handle(cluster: Cluster, ns: str, claim: str) -> str:
    obj = cluster.wait_for(
        PERSISTENT_VOLUME_CLAIM,
        [claim],
        ns,
        lambda c: bool(c.get("spec", {}).get("volumeName")),
        timeout=30,
    )[claim]
    pv = cluster.get(PERSISTENT_VOLUME, obj["spec"]["volumeName"]) or {}
    return str(pv["spec"]["csi"]["volumeHandle"])


def freezes(
    cluster: Cluster,
    handle: str,
    until: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 30,
) -> list[dict[str, Any]]:
    """The freeze log entries of a volume, once ``until`` holds for them (the log is debounced)."""
    deadline = time.monotonic() + timeout
    while True:
        cm = cluster.get(CONFIG_MAP, FREEZE_LOG, SYSTEM_NAMESPACE) or {}
        entries = [
            e
            for e in json.loads((cm.get("data") or {}).get("freezes.json", "[]"))
            if e["volumeHandle"] == handle
        ]
        if until(entries) or time.monotonic() > deadline:
            return entries
        time.sleep(0.2)


def line_counts(cluster: Cluster, ns: str, pod_name: str, path: str) -> list[int]:
    out = cluster.exec(
        ns, pod_name, "main", ["wc", "-l", *(f"{path}/f{k}" for k in range(FILES))], timeout=30
    )
    assert out.exit_code == 0, out
    return [int(line.split()[0]) for line in out.stdout.splitlines()[:FILES]]


def consistent(counts: list[int]) -> bool:
    return all(a >= b for a, b in itertools.pairwise(counts)) and counts[-1] >= counts[0] - 1


class Writer:
    """The continuous writer, running in its pod through one long exec."""

    def __init__(self, cluster: Cluster, ns: str, pod_name: str, path: str) -> None:
        self.cluster, self.ns, self.pod, self.path = cluster, ns, pod_name, path
        argv = ["sh", "-c", WRITER, "writer", path]
        self.thread = threading.Thread(
            target=lambda: cluster.exec(ns, pod_name, "main", argv, timeout=300), daemon=True
        )

    def __enter__(self) -> Writer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            probe = self.cluster.exec(
                self.ns, self.pod, "main", ["test", "-s", f"{self.path}/f3"], timeout=10
            )
            if probe.exit_code == 0:
                return self
            time.sleep(0.1)
        raise TimeoutError("the writer did not start")

    def __exit__(self, *exc: object) -> None:
        self.cluster.exec(self.ns, self.pod, "main", ["touch", f"{self.path}/stop"], timeout=60)
        self.thread.join(timeout=30)
