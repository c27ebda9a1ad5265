"""Helpers for tests against the sandbox: exec, watch-based waits, object builders.

Every helper builds its own API client from the kubeconfig (one per call or per
:class:`Kube`), so they are safe to use from several threads.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes.client import CoreV1Api
from kubernetes.config import new_client_from_config
from kubernetes.stream import stream

from ._kube import SNAP_GROUP, ApiException, Kube, Obj, meta

STORAGE_CLASS = "sandbox-csi"
SNAPSHOT_CLASS = "sandbox-snapclass"
GROUP_CLASS = "sandbox-groupclass"
VS_API = f"/apis/{SNAP_GROUP}/v1"


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    returncode: int | None


def run_exec(
    kubeconfig: Path,
    namespace: str,
    pod: str,
    argv: list[str],
    *,
    container: str | None = None,
    timeout: float = 60,
    stdin: str | None = None,
) -> ExecResult:
    """Exec through the apiserver (websocket) with a dedicated ApiClient.

    ``stdin`` is sent then closed (the close needs the v5 channel protocol).
    """
    api = new_client_from_config(str(kubeconfig), persist_config=False)
    try:
        kwargs: dict[str, Any] = {"container": container} if container else {}
        resp = stream(
            CoreV1Api(api).connect_get_namespaced_pod_exec,
            pod,
            namespace,
            command=argv,
            stdin=stdin is not None,
            stdout=True,
            stderr=True,
            tty=False,
            _preload_content=False,
            **kwargs,
        )
        try:
            if stdin is not None:
                resp.write_stdin(stdin)
                resp.close_channel(0)
            resp.run_forever(timeout=timeout)
            if resp.is_open():
                raise TimeoutError(f"exec {argv} in {namespace}/{pod} took over {timeout}s")
            return ExecResult(resp.read_stdout(), resp.read_stderr(), resp.returncode)
        finally:
            resp.close()
            # websocket-client skips closing its socket once the server closed the websocket
            # (its `connected` flag is already False): shut it down explicitly.
            if getattr(resp.sock, "sock", None) is not None:
                resp.sock.shutdown()
    finally:
        api.close()


def wait_for(
    kube: Kube,
    collection: str,
    name: str,
    predicate: Callable[[Obj], bool],
    timeout: float = 60,
) -> Obj:
    """Watch ``collection`` until object ``name`` satisfies ``predicate``; return it."""
    deadline = time.monotonic() + timeout
    last: Obj | None = None
    selector = f"metadata.name={name}"
    while time.monotonic() < deadline:
        listing = kube.list(collection, fieldSelector=selector)
        items: list[Obj] = listing.get("items") or []
        for item in items:
            last = item
            if predicate(item):
                return item
        rv = str(meta(listing).get("resourceVersion", ""))
        remaining = max(1, int(deadline - time.monotonic()) + 1)
        try:
            for kind, obj in kube.watch(collection, rv, remaining, fieldSelector=selector):
                if kind in ("ADDED", "MODIFIED"):
                    last = obj
                    if predicate(obj):
                        return obj
                if time.monotonic() > deadline:
                    break
        except ApiException as exc:
            if exc.status != 410:
                raise
    raise TimeoutError(f"{collection}/{name} not as expected after {timeout}s; last: {last}")


def wait_gone(kube: Kube, path: str, timeout: float = 60) -> None:
    collection, _, name = path.rpartition("/")
    deadline = time.monotonic() + timeout
    while kube.get(path) is not None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} still exists after {timeout}s: {kube.get(path)}")
        try:
            for kind, _obj in kube.watch(
                collection, _list_rv(kube, collection), 2, fieldSelector=f"metadata.name={name}"
            ):
                if kind == "DELETED":
                    return
        except ApiException as exc:
            if exc.status != 410:
                raise


def _list_rv(kube: Kube, collection: str) -> str:
    return str(meta(kube.list(collection, limit=1)).get("resourceVersion", ""))


@contextmanager
def namespace(kube: Kube, prefix: str = "t") -> Iterator[str]:
    """A fresh namespace, deleted (without waiting) afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kube.create("/api/v1/namespaces", {"metadata": {"name": name}})
    try:
        yield name
    finally:
        kube.delete(f"/api/v1/namespaces/{name}")


def pvc(
    kube: Kube,
    ns: str,
    name: str,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    data_source: Obj | None = None,
    size: str = "1Gi",
) -> Obj:
    spec: Obj = {
        "storageClassName": STORAGE_CLASS,
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if data_source:
        spec["dataSource"] = data_source
    body = {
        "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
        "spec": spec,
    }
    out: Obj = kube.request("POST", f"/api/v1/namespaces/{ns}/persistentvolumeclaims", body=body)
    return out


def pod(kube: Kube, ns: str, name: str, mounts: dict[str, str], image: str = "busybox") -> Obj:
    """A one-container pod mounting each claim of ``mounts`` (claim -> mountPath)."""
    volumes = [
        {"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}} for i, c in enumerate(mounts)
    ]
    vmounts = [{"name": f"v{i}", "mountPath": p} for i, p in enumerate(mounts.values())]
    body = {
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "main", "image": image, "volumeMounts": vmounts}],
            "volumes": volumes,
            "terminationGracePeriodSeconds": 5,
        },
    }
    out: Obj = kube.request("POST", f"/api/v1/namespaces/{ns}/pods", body=body)
    return out


def running_pod(kube: Kube, ns: str, name: str, mounts: dict[str, str]) -> Obj:
    pod(kube, ns, name, mounts)
    return wait_for(
        kube,
        f"/api/v1/namespaces/{ns}/pods",
        name,
        lambda p: (p.get("status") or {}).get("phase") == "Running",
    )


def snapshot(
    kube: Kube, ns: str, name: str, claim: str, annotations: dict[str, str] | None = None
) -> Obj:
    body = {
        "apiVersion": f"{SNAP_GROUP}/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "volumeSnapshotClassName": SNAPSHOT_CLASS,
            "source": {"persistentVolumeClaimName": claim},
        },
    }
    out: Obj = kube.request("POST", f"{VS_API}/namespaces/{ns}/volumesnapshots", body=body)
    return out


def status_of(obj: Obj) -> Obj:
    s = obj.get("status") or {}
    return s if isinstance(s, dict) else {}
