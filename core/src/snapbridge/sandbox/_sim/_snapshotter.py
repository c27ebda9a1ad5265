"""The CSI snapshotter side: cuts, readiness and deletion of VolumeSnapshotContents.

A dynamic content (``spec.source.volumeHandle``) is cut ``cutLatencySeconds`` after it is
first seen: the volume directory is copied to ``<state>/snapshots/<snapshotHandle>/`` at the
cut instant, the content is annotated with the frozen state observed at that instant, and
``status.{snapshotHandle,creationTime,restoreSize}`` are written through ``/status``.
``readyToUse`` follows ``readyLatencySeconds`` later. A pre-provisioned content
(``spec.source.snapshotHandle``) becomes ready when that handle's bytes exist, else gets
``status.error``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ._config import ANN_CUT_AT, ANN_FROZEN_AT_CUT, read_knobs
from ._kube import (
    SNAP_GROUP,
    Kube,
    Obj,
    informer,
    meta,
    now_rfc3339,
    quantity_bytes,
    rfc3339_micro,
)
from ._model import Cluster
from ._queue import Key, WorkQueue, run_workers

VSC = f"/apis/{SNAP_GROUP}/v1/volumesnapshotcontents"
CONTENT_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
VS_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"


def vs_path(ns: str, name: str) -> str:
    return f"/apis/{SNAP_GROUP}/v1/namespaces/{ns}/volumesnapshots/{name}"


def error_status(message: str) -> Obj:
    return {"message": message, "time": now_rfc3339()}


def volume_bytes(kube: Kube, handle: str, fallback: int) -> int:
    """The capacity of the PV behind ``handle`` (the sandbox names PVs after their handle)."""
    pv = kube.get(f"/api/v1/persistentvolumes/{handle}") or {}
    size = ((pv.get("spec") or {}).get("capacity") or {}).get("storage")
    return quantity_bytes(str(size)) if size else fallback


class Snapshotter:
    def __init__(self, kubeconfig: Path, cluster: Cluster, stop: threading.Event) -> None:
        self.kubeconfig = kubeconfig
        self.cluster = cluster
        self.layout = cluster.layout
        self.stop = stop
        self.queue = WorkQueue()
        self.first_seen: dict[str, float] = {}
        self.ready_at: dict[str, float | None] = {}

    def start(self) -> list[threading.Thread]:
        return [
            informer(self.kubeconfig, VSC, self._on_content, self.stop, name="snapshotter"),
            *run_workers(
                self.kubeconfig, self.queue, self.reconcile, name="snapshotter", workers=8
            ),
        ]

    def _on_content(self, _: str, obj: Obj) -> None:
        self.queue.add(("vsc", meta(obj)["name"]))

    def reconcile(self, kube: Kube, key: Key) -> float | None:  # noqa: PLR0911
        content = kube.get(f"{VSC}/{key[1]}")
        if content is None:
            return None
        md, spec = meta(content), content.get("spec") or {}
        ref = spec.get("volumeSnapshotRef") or {}
        vs = kube.get(vs_path(ref.get("namespace", ""), ref.get("name", ""))) if ref else None
        vs_alive = vs is not None and (not ref.get("uid") or meta(vs)["uid"] == ref["uid"])
        source = spec.get("source") or {}
        handle = (content.get("status") or {}).get("snapshotHandle") or source.get("snapshotHandle")
        if md.get("deletionTimestamp"):
            if vs_alive and not meta(vs or {}).get("deletionTimestamp"):
                return None  # still bound to a live snapshot
            if spec.get("deletionPolicy") == "Delete" and handle:
                self.layout.remove_snapshot(handle)
            kube.remove_finalizer(f"{VSC}/{md['name']}", content, CONTENT_FINALIZER)
            self.first_seen.pop(md["uid"], None)
            self.ready_at.pop(md["uid"], None)
            return None
        if ref.get("uid") and not vs_alive:
            if spec.get("deletionPolicy") == "Delete":
                kube.delete(f"{VSC}/{md['name']}", {"preconditions": {"uid": md["uid"]}})
            else:
                kube.remove_finalizer(f"{VSC}/{md['name']}", content, CONTENT_FINALIZER)
            return None
        if source.get("volumeHandle"):
            return self._dynamic(kube, content, vs)
        if source.get("snapshotHandle"):
            return self._pre_provisioned(kube, content)
        return None

    def _status(self, kube: Kube, content: Obj, status: Obj) -> None:
        kube.patch(f"{VSC}/{meta(content)['name']}/status", {"status": status})

    def _dynamic(self, kube: Kube, content: Obj, vs: Obj | None) -> float | None:  # noqa: PLR0911
        uid = meta(content)["uid"]
        status = content.get("status") or {}
        if status.get("error") or status.get("readyToUse"):
            return None
        now = time.monotonic()
        if not status.get("snapshotHandle"):
            first = self.first_seen.setdefault(uid, now)
            pvc = None
            pvc_name = (
                ((vs or {}).get("spec") or {}).get("source", {}).get("persistentVolumeClaimName")
            )
            if vs is not None and pvc_name:
                ns = meta(vs)["namespace"]
                pvc = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{pvc_name}")
            knobs = read_knobs(kube, pvc, vs)
            if first + knobs.cut_latency > now:
                return first + knobs.cut_latency - now
            volume = content["spec"]["source"]["volumeHandle"]
            if not knobs.error and not self.layout.volume(volume).is_dir():
                knobs = replace(knobs, error=f"source volume {volume} not found")
            if knobs.error:
                self._status(
                    kube, content, {"readyToUse": False, "error": error_status(knobs.error)}
                )
                return None
            self.cut(kube, content, vs)
            self.ready_at[uid] = (
                None if knobs.never_ready else time.monotonic() + knobs.ready_latency
            )
            return None if knobs.never_ready else knobs.ready_latency
        if uid not in self.ready_at:  # restarted since the cut: re-read the knobs
            knobs = read_knobs(kube, vs)
            self.ready_at[uid] = None if knobs.never_ready else now
        due = self.ready_at[uid]
        if due is None:
            return None
        if due > now:
            return due - now
        self._status(kube, content, {"readyToUse": True})
        return None

    def cut(self, kube: Kube, content: Obj, vs: Obj | None) -> None:
        """Copy the volume's bytes now and publish the cut."""
        md, spec = meta(content), content.get("spec") or {}
        volume = spec["source"]["volumeHandle"]
        handle = f"snapshot-{md['uid']}"
        with self.cluster.lock:  # no freeze/thaw can interleave with the copy
            frozen = self.cluster.is_frozen(volume)
            cut_at = time.time()
            copied = self.layout.copy_tree(self.layout.volume(volume), self.layout.snapshot(handle))
        restore = volume_bytes(kube, volume, copied)
        creation_ns = int(cut_at * 1e9)
        self.layout.write_snapshot_meta(
            handle,
            {"creationTime": creation_ns, "restoreSize": restore, "volumeHandle": volume},
        )
        ann = {ANN_FROZEN_AT_CUT: str(frozen).lower(), ANN_CUT_AT: rfc3339_micro(cut_at)}
        kube.patch(f"{VSC}/{md['name']}", {"metadata": {"annotations": ann}})
        status = {
            "snapshotHandle": handle,
            "creationTime": creation_ns,
            "restoreSize": restore,
            "readyToUse": False,
        }
        self._status(kube, content, status)
        self.cluster.log.cut(
            {
                "content": md["name"],
                "snapshot": _ref_name(vs),
                "volumeHandle": volume,
                "snapshotHandle": handle,
                "cutAt": rfc3339_micro(cut_at),
                "frozen": frozen,
                "bytes": copied,
            }
        )

    def _pre_provisioned(self, kube: Kube, content: Obj) -> float | None:
        spec, status = content.get("spec") or {}, content.get("status") or {}
        if status.get("readyToUse"):
            return None
        handle = spec["source"]["snapshotHandle"]
        info = self.layout.snapshot_meta(handle)
        if info is None:
            if not status.get("error"):
                msg = f"snapshot handle {handle} not found on driver {spec.get('driver')}"
                self._status(kube, content, {"readyToUse": False, "error": error_status(msg)})
            return 5.0  # the driver's bytes are not API objects: look again later
        new: dict[str, Any] = {
            "snapshotHandle": handle,
            "creationTime": info["creationTime"],
            "restoreSize": info["restoreSize"],
            "readyToUse": True,
            "error": None,
        }
        if info.get("groupSnapshotHandle"):
            new["volumeGroupSnapshotHandle"] = info["groupSnapshotHandle"]
        self._status(kube, content, new)
        return None


def _ref_name(vs: Obj | None) -> str | None:
    return None if vs is None else f"{meta(vs)['namespace']}/{meta(vs)['name']}"
