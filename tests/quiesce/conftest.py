"""A fake cluster with an fsfreeze-aware exec, for the exec_hooks plugin's unit tests."""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from snapbridge.cluster import CONFIG_MAP, POD, ExecResult, KubeObject, ResourceKind
from snapbridge.context import RunContext
from snapbridge.errors import ClusterAPIError
from snapbridge.models import ConsistencyGroup, PodRef, VolumeRef

Handler = Callable[[str, str, list[str], float], ExecResult | None]


@dataclass
class ExecCall:
    pod: str
    container: str | None
    argv: list[str]
    start: float
    end: float = 0.0
    lease_present: bool = False


@dataclass
class FakeCluster:
    """Objects in a dict; exec interprets ``fsfreeze`` and the self-thawing form, else asks
    ``handler`` (``None`` from it means exit 0)."""

    objects: dict[tuple[str, str | None, str], KubeObject] = field(default_factory=dict)
    frozen: dict[str, str] = field(default_factory=dict)  # "ns/pod:path" -> how
    calls: builtins.list[ExecCall] = field(default_factory=list)
    handler: Handler | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _key(
        self, kind: ResourceKind, name: str, namespace: str | None
    ) -> tuple[str, str | None, str]:
        return (kind.kind, namespace if kind.namespaced else None, name)

    def get(self, kind: ResourceKind, name: str, namespace: str | None = None) -> KubeObject | None:
        return self.objects.get(self._key(kind, name, namespace))

    def list(
        self, kind: ResourceKind, namespace: str | None = None, label_selector: str | None = None
    ) -> builtins.list[KubeObject]:
        out = []
        for (k, ns, _), obj in list(self.objects.items()):
            labels = obj.get("metadata", {}).get("labels") or {}
            wanted = k == kind.kind and (namespace is None or ns == namespace)
            if wanted and (label_selector is None or label_selector in labels):
                out.append(obj)
        return out

    def create(
        self, kind: ResourceKind, body: Mapping[str, Any], *, exist_ok: bool = True
    ) -> KubeObject:
        meta = body["metadata"]
        key = self._key(kind, meta["name"], meta.get("namespace"))
        if key in self.objects:
            if exist_ok:
                return self.objects[key]
            raise ClusterAPIError(f"{meta['name']} exists", status=409)
        obj = {**body, "metadata": {**meta, "uid": f"uid-{meta['name']}"}}
        self.objects[key] = obj
        return obj

    def patch(
        self,
        kind: ResourceKind,
        name: str,
        patch: Mapping[str, Any],
        namespace: str | None = None,
        *,
        status: bool = False,
    ) -> KubeObject:
        obj = self.objects[self._key(kind, name, namespace)]
        for k, v in patch.items():
            obj[k] = {**obj.get(k, {}), **v} if isinstance(v, dict) else v
        return obj

    def delete(self, kind: ResourceKind, name: str, namespace: str | None = None) -> bool:
        return self.objects.pop(self._key(kind, name, namespace), None) is not None

    def wait_for(self, *args: Any, **kwargs: Any) -> dict[str, KubeObject]:
        raise AssertionError("the exec_hooks plugin never waits on objects")

    def served_versions(self, group: str) -> builtins.list[str]:
        return []

    def leases(self) -> builtins.list[KubeObject]:
        return [o for (k, _, _), o in self.objects.items() if k == CONFIG_MAP.kind]

    def exec(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        argv: builtins.list[str],
        *,
        timeout: float,
    ) -> ExecResult:
        call = ExecCall(f"{namespace}/{pod}", container, list(argv), time.monotonic())
        call.lease_present = bool(self.leases())
        with self.lock:
            self.calls.append(call)
        try:
            return self._run(f"{namespace}/{pod}", argv, timeout)
        finally:
            call.end = time.monotonic()

    def _run(self, pod: str, argv: builtins.list[str], timeout: float) -> ExecResult:
        if self.handler is not None:
            out = self.handler(pod, argv[0], argv, timeout)
            if out is not None:
                return out
        if argv[:1] == ["sh"] and len(argv) == 6 and argv[3] == "fsfreeze-auto-thaw":
            argv = ["fsfreeze", "--freeze", argv[4]]
        if argv[:1] == ["fsfreeze"]:
            key = f"{pod}:{argv[-1]}"
            with self.lock:
                if argv[1] == "--freeze":
                    if key in self.frozen:
                        return ExecResult("", "busy", 1)
                    self.frozen[key] = "frozen"
                elif self.frozen.pop(key, None) is None:
                    return ExecResult("", "fsfreeze: unfreeze failed: Invalid argument", 1)
        return ExecResult("", "", 0)

    def calls_for(self, pod: str) -> builtins.list[ExecCall]:
        return [c for c in self.calls if c.pod == pod]


def pod_ref(
    name: str,
    pvcs: Iterable[str],
    annotations: dict[str, str] | None = None,
    *,
    namespace: str = "app",
    labels: dict[str, str] | None = None,
) -> PodRef:
    return PodRef(
        namespace=namespace,
        name=name,
        uid=f"uid-{name}",
        annotations=annotations or {},
        labels=labels or {},
        containers=["main", "sidecar"],
        mounts={p: [f"/{p}"] for p in pvcs},
    )


def group_of(*pods: PodRef, name: str = "g") -> ConsistencyGroup:
    pvcs = sorted({p for pod in pods for p in pod.mounts})
    vols = [VolumeRef(namespace="app", pvc=p, uid=f"u-{p}") for p in pvcs]
    return ConsistencyGroup(name=name, namespace="app", volumes=vols, pods=list(pods))


def add_pods(cluster: FakeCluster, group: ConsistencyGroup) -> None:
    for p in group.pods:
        cluster.create(
            POD,
            {
                "metadata": {"name": p.name, "namespace": p.namespace},
                "spec": {"containers": [{"name": c} for c in p.containers]},
            },
        )
        cluster.objects[(POD.kind, p.namespace, p.name)]["metadata"]["uid"] = p.uid


def fsfreeze(path: str, **extra: str) -> dict[str, str]:
    return {"snapbridge.io/fsfreeze": path, **extra}


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def ctx(cluster: FakeCluster) -> RunContext:
    return RunContext(run_id="r1", backend="csi", cluster=cluster)
