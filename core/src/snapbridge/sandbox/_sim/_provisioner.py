"""CSI external-provisioner for ``sandbox.csi.snapbridge.io``: PVC -> PV backed by a directory.

Every PVC whose StorageClass names the driver gets a PV ``pvc-<pvc uid>`` whose
``csi.volumeHandle`` is the same name and whose bytes live in ``<state>/volumes/<handle>/``.
The PV is pre-bound (``claimRef`` with the claim's uid); kube-controller-manager's PV binder
completes the binding. A ``dataSource``/``dataSourceRef`` naming a VolumeSnapshot fills the
volume from that snapshot's bytes once it is ready; one naming a PVC clones that PVC's bytes.
Released PVs with the Delete policy are deleted together with their directory.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from ._kube import SNAP_GROUP, Kube, Obj, informer, meta, now_rfc3339
from ._model import DRIVER, Cluster
from ._queue import Key, WorkQueue, run_workers

PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
DEFAULT_SC = "storageclass.kubernetes.io/is-default-class"
BIND_GRACE = 3.0  # seconds left to kube-controller-manager's PV binder


def emit_event(kube: Kube, obj: Obj, reason: str, message: str, warning: bool = True) -> None:
    md = meta(obj)
    ns = md.get("namespace") or "default"
    ts = now_rfc3339()
    body = {
        "metadata": {"generateName": f"{md.get('name')}.", "namespace": ns},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": md.get("name"),
            "namespace": md.get("namespace"),
            "uid": md.get("uid"),
        },
        "reason": reason,
        "message": message,
        "type": "Warning" if warning else "Normal",
        "source": {"component": DRIVER},
        "firstTimestamp": ts,
        "lastTimestamp": ts,
        "count": 1,
    }
    try:
        kube.create(f"/api/v1/namespaces/{ns}/events", body)
    except Exception:  # events are best effort
        return


def storage_class(kube: Kube, name: str | None) -> Obj | None:
    if name:
        return kube.get(f"/apis/storage.k8s.io/v1/storageclasses/{name}")
    items: list[Obj] = kube.list("/apis/storage.k8s.io/v1/storageclasses").get("items") or []
    defaults = [s for s in items if (meta(s).get("annotations") or {}).get(DEFAULT_SC) == "true"]
    return defaults[0] if defaults else None


def volume_handle_of_pvc(kube: Kube, ns: str, name: str) -> str | None:
    """The sandbox volume handle behind a bound PVC, or None."""
    pvc = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}")
    if not pvc or (pvc.get("status") or {}).get("phase") != "Bound":
        return None
    pv = kube.get(f"/api/v1/persistentvolumes/{pvc['spec'].get('volumeName')}")
    csi = ((pv or {}).get("spec") or {}).get("csi") or {}
    return str(csi["volumeHandle"]) if csi.get("driver") == DRIVER else None


class Provisioner:
    def __init__(self, kubeconfig: Path, cluster: Cluster, stop: threading.Event) -> None:
        self.kubeconfig = kubeconfig
        self.cluster = cluster
        self.layout = cluster.layout
        self.stop = stop
        self.queue = WorkQueue()
        self.lock = threading.Lock()
        self.waiters: dict[tuple[str, str, str], set[Key]] = {}
        self.unbound_since: dict[str, float] = {}

    def start(self) -> list[threading.Thread]:
        kc, stop = self.kubeconfig, self.stop
        return [
            informer(kc, "/api/v1/persistentvolumeclaims", self._on_pvc, stop, name="prov-pvc"),
            informer(kc, "/api/v1/persistentvolumes", self._on_pv, stop, name="prov-pv"),
            informer(
                kc, f"/apis/{SNAP_GROUP}/v1/volumesnapshots", self._on_vs, stop, name="prov-vs"
            ),
            *run_workers(kc, self.queue, self.reconcile, name="provisioner", workers=4),
        ]

    # -- events ----------------------------------------------------------------------
    def _wake(self, kind: str, ns: str, name: str) -> None:
        with self.lock:
            keys = self.waiters.pop((kind, ns, name), set())
        for key in keys:
            self.queue.add(key)

    def _on_pvc(self, _: str, obj: Obj) -> None:
        md = meta(obj)
        self.queue.add(("pvc", md["namespace"], md["name"]))
        self._wake("PersistentVolumeClaim", md["namespace"], md["name"])

    def _on_vs(self, _: str, obj: Obj) -> None:
        md = meta(obj)
        self._wake("VolumeSnapshot", md["namespace"], md["name"])

    def _on_pv(self, kind: str, obj: Obj) -> None:
        md = meta(obj)
        if (md.get("annotations") or {}).get(PROVISIONED_BY) != DRIVER:
            return
        spec = obj.get("spec") or {}
        if kind == "DELETED":
            handle = (spec.get("csi") or {}).get("volumeHandle")
            if handle and spec.get("persistentVolumeReclaimPolicy") == "Delete":
                self.cluster.thaw(handle, reason="volume-deleted")
                shutil.rmtree(self.layout.volume(handle), ignore_errors=True)
            return
        self.queue.add(("pv", md["name"]))
        claim = spec.get("claimRef") or {}
        if claim.get("namespace"):
            self.queue.add(("pvc", claim["namespace"], claim["name"]))

    # -- reconcile -------------------------------------------------------------------
    def reconcile(self, kube: Kube, key: Key) -> float | None:
        if key[0] == "pv":
            return self._reconcile_pv(kube, key[1])
        return self._reconcile_pvc(kube, key[1], key[2])

    def _reconcile_pv(self, kube: Kube, name: str) -> float | None:
        pv = kube.get(f"/api/v1/persistentvolumes/{name}")
        if pv is None or meta(pv).get("deletionTimestamp"):
            return None
        spec = pv.get("spec") or {}
        released = (pv.get("status") or {}).get("phase") in ("Released", "Failed")
        if released and spec.get("persistentVolumeReclaimPolicy") == "Delete":
            handle = (spec.get("csi") or {}).get("volumeHandle")
            if handle:
                shutil.rmtree(self.layout.volume(handle), ignore_errors=True)
            kube.delete(
                f"/api/v1/persistentvolumes/{name}",
                {"preconditions": {"uid": meta(pv)["uid"]}},
            )
        return None

    def _reconcile_pvc(self, kube: Kube, ns: str, name: str) -> float | None:  # noqa: PLR0911
        pvc = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}")
        if pvc is None or meta(pvc).get("deletionTimestamp"):
            return None
        spec = pvc.get("spec") or {}
        if spec.get("volumeName"):
            return self._ensure_bound(kube, pvc)
        sc = storage_class(kube, spec.get("storageClassName"))
        if sc is None or sc.get("provisioner") != DRIVER:
            return None
        wffc = sc.get("volumeBindingMode") == "WaitForFirstConsumer"
        if wffc and not (meta(pvc).get("annotations") or {}).get(SELECTED_NODE):
            return None
        pv_name = f"pvc-{meta(pvc)['uid']}"
        if kube.get(f"/api/v1/persistentvolumes/{pv_name}") is not None:
            return None
        dest = self.layout.volume(pv_name)
        source = spec.get("dataSourceRef") or spec.get("dataSource")
        if source:
            problem = self._fill(kube, ns, pvc, source, dest)
            if problem is not None:
                emit_event(kube, pvc, "ProvisioningFailed", problem)
                return 5.0  # the waiter index usually wakes it earlier
        else:
            dest.mkdir(parents=True, exist_ok=True)
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        body: Obj = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {PROVISIONED_BY: DRIVER}},
            "spec": {
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "capacity": {"storage": size},
                "csi": {"driver": DRIVER, "volumeHandle": pv_name, "volumeAttributes": {}},
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": ns,
                    "name": name,
                    "uid": meta(pvc)["uid"],
                    "resourceVersion": meta(pvc)["resourceVersion"],
                },
                "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                "storageClassName": meta(sc)["name"],
                "volumeMode": spec.get("volumeMode") or "Filesystem",
                "mountOptions": sc.get("mountOptions") or [],
            },
        }
        kube.create("/api/v1/persistentvolumes", body)
        # Pre-bind the claim too (allowed while its volumeName is empty): binding gets faster.
        claim_path = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}"
        kube.patch(claim_path, {"spec": {"volumeName": pv_name}})
        emit_event(kube, pvc, "ProvisioningSucceeded", f"provisioned volume {pv_name}", False)
        return None

    def _ensure_bound(self, kube: Kube, pvc: Obj) -> float | None:
        """kube-controller-manager completes the binding; without it, do it after a grace time."""
        md = meta(pvc)
        if (pvc.get("status") or {}).get("phase") == "Bound":
            self.unbound_since.pop(md["uid"], None)
            return None
        pv_name = pvc["spec"]["volumeName"]
        if pv_name != f"pvc-{md['uid']}":
            return None  # not one of ours
        since = self.unbound_since.setdefault(md["uid"], time.monotonic())
        if time.monotonic() - since < BIND_GRACE:
            return BIND_GRACE
        pv = kube.get(f"/api/v1/persistentvolumes/{pv_name}")
        if pv is None:
            return None
        kube.patch(f"/api/v1/persistentvolumes/{pv_name}/status", {"status": {"phase": "Bound"}})
        status = {
            "phase": "Bound",
            "accessModes": pv["spec"].get("accessModes"),
            "capacity": pv["spec"].get("capacity"),
        }
        path = f"/api/v1/namespaces/{md['namespace']}/persistentvolumeclaims/{md['name']}"
        kube.patch(f"{path}/status", {"status": status})
        return None

    def _fill(self, kube: Kube, ns: str, pvc: Obj, source: Obj, dest: Path) -> str | None:
        """Copy the data source into ``dest``; a message when it cannot (yet)."""
        kind, name = source.get("kind"), source.get("name", "")
        group = source.get("apiGroup") or ""
        src_ns = source.get("namespace") or ns
        key: Key = ("pvc", ns, meta(pvc)["name"])
        if kind == "VolumeSnapshot" and group == SNAP_GROUP:
            with self.lock:
                self.waiters.setdefault(("VolumeSnapshot", src_ns, name), set()).add(key)
            vs = kube.get(f"/apis/{SNAP_GROUP}/v1/namespaces/{src_ns}/volumesnapshots/{name}")
            status = (vs or {}).get("status") or {}
            if not status.get("readyToUse") or not status.get("boundVolumeSnapshotContentName"):
                return f"waiting for VolumeSnapshot {src_ns}/{name} to be ready"
            content = kube.get(
                f"/apis/{SNAP_GROUP}/v1/volumesnapshotcontents/"
                + status["boundVolumeSnapshotContentName"]
            )
            handle = ((content or {}).get("status") or {}).get("snapshotHandle")
            if not handle or not self.layout.snapshot(handle).is_dir():
                return f"snapshot bytes for {src_ns}/{name} not found"
            self.layout.copy_tree(self.layout.snapshot(handle), dest)
            return None
        if kind == "PersistentVolumeClaim" and not group:
            with self.lock:
                self.waiters.setdefault(("PersistentVolumeClaim", src_ns, name), set()).add(key)
            handle = volume_handle_of_pvc(kube, src_ns, name)
            if handle is None:
                return f"waiting for source PVC {src_ns}/{name} to be bound"
            self.layout.copy_tree(self.layout.volume(handle), dest)
            return None
        return f"unsupported data source {group}/{kind}"
