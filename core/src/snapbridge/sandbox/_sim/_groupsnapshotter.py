"""The CSI snapshotter side of group snapshots: one cut instant for every member volume.

A dynamic VolumeGroupSnapshotContent (``spec.source.volumeHandles``) is cut
``cutLatencySeconds`` after it is first seen: every member volume is copied at the same
instant into ``<state>/snapshots/<member handle>/`` and the content's status gets
``volumeGroupSnapshotHandle``, ``creationTime`` and ``volumeSnapshotInfoList`` (one entry per
member, all with the same ``creationTime``). ``readyToUse`` follows ``readyLatencySeconds``
later. A pre-provisioned content (``spec.source.groupSnapshotHandles``) becomes ready when
every listed snapshot handle exists.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ._config import ANN_CUT_AT, ANN_FROZEN_AT_CUT, ANN_FROZEN_VOLUMES, read_knobs
from ._kube import GROUP_GROUP, Kube, Obj, informer, meta, now_rfc3339, rfc3339_micro
from ._model import Cluster
from ._queue import Key, WorkQueue, run_workers
from ._snapshotter import error_status, volume_bytes

GROUP_CONTENT_FINALIZER = (
    "groupsnapshot.storage.kubernetes.io/volumegroupsnapshotcontent-bound-protection"
)
GROUP_FINALIZER = "groupsnapshot.storage.kubernetes.io/volumegroupsnapshot-bound-protection"


def selector_string(sel: Obj) -> str:
    """A LabelSelector as the ``labelSelector`` query string."""
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for e in sel.get("matchExpressions") or []:
        key, op, vals = e["key"], e["operator"], ",".join(e.get("values") or [])
        ops = {"In": f"{key} in ({vals})", "NotIn": f"{key} notin ({vals})", "Exists": key}
        parts.append(ops.get(op, f"!{key}"))
    return ",".join(parts)


class GroupApi:
    """Paths of the group snapshot API at the version the sandbox serves (storage first)."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.base = f"/apis/{GROUP_GROUP}/{version}"
        self.contents = f"{self.base}/volumegroupsnapshotcontents"
        self.classes = f"{self.base}/volumegroupsnapshotclasses"

    def vgs(self, ns: str, name: str = "") -> str:
        return f"{self.base}/namespaces/{ns}/volumegroupsnapshots" + (f"/{name}" if name else "")


def wait_group_api(kube: Kube, stop: threading.Event) -> GroupApi | None:
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    crd = f"{crds}/volumegroupsnapshots.{GROUP_GROUP}"
    while not stop.is_set():
        obj = kube.get(crd)
        conds = ((obj or {}).get("status") or {}).get("conditions") or []
        if obj and any(c.get("type") == "Established" and c.get("status") == "True" for c in conds):
            served = [v for v in obj["spec"]["versions"] if v.get("served")]
            storage = [v["name"] for v in served if v.get("storage")]
            names = [v["name"] for v in served]
            return GroupApi(storage[0] if storage else "v1" if "v1" in names else names[0])
        stop.wait(1.0)
    return None


