"""The snapshot-controller side of group snapshots.

A dynamic VolumeGroupSnapshot (``spec.source.selector`` over PVCs of its namespace) gets the
content ``groupsnapcontent-<vgs uid>``; a pre-provisioned one binds the named content. Once
the group content is ready, every member gets (upstream naming, ``sha256(vgs uid + volume
handle)`` in hex) a pre-provisioned VolumeSnapshotContent ``snapcontent-<hash>`` and a
VolumeSnapshot ``snapshot-<hash>`` owned by the group, labelled
``groupsnapshot.storage.k8s.io/volumeGroupSnapshotName=<group>``, annotated with its source
PVC (``sandbox.snapbridge.io/source-pvc``), with ``status.volumeGroupSnapshotName``. The group
is ``readyToUse`` when its content and every member snapshot are.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from ._config import ANN_SOURCE_PVC
from ._groupsnapshotter import (
    GROUP_CONTENT_FINALIZER,
    GROUP_FINALIZER,
    GroupApi,
    selector_string,
)
from ._kube import GROUP_GROUP, SNAP_GROUP, ApiException, Kube, Obj, informer, meta
from ._model import DRIVER, Cluster
from ._provisioner import emit_event, volume_handle_of_pvc
from ._queue import Key, Waiters, WorkQueue, run_workers
from ._snapshots import pick_class
from ._snapshotter import VSC, error_status, vs_path

MEMBER_LABEL = f"{GROUP_GROUP}/volumeGroupSnapshotName"


class GroupController:
    def __init__(
        self, kubeconfig: Path, cluster: Cluster, api: GroupApi, stop: threading.Event
    ) -> None:
        self.kubeconfig, self.cluster, self.api, self.stop = kubeconfig, cluster, api, stop
        self.queue = WorkQueue()
        self.waiters = Waiters(self.queue)  # namespace -> groups waiting for their PVCs

    def start(self) -> list[threading.Thread]:
        kc, stop = self.kubeconfig, self.stop

        def on_vgs(_: str, obj: Obj) -> None:
            self.queue.add(("vgs", meta(obj)["namespace"], meta(obj)["name"]))

        def on_content(_: str, obj: Obj) -> None:
            ref = (obj.get("spec") or {}).get("volumeGroupSnapshotRef") or {}
            if ref.get("name") and ref.get("namespace"):
                self.queue.add(("vgs", ref["namespace"], ref["name"]))

        def on_member(_: str, obj: Obj) -> None:
            group = (meta(obj).get("labels") or {}).get(MEMBER_LABEL)
            if group:
                self.queue.add(("vgs", meta(obj)["namespace"], group))

        def on_pvc(_: str, obj: Obj) -> None:
            self.waiters.wake((meta(obj)["namespace"],))

        vs_all = f"/apis/{SNAP_GROUP}/v1/volumesnapshots"
        return [
            informer(kc, f"{self.api.base}/volumegroupsnapshots", on_vgs, stop, name="gctl-vgs"),
            informer(kc, self.api.contents, on_content, stop, name="gctl-vgsc"),
            informer(kc, vs_all, on_member, stop, name="gctl-vs", labelSelector=MEMBER_LABEL),
            informer(kc, "/api/v1/persistentvolumeclaims", on_pvc, stop, name="gctl-pvc"),
            *run_workers(kc, self.queue, self.reconcile, name="gctl"),
        ]

    def _status(self, kube: Kube, vgs: Obj, status: Obj) -> None:
        kube.patch(
            self.api.vgs(meta(vgs)["namespace"], meta(vgs)["name"]) + "/status", {"status": status}
        )

    def _error(self, kube: Kube, vgs: Obj, message: str) -> None:
        if ((vgs.get("status") or {}).get("error") or {}).get("message") != message:
            self._status(kube, vgs, {"readyToUse": False, "error": error_status(message)})
            emit_event(kube, vgs, "GroupSnapshotFailed", message)

    def reconcile(self, kube: Kube, key: Key) -> float | None:  # noqa: PLR0911
        ns, name = key[1], key[2]
        vgs = kube.get(self.api.vgs(ns, name))
        if vgs is None:
            return None
        md, source = meta(vgs), (vgs.get("spec") or {}).get("source") or {}
        dynamic = "selector" in source
        content_name = (
            f"groupsnapcontent-{md['uid']}"
            if dynamic
            else source.get("volumeGroupSnapshotContentName")
        )
        if md.get("deletionTimestamp"):
            self._deleting(kube, vgs, content_name)
            return None
        if kube.add_finalizer(self.api.vgs(ns, name), vgs, GROUP_FINALIZER) is None:
            return None
        cpath = f"{self.api.contents}/{content_name}"
        content = kube.get(cpath) if content_name else None
        if content is None and dynamic:
            return self._create_content(kube, vgs, str(content_name), source["selector"] or {})
        if content is None:
            self._error(kube, vgs, f"VolumeGroupSnapshotContent {content_name} is missing")
            return None
        ref = (content.get("spec") or {}).get("volumeGroupSnapshotRef") or {}
        if (ref.get("namespace"), ref.get("name")) != (ns, name):
            self._error(kube, vgs, f"VolumeGroupSnapshotContent {content_name} is bound elsewhere")
            return None
        if not ref.get("uid"):
            kube.patch(cpath, {"spec": {"volumeGroupSnapshotRef": {"uid": md["uid"]}}})
        kube.add_finalizer(cpath, content, GROUP_CONTENT_FINALIZER)
        cs = content.get("status") or {}
        try:
            members_ready = bool(cs.get("readyToUse")) and self._members(kube, vgs, content)
        except ApiException as exc:
            if exc.status == 403:  # e.g. the namespace is terminating: nothing left to do
                return None
            raise
        want: dict[str, Any] = {"readyToUse": members_ready}
        if cs.get("creationTime"):
            want["boundVolumeGroupSnapshotContentName"] = content_name
            want["creationTime"] = cs["creationTime"]
        if cs.get("error"):
            want["error"] = cs["error"]
        current = vgs.get("status") or {}
        if any(current.get(k) != v for k, v in want.items()):
            self._status(kube, vgs, want)
        return None

    def _create_content(self, kube: Kube, vgs: Obj, content_name: str, sel: Obj) -> float | None:
        md, spec = meta(vgs), vgs.get("spec") or {}
        ns = md["namespace"]
        self.waiters.expect((ns,), ("vgs", ns, md["name"]))
        pvcs = (
            kube.list(
                f"/api/v1/namespaces/{ns}/persistentvolumeclaims",
                labelSelector=selector_string(sel) or None,
            ).get("items")
            or []
        )
        handles = [volume_handle_of_pvc(kube, ns, meta(p)["name"]) for p in pvcs]
        if not pvcs or None in handles:
            if not pvcs:
                self._error(kube, vgs, "no PersistentVolumeClaim matches the selector")
            return 10.0
        cls = pick_class(kube, spec.get("volumeGroupSnapshotClassName"), self.api.classes)
        if isinstance(cls, str):
            self._error(kube, vgs, cls)
            return None
        if not spec.get("volumeGroupSnapshotClassName"):
            patch = {"spec": {"volumeGroupSnapshotClassName": meta(cls)["name"]}}
            kube.patch(self.api.vgs(ns, md["name"]), patch)
        body = {
            "apiVersion": f"{GROUP_GROUP}/{self.api.version}",
            "kind": "VolumeGroupSnapshotContent",
            "metadata": {"name": content_name, "finalizers": [GROUP_CONTENT_FINALIZER]},
            "spec": {
                "deletionPolicy": cls.get("deletionPolicy") or "Delete",
                "driver": DRIVER,
                "source": {"volumeHandles": sorted(str(h) for h in handles)},
                "volumeGroupSnapshotClassName": meta(cls)["name"],
                "volumeGroupSnapshotRef": {
                    "apiVersion": f"{GROUP_GROUP}/{self.api.version}",
                    "kind": "VolumeGroupSnapshot",
                    "name": md["name"],
                    "namespace": ns,
                    "uid": md["uid"],
                },
            },
        }
        kube.create(self.api.contents, body)
        self._status(kube, vgs, {"readyToUse": False, "error": None})
        return None

    def _members(self, kube: Kube, vgs: Obj, content: Obj) -> bool:
        """Ensure one VolumeSnapshot(+Content) per member; True when all are ready."""
        md, ns = meta(vgs), meta(vgs)["namespace"]
        policy = (content.get("spec") or {}).get("deletionPolicy") or "Delete"
        ready = True
        for info in (content.get("status") or {}).get("volumeSnapshotInfoList") or []:
            digest = hashlib.sha256((md["uid"] + info["volumeHandle"]).encode()).hexdigest()
            vs_name, c_name = f"snapshot-{digest}", f"snapcontent-{digest}"
            pv = kube.get(f"/api/v1/persistentvolumes/{info['volumeHandle']}") or {}
            pvc = ((pv.get("spec") or {}).get("claimRef") or {}).get("name", "")
            kube.create(
                VSC,
                {
                    "apiVersion": f"{SNAP_GROUP}/v1",
                    "kind": "VolumeSnapshotContent",
                    "metadata": {"name": c_name, "annotations": {ANN_SOURCE_PVC: f"{ns}/{pvc}"}},
                    "spec": {
                        "deletionPolicy": policy,
                        "driver": DRIVER,
                        "source": {"snapshotHandle": info["snapshotHandle"]},
                        "sourceVolumeMode": "Filesystem",
                        "volumeSnapshotRef": {
                            "apiVersion": f"{SNAP_GROUP}/v1",
                            "kind": "VolumeSnapshot",
                            "name": vs_name,
                            "namespace": ns,
                        },
                    },
                },
            )
            owner = {
                "apiVersion": f"{GROUP_GROUP}/{self.api.version}",
                "kind": "VolumeGroupSnapshot",
                "name": md["name"],
                "uid": md["uid"],
                "controller": True,
            }
            vs = (
                kube.create(
                    f"/apis/{SNAP_GROUP}/v1/namespaces/{ns}/volumesnapshots",
                    {
                        "apiVersion": f"{SNAP_GROUP}/v1",
                        "kind": "VolumeSnapshot",
                        "metadata": {
                            "name": vs_name,
                            "namespace": ns,
                            "ownerReferences": [owner],
                            "labels": {MEMBER_LABEL: md["name"]},
                            "annotations": {ANN_SOURCE_PVC: pvc},
                        },
                        "spec": {"source": {"volumeSnapshotContentName": c_name}},
                    },
                )
                or kube.get(vs_path(ns, vs_name))
                or {}
            )
            status = vs.get("status") or {}
            if status.get("volumeGroupSnapshotName") != md["name"]:
                kube.patch(
                    vs_path(ns, vs_name) + "/status",
                    {"status": {"volumeGroupSnapshotName": md["name"]}},
                )
            ready = ready and bool(status.get("readyToUse"))
        return ready

    def _deleting(self, kube: Kube, vgs: Obj, content_name: str | None) -> None:
        md, ns = meta(vgs), meta(vgs)["namespace"]
        cpath = f"{self.api.contents}/{content_name}"
        content = kube.get(cpath) if content_name else None
        ref = ((content or {}).get("spec") or {}).get("volumeGroupSnapshotRef") or {}
        mine = content is not None and ref.get("uid") in (md["uid"], None, "")
        policy = ((content or {}).get("spec") or {}).get("deletionPolicy")
        members = (
            kube.list(
                f"/apis/{SNAP_GROUP}/v1/namespaces/{ns}/volumesnapshots",
                labelSelector=f"{MEMBER_LABEL}={md['name']}",
            ).get("items")
            or []
        )
        for vs in members:
            owners = meta(vs).get("ownerReferences") or []
            if not any(o.get("uid") == md["uid"] for o in owners):
                continue
            if mine and policy != "Delete":
                c = ((vs.get("spec") or {}).get("source") or {}).get("volumeSnapshotContentName")
                kube.patch(f"{VSC}/{c}", {"spec": {"deletionPolicy": "Retain"}})
            kube.delete(vs_path(ns, meta(vs)["name"]))
        if content is not None and mine:
            if policy == "Delete" and not meta(content).get("deletionTimestamp"):
                kube.delete(cpath)
            elif policy != "Delete":
                kube.remove_finalizer(cpath, content, GROUP_CONTENT_FINALIZER)
        kube.remove_finalizer(self.api.vgs(ns, md["name"]), vgs, GROUP_FINALIZER)
