"""The snapshot-controller side: VolumeSnapshot <-> VolumeSnapshotContent binding and status.

A dynamic VolumeSnapshot (``spec.source.persistentVolumeClaimName``) gets the content
``snapcontent-<vs uid>``; a pre-provisioned one (``spec.source.volumeSnapshotContentName``)
binds to the named content when that content's ``volumeSnapshotRef`` names it. The
snapshot's status mirrors its content's (written through ``/status`` only). Deletion follows
the content's *current* ``deletionPolicy``: Delete removes the content (and its bytes), Retain
keeps both.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ._kube import SNAP_GROUP, Kube, Obj, informer, meta, now_rfc3339
from ._model import DRIVER, Cluster
from ._provisioner import emit_event, volume_handle_of_pvc
from ._queue import Key, Waiters, WorkQueue, run_workers
from ._snapshotter import CONTENT_FINALIZER, VS_FINALIZER, VSC, error_status, vs_path

CLASSES = f"/apis/{SNAP_GROUP}/v1/volumesnapshotclasses"
DEFAULT_CLASS = "snapshot.storage.kubernetes.io/is-default-class"


def quantity(n: int) -> str:
    for suffix, unit in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def ns_time(ns: int) -> str:
    return now_rfc3339(ns / 1e9)


def pick_class(kube: Kube, name: str | None, path: str) -> Obj | str:
    """The named class, else the driver's default (or its only) class; a message on failure."""
    if name:
        found = kube.get(f"{path}/{name}")
        return found if found is not None else f"class {name} not found"
    mine = [c for c in kube.list(path).get("items") or [] if c.get("driver") == DRIVER]
    defaults = [c for c in mine if (meta(c).get("annotations") or {}).get(DEFAULT_CLASS) == "true"]
    chosen: list[Obj] = defaults if len(defaults) == 1 else mine if not defaults else []
    if len(chosen) == 1:
        return chosen[0]
    return f"cannot find a default class for driver {DRIVER}"


