"""The kubelet's pod lifecycle: pods on ``sim-node`` go Running; deleted ones are finalized.

Images are never pulled and nothing runs until an exec arrives. A pod's volumes resolve to
directories: a PVC of the sandbox driver -> ``<state>/volumes/<handle>``; ``emptyDir``,
``hostPath`` (never the host's!) and projected volumes -> an empty per-pod directory;
``configMap`` / ``secret`` -> a per-pod directory holding their keys as files.
"""

from __future__ import annotations

import base64
import shutil
import threading
from pathlib import Path

from ._kube import Kube, Obj, informer, meta, now_rfc3339
from ._model import DRIVER, NODE_NAME, Cluster, Container, Mount, PodRuntime
from ._node import volumes_bound
from ._queue import Key, Waiters, WorkQueue, run_workers


class PodManager:
    def __init__(self, kubeconfig: Path, cluster: Cluster, stop: threading.Event) -> None:
        self.kubeconfig, self.cluster, self.stop = kubeconfig, cluster, stop
        self.layout = cluster.layout
        self.queue = WorkQueue()
        self.waiters = Waiters(self.queue)

    def start(self) -> list[threading.Thread]:
        kc, stop = self.kubeconfig, self.stop

        def on_pod(kind: str, obj: Obj) -> None:
            self.queue.add(("pod", meta(obj)["namespace"], meta(obj)["name"]))

        def on_pvc(_: str, obj: Obj) -> None:
            self.waiters.wake((meta(obj)["namespace"],))

        return [
            informer(
                kc,
                "/api/v1/pods",
                on_pod,
                stop,
                name="kubelet-pod",
                fieldSelector=f"spec.nodeName={NODE_NAME}",
            ),
            informer(kc, "/api/v1/persistentvolumeclaims", on_pvc, stop, name="kubelet-pvc"),
            *run_workers(kc, self.queue, self.reconcile, name="kubelet", workers=3),
        ]

    def reconcile(self, kube: Kube, key: Key) -> float | None:
        ns, name = key[1], key[2]
        path = f"/api/v1/namespaces/{ns}/pods/{name}"
        pod = kube.get(path)
        current = self.cluster.pod(ns, name)
        if pod is None or (current and current.uid != meta(pod)["uid"]):
            self.cluster.set_pod(ns, name, None)
            if current is not None:
                shutil.rmtree(self.layout.pods / current.uid, ignore_errors=True)
            if pod is None:
                return None
        uid = meta(pod)["uid"]
        if meta(pod).get("deletionTimestamp"):
            self.cluster.set_pod(ns, name, None)
            shutil.rmtree(self.layout.pods / uid, ignore_errors=True)
            kube.delete(path, {"gracePeriodSeconds": 0, "preconditions": {"uid": uid}})
            return None
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            return None
        self.waiters.expect((ns,), key)
        if not volumes_bound(kube, pod, select_node=False):
            return 10.0
        runtime = self._runtime(kube, pod)
        if runtime is None:
            return 1.0
        self.cluster.set_pod(ns, name, runtime)
        if status.get("phase") != "Running" or not status.get("podIP"):
            kube.patch(f"{path}/status", {"status": running_status(pod)})
        return None

    def _runtime(self, kube: Kube, pod: Obj) -> PodRuntime | None:
        md, spec = meta(pod), pod.get("spec") or {}
        ns, uid = md["namespace"], md["uid"]
        vols: dict[str, tuple[Path, str | None, bool]] = {}
        handle: str | None
        for vol in spec.get("volumes") or []:
            vname = vol["name"]
            private = self.layout.pods / uid / "volumes" / vname
            if "persistentVolumeClaim" in vol:
                src = vol["persistentVolumeClaim"]
                pvc = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{src['claimName']}")
                pv_name = ((pvc or {}).get("spec") or {}).get("volumeName")
                pv = kube.get(f"/api/v1/persistentvolumes/{pv_name}") if pv_name else None
                if pv is None:
                    return None
                csi = (pv.get("spec") or {}).get("csi") or {}
                if csi.get("driver") == DRIVER:
                    vh = str(csi["volumeHandle"])
                    vols[vname] = (self.layout.volume(vh), vh, bool(src.get("readOnly")))
                    continue
            private.mkdir(parents=True, exist_ok=True)
            if "configMap" in vol or "secret" in vol:
                self._project(kube, ns, vol, private)
            vols[vname] = (private, None, False)
        containers: dict[str, Container] = {}
        for c in spec.get("containers") or []:
            mounts = []
            for vm in c.get("volumeMounts") or []:
                if vm["name"] not in vols:
                    continue
                host, handle, ro = vols[vm["name"]]
                if vm.get("subPath"):
                    host = host / vm["subPath"]
                    host.mkdir(parents=True, exist_ok=True)
                mounts.append(Mount(vm["mountPath"], host, ro or bool(vm.get("readOnly")), handle))
            env = {e["name"]: str(e["value"]) for e in c.get("env") or [] if "value" in e}
            containers[c["name"]] = Container(c.get("image", ""), env, c.get("workingDir"), mounts)
        return PodRuntime(uid, containers, spec.get("hostname") or md["name"])

    @staticmethod
    def _project(kube: Kube, ns: str, vol: Obj, dest: Path) -> None:
        if "configMap" in vol:
            obj = kube.get(f"/api/v1/namespaces/{ns}/configmaps/{vol['configMap'].get('name')}")
            files = {k: v.encode() for k, v in ((obj or {}).get("data") or {}).items()}
        else:
            obj = kube.get(f"/api/v1/namespaces/{ns}/secrets/{vol['secret'].get('secretName')}")
            data = (obj or {}).get("data") or {}
            files = {k: base64.b64decode(v) for k, v in data.items()}
        for key, content in files.items():
            (dest / key).write_bytes(content)


def running_status(pod: Obj) -> Obj:
    now = now_rfc3339()
    uid = meta(pod)["uid"]
    spec = pod.get("spec") or {}

    def cond(kind: str) -> Obj:
        return {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}

    def container(c: Obj, init: bool) -> Obj:
        state = (
            {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "startedAt": now,
                    "finishedAt": now,
                }
            }
            if init
            else {"running": {"startedAt": now}}
        )
        return {
            "name": c["name"],
            "image": c.get("image", ""),
            "imageID": f"sandbox://{c.get('image', '')}",
            "containerID": f"sandbox://{uid}/{c['name']}",
            "ready": not init,
            "started": not init,
            "restartCount": 0,
            "state": state,
        }

    return {
        "phase": "Running",
        "conditions": [
            cond(t) for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ],
        "hostIP": "127.0.0.1",
        "podIP": "127.0.0.1",
        "podIPs": [{"ip": "127.0.0.1"}],
        "startTime": now,
        "containerStatuses": [container(c, False) for c in spec.get("containers") or []],
        "initContainerStatuses": [container(c, True) for c in spec.get("initContainers") or []],
    }
