"""The simulated node ``sim-node``: registration, heartbeats, and a scheduler binding pods to it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ._kube import ConflictException, Kube, Obj, informer, log, meta, now_rfc3339
from ._model import NODE_NAME, Cluster
from ._provisioner import SELECTED_NODE, emit_event, storage_class
from ._queue import Key, Waiters, WorkQueue, run_workers

LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
RESOURCES = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}


def _micro_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def node_status(port: int) -> Obj:
    now = now_rfc3339()

    def cond(kind: str, status: str, reason: str) -> Obj:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": reason,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }

    return {
        "addresses": [
            {"type": "InternalIP", "address": "127.0.0.1"},
            {"type": "Hostname", "address": NODE_NAME},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        "capacity": RESOURCES,
        "allocatable": RESOURCES,
        "conditions": [
            cond("Ready", "True", "KubeletReady"),
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID"),
        ],
        "nodeInfo": {
            "architecture": "amd64",
            "operatingSystem": "linux",
            "osImage": "snapbridge sandbox",
            "kernelVersion": "sandbox",
            "kubeletVersion": "v1.20.2",
            "kubeProxyVersion": "v1.20.2",
            "containerRuntimeVersion": "sandbox://1",
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
        },
    }


def register(kube: Kube, port: int) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "labels": {
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        },
        "spec": {},
    }
    kube.create("/api/v1/nodes", body)
    kube.patch(f"/api/v1/nodes/{NODE_NAME}/status", {"status": node_status(port)})
    lease = {
        "metadata": {"name": NODE_NAME},
        "spec": {"holderIdentity": NODE_NAME, "leaseDurationSeconds": 40},
    }
    kube.create(LEASES, lease)


def run_heartbeat(kubeconfig: Path, port: int, stop: threading.Event) -> threading.Thread:
    """Register the node, then renew its Lease every 10 s and its status every 30 s."""

    def run() -> None:
        kube = Kube(kubeconfig)
        last_status = 0.0
        try:
            while not stop.is_set():
                try:
                    if time.monotonic() - last_status > 30:
                        register(kube, port)
                        last_status = time.monotonic()
                    renew = {"spec": {"renewTime": _micro_now(), "holderIdentity": NODE_NAME}}
                    kube.patch(f"{LEASES}/{NODE_NAME}", renew)
                except Exception as exc:
                    log.warning("node heartbeat failed: %s", exc)
                stop.wait(10)
        finally:
            kube.close()

    kube = Kube(kubeconfig)
    try:
        register(kube, port)  # synchronously, so pods can be bound as soon as serve() runs
    except Exception as exc:
        log.warning("node registration failed (retrying): %s", exc)
    finally:
        kube.close()
    thread = threading.Thread(target=run, name="node-heartbeat", daemon=True)
    thread.start()
    return thread


def volumes_bound(kube: Kube, pod: Obj, select_node: bool) -> bool:
    """True when every PVC of the pod is Bound (optionally marking WFFC claims for this node)."""
    ns, ok = meta(pod)["namespace"], True
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
        if not claim:
            continue
        path = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}"
        pvc = kube.get(path)
        if pvc is None:
            ok = False
            continue
        if (pvc.get("status") or {}).get("phase") == "Bound":
            continue
        ok = False
        if select_node and not (meta(pvc).get("annotations") or {}).get(SELECTED_NODE):
            sc = storage_class(kube, (pvc.get("spec") or {}).get("storageClassName"))
            if (sc or {}).get("volumeBindingMode") == "WaitForFirstConsumer":
                kube.patch(path, {"metadata": {"annotations": {SELECTED_NODE: NODE_NAME}}})
    return ok


class Scheduler:
    """Binds pending default-scheduler pods to ``sim-node`` once their claims are bound."""

    def __init__(self, kubeconfig: Path, cluster: Cluster, stop: threading.Event) -> None:
        self.kubeconfig, self.cluster, self.stop = kubeconfig, cluster, stop
        self.queue = WorkQueue()
        self.waiters = Waiters(self.queue)

    def start(self) -> list[threading.Thread]:
        kc, stop = self.kubeconfig, self.stop

        def on_pod(_: str, obj: Obj) -> None:
            self.queue.add(("pod", meta(obj)["namespace"], meta(obj)["name"]))

        def on_pvc(_: str, obj: Obj) -> None:
            self.waiters.wake((meta(obj)["namespace"],))

        return [
            informer(
                kc, "/api/v1/pods", on_pod, stop, name="sched-pod", fieldSelector="spec.nodeName="
            ),
            informer(kc, "/api/v1/persistentvolumeclaims", on_pvc, stop, name="sched-pvc"),
            *run_workers(kc, self.queue, self.reconcile, name="scheduler"),
        ]

    def reconcile(self, kube: Kube, key: Key) -> float | None:
        ns, name = key[1], key[2]
        pod = kube.get(f"/api/v1/namespaces/{ns}/pods/{name}")
        if pod is None or meta(pod).get("deletionTimestamp"):
            return None
        spec = pod.get("spec") or {}
        if spec.get("nodeName") or spec.get("schedulerName", "default-scheduler") != (
            "default-scheduler"
        ):
            return None
        self.waiters.expect((ns,), key)
        if not volumes_bound(kube, pod, select_node=True):
            return 10.0
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": ns, "uid": meta(pod)["uid"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME},
        }
        try:
            kube.request("POST", f"/api/v1/namespaces/{ns}/pods/{name}/binding", body=binding)
        except ConflictException:
            return None  # somebody else bound it
        emit_event(
            kube,
            pod,
            "Scheduled",
            f"Successfully assigned {ns}/{name} to {NODE_NAME}",
            warning=False,
        )
        return None