class SnapshotController:
    def __init__(self, kubeconfig: Path, cluster: Cluster, stop: threading.Event) -> None:
        self.kubeconfig = kubeconfig
        self.cluster = cluster
        self.stop = stop
        self.queue = WorkQueue()
        self.waiters = Waiters(self.queue)  # (namespace, claim) -> snapshots waiting for it

    def start(self) -> list[threading.Thread]:
        kc, stop = self.kubeconfig, self.stop
        vs_all = f"/apis/{SNAP_GROUP}/v1/volumesnapshots"
        return [
            informer(kc, vs_all, self._on_vs, stop, name="snapctl-vs"),
            informer(kc, VSC, self._on_content, stop, name="snapctl-vsc"),
            informer(kc, "/api/v1/persistentvolumeclaims", self._on_pvc, stop, name="snapctl-pvc"),
            *run_workers(kc, self.queue, self.reconcile, name="snapctl", workers=8),
        ]

    def _on_vs(self, _: str, obj: Obj) -> None:
        self.queue.add(("vs", meta(obj)["namespace"], meta(obj)["name"]))

    def _on_content(self, _: str, obj: Obj) -> None:
        ref = (obj.get("spec") or {}).get("volumeSnapshotRef") or {}
        if ref.get("name") and ref.get("namespace"):
            self.queue.add(("vs", ref["namespace"], ref["name"]))

    def _on_pvc(self, _: str, obj: Obj) -> None:
        self.waiters.wake((meta(obj)["namespace"], meta(obj)["name"]))

    def _error(self, kube: Kube, vs: Obj, message: str) -> None:
        current = ((vs.get("status") or {}).get("error") or {}).get("message")
        if current != message:
            status = {"readyToUse": False, "error": error_status(message)}
            kube.patch(
                vs_path(meta(vs)["namespace"], meta(vs)["name"]) + "/status", {"status": status}
            )
            emit_event(kube, vs, "SnapshotFailed", message)

    def reconcile(self, kube: Kube, key: Key) -> float | None:  # noqa: PLR0911
        ns, name = key[1], key[2]
        vs = kube.get(vs_path(ns, name))
        if vs is None:
            return None
        md, source = meta(vs), (vs.get("spec") or {}).get("source") or {}
        dynamic = bool(source.get("persistentVolumeClaimName"))
        content_name = (
            f"snapcontent-{md['uid']}" if dynamic else source.get("volumeSnapshotContentName")
        )
        if md.get("deletionTimestamp"):
            self._deleting(kube, vs, content_name)
            return None
        if kube.add_finalizer(vs_path(ns, name), vs, VS_FINALIZER) is None:
            return None
        content = kube.get(f"{VSC}/{content_name}") if content_name else None
        if content is None and dynamic:
            return self._create_content(kube, vs, str(content_name))
        if content is None:
            self._error(kube, vs, f"VolumeSnapshotContent {content_name} is missing")
            return None
        ref = (content.get("spec") or {}).get("volumeSnapshotRef") or {}
        if (ref.get("namespace"), ref.get("name")) != (ns, name) or ref.get("uid") not in (
            None,
            "",
            md["uid"],
        ):
            self._error(kube, vs, f"VolumeSnapshotContent {content_name} is bound elsewhere")
            return None
        if not ref.get("uid"):
            patch = {"spec": {"volumeSnapshotRef": {"uid": md["uid"]}}}
            kube.patch(f"{VSC}/{content_name}", patch)
        kube.add_finalizer(f"{VSC}/{content_name}", content, CONTENT_FINALIZER)
        self._mirror(kube, vs, content)
        return None

    def _create_content(self, kube: Kube, vs: Obj, content_name: str) -> float | None:
        md, spec = meta(vs), vs.get("spec") or {}
        ns, pvc = md["namespace"], spec["source"]["persistentVolumeClaimName"]
        self.waiters.expect((ns, pvc), ("vs", ns, md["name"]))
        handle = volume_handle_of_pvc(kube, ns, pvc)
        if handle is None:
            return 10.0
        cls = pick_class(kube, spec.get("volumeSnapshotClassName"), CLASSES)
        if isinstance(cls, str):
            self._error(kube, vs, cls)
            return None
        cls_name = meta(cls)["name"]
        if not spec.get("volumeSnapshotClassName"):
            kube.patch(vs_path(ns, md["name"]), {"spec": {"volumeSnapshotClassName": cls_name}})
        body = {
            "apiVersion": f"{SNAP_GROUP}/v1",
            "kind": "VolumeSnapshotContent",
            "metadata": {"name": content_name, "finalizers": [CONTENT_FINALIZER]},
            "spec": {
                "deletionPolicy": cls.get("deletionPolicy") or "Delete",
                "driver": DRIVER,
                "source": {"volumeHandle": handle},
                "sourceVolumeMode": "Filesystem",
                "volumeSnapshotClassName": cls_name,
                "volumeSnapshotRef": {
                    "apiVersion": f"{SNAP_GROUP}/v1",
                    "kind": "VolumeSnapshot",
                    "name": md["name"],
                    "namespace": ns,
                    "uid": md["uid"],
                    "resourceVersion": md["resourceVersion"],
                },
            },
        }
        kube.create(VSC, body)
        status = vs.get("status") or {}
        if "readyToUse" not in status:
            kube.patch(vs_path(ns, md["name"]) + "/status", {"status": {"readyToUse": False}})
        return None

    def _mirror(self, kube: Kube, vs: Obj, content: Obj) -> None:
        cs, current = content.get("status") or {}, vs.get("status") or {}
        want: dict[str, Any] = {"readyToUse": bool(cs.get("readyToUse"))}
        if cs.get("creationTime") is not None:
            want["boundVolumeSnapshotContentName"] = meta(content)["name"]
            want["creationTime"] = ns_time(int(cs["creationTime"]))
        if cs.get("readyToUse") and cs.get("restoreSize") is not None:
            want["restoreSize"] = quantity(int(cs["restoreSize"]))
        if cs.get("error"):
            want["error"] = cs["error"]
        elif current.get("error") and cs.get("snapshotHandle"):
            want["error"] = None
        if any(current.get(k) != v for k, v in want.items()):
            md = meta(vs)
            kube.patch(vs_path(md["namespace"], md["name"]) + "/status", {"status": want})

    def _deleting(self, kube: Kube, vs: Obj, content_name: str | None) -> None:
        md = meta(vs)
        content = kube.get(f"{VSC}/{content_name}") if content_name else None
        if content is not None:
            ref = (content.get("spec") or {}).get("volumeSnapshotRef") or {}
            mine = ref.get("uid") in (md["uid"], None, "") and ref.get("name") == md["name"]
            policy = (content.get("spec") or {}).get("deletionPolicy")
            if mine and policy == "Delete" and not meta(content).get("deletionTimestamp"):
                kube.delete(f"{VSC}/{content_name}")
            elif mine and policy != "Delete":  # Retain: the content outlives its snapshot
                kube.remove_finalizer(f"{VSC}/{content_name}", content, CONTENT_FINALIZER)
        kube.remove_finalizer(vs_path(md["namespace"], md["name"]), vs, VS_FINALIZER)