class GroupSnapshotter:
    def __init__(
        self, kubeconfig: Path, cluster: Cluster, api: GroupApi, stop: threading.Event
    ) -> None:
        self.kubeconfig = kubeconfig
        self.cluster = cluster
        self.layout = cluster.layout
        self.api = api
        self.stop = stop
        self.queue = WorkQueue()
        self.first_seen: dict[str, float] = {}
        self.ready_at: dict[str, float | None] = {}

    def start(self) -> list[threading.Thread]:
        def on_content(_: str, obj: Obj) -> None:
            self.queue.add(("vgsc", meta(obj)["name"]))

        return [
            informer(
                self.kubeconfig, self.api.contents, on_content, self.stop, name="gsnapshotter"
            ),
            *run_workers(self.kubeconfig, self.queue, self.reconcile, name="gsnapshotter"),
        ]

    def reconcile(self, kube: Kube, key: Key) -> float | None:  # noqa: PLR0911
        path = f"{self.api.contents}/{key[1]}"
        content = kube.get(path)
        if content is None:
            return None
        md, spec = meta(content), content.get("spec") or {}
        ref = spec.get("volumeGroupSnapshotRef") or {}
        vgs = kube.get(self.api.vgs(ref["namespace"], ref["name"])) if ref.get("name") else None
        alive = vgs is not None and (not ref.get("uid") or meta(vgs)["uid"] == ref["uid"])
        if md.get("deletionTimestamp"):
            if alive and not meta(vgs or {}).get("deletionTimestamp"):
                return None
            handle = (content.get("status") or {}).get("volumeGroupSnapshotHandle")
            if spec.get("deletionPolicy") == "Delete" and handle:
                self.layout.remove_snapshot(handle)
            kube.remove_finalizer(path, content, GROUP_CONTENT_FINALIZER)
            return None
        if ref.get("uid") and not alive:
            if spec.get("deletionPolicy") == "Delete":
                kube.delete(path, {"preconditions": {"uid": md["uid"]}})
            else:
                kube.remove_finalizer(path, content, GROUP_CONTENT_FINALIZER)
            return None
        source = spec.get("source") or {}
        if source.get("volumeHandles"):
            return self._dynamic(kube, content, vgs)
        if source.get("groupSnapshotHandles"):
            return self._pre_provisioned(kube, content)
        return None

    def _status(self, kube: Kube, content: Obj, status: Obj) -> None:
        kube.patch(f"{self.api.contents}/{meta(content)['name']}/status", {"status": status})

    def _dynamic(self, kube: Kube, content: Obj, vgs: Obj | None) -> float | None:  # noqa: PLR0911
        uid, status = meta(content)["uid"], content.get("status") or {}
        if status.get("error") or status.get("readyToUse"):
            return None
        now = time.monotonic()
        if not status.get("volumeGroupSnapshotHandle"):
            first = self.first_seen.setdefault(uid, now)
            pvcs: list[Obj] = []
            if vgs is not None:
                sel = ((vgs.get("spec") or {}).get("source") or {}).get("selector") or {}
                labels = selector_string(sel)
                ns = meta(vgs)["namespace"]
                pvcs = (
                    kube.list(
                        f"/api/v1/namespaces/{ns}/persistentvolumeclaims",
                        labelSelector=labels or None,
                    ).get("items")
                    or []
                )
            knobs = read_knobs(kube, vgs, *pvcs)
            if first + knobs.cut_latency > now:
                return first + knobs.cut_latency - now
            lost = [
                v
                for v in content["spec"]["source"]["volumeHandles"]
                if not self.layout.volume(v).is_dir()
            ]
            if lost and not knobs.error:
                knobs = replace(knobs, error=f"source volumes not found: {', '.join(lost)}")
            if knobs.error:
                self._status(
                    kube, content, {"readyToUse": False, "error": error_status(knobs.error)}
                )
                return None
            self.cut(kube, content)
            self.ready_at[uid] = (
                None if knobs.never_ready else time.monotonic() + knobs.ready_latency
            )
            return None if knobs.never_ready else knobs.ready_latency
        if uid not in self.ready_at:
            knobs = read_knobs(kube, vgs)
            self.ready_at[uid] = None if knobs.never_ready else now
        due = self.ready_at[uid]
        if due is None:
            return None
        if due > now:
            return due - now
        infos = [dict(i, readyToUse=True) for i in status.get("volumeSnapshotInfoList") or []]
        self._status(kube, content, {"readyToUse": True, "volumeSnapshotInfoList": infos})
        return None

    def cut(self, kube: Kube, content: Obj) -> None:
        """Copy every member volume at one instant and publish the group cut."""
        md = meta(content)
        volumes: list[str] = list(content["spec"]["source"]["volumeHandles"])
        group_handle = f"groupsnapshot-{md['uid']}"
        members = {v: f"snapshot-{md['uid']}-{i}" for i, v in enumerate(volumes)}
        with self.cluster.lock:  # no freeze/thaw can interleave with the copies
            frozen = [v for v in volumes if self.cluster.is_frozen(v)]
            cut_at = time.time()
            copied = {
                v: self.layout.copy_tree(self.layout.volume(v), self.layout.snapshot(h))
                for v, h in members.items()
            }
        creation_ns = int(cut_at * 1e9)
        infos: list[dict[str, Any]] = []
        for v, h in members.items():
            size = volume_bytes(kube, v, copied[v])
            self.layout.write_snapshot_meta(
                h,
                {
                    "creationTime": creation_ns,
                    "restoreSize": size,
                    "volumeHandle": v,
                    "groupSnapshotHandle": group_handle,
                },
            )
            infos.append(
                {
                    "volumeHandle": v,
                    "snapshotHandle": h,
                    "creationTime": creation_ns,
                    "readyToUse": False,
                    "restoreSize": size,
                }
            )
        self.layout.snapshot(group_handle).mkdir(exist_ok=True)
        self.layout.write_snapshot_meta(
            group_handle, {"creationTime": creation_ns, "members": members}
        )
        ann = {
            ANN_FROZEN_AT_CUT: str(len(frozen) == len(volumes)).lower(),
            ANN_FROZEN_VOLUMES: ",".join(frozen),
            ANN_CUT_AT: rfc3339_micro(cut_at),
        }
        kube.patch(f"{self.api.contents}/{md['name']}", {"metadata": {"annotations": ann}})
        status = {
            "volumeGroupSnapshotHandle": group_handle,
            "creationTime": now_rfc3339(cut_at),
            "readyToUse": False,
            "volumeSnapshotInfoList": infos,
        }
        self._status(kube, content, status)
        for v, h in members.items():
            self.cluster.log.cut(
                {
                    "content": md["name"],
                    "group": group_handle,
                    "volumeHandle": v,
                    "snapshotHandle": h,
                    "cutAt": rfc3339_micro(cut_at),
                    "frozen": v in frozen,
                    "bytes": copied[v],
                }
            )

    def _pre_provisioned(self, kube: Kube, content: Obj) -> float | None:
        status = content.get("status") or {}
        if status.get("readyToUse"):
            return None
        src = content["spec"]["source"]["groupSnapshotHandles"]
        infos, missing = [], []
        for h in src.get("volumeSnapshotHandles") or []:
            info = self.layout.snapshot_meta(h)
            if info is None:
                missing.append(h)
                continue
            infos.append(
                {
                    "volumeHandle": info.get("volumeHandle", ""),
                    "snapshotHandle": h,
                    "creationTime": info["creationTime"],
                    "readyToUse": True,
                    "restoreSize": info["restoreSize"],
                }
            )
        if missing:
            if not status.get("error"):
                msg = f"snapshot handles not found: {', '.join(missing)}"
                self._status(kube, content, {"readyToUse": False, "error": error_status(msg)})
            return 5.0
        created = min((int(i["creationTime"]) for i in infos), default=int(time.time() * 1e9))
        new = {
            "volumeGroupSnapshotHandle": src["volumeGroupSnapshotHandle"],
            "creationTime": now_rfc3339(created / 1e9),
            "readyToUse": True,
            "volumeSnapshotInfoList": infos,
            "error": None,
        }
        self._status(kube, content, new)
        return None
