"""Restore: re-import each retained snapshot, then create PVCs from it (or clone PVCs).

Re-import makes a restore independent of the source namespace: a pre-provisioned
VolumeSnapshotContent (``source.snapshotHandle``) plus a VolumeSnapshot naming it are created
in the target namespace, then the PVC with ``dataSource`` pointing at that VolumeSnapshot.
"""

from __future__ import annotations

from typing import Any

from ...cluster import (
    NAMESPACE,
    PERSISTENT_VOLUME_CLAIM,
    VOLUME_SNAPSHOT,
    VOLUME_SNAPSHOT_CONTENT,
    KubeObject,
)
from ...context import RunContext, utcnow
from ...errors import PermanentError
from ...models import (
    Phase,
    ProgressEvent,
    RestoredVolume,
    RestoreMode,
    RestorePoint,
    RestoreRequest,
    RestoreResult,
    SnapshotRecord,
)
from .names import restored_snapshot_name

RP_LABEL = "snapbridge.io/restore-point"


def _quantity_bytes(q: str | None) -> int:
    if not q:
        return 0
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}
    for suffix, mult in units.items():
        if q.endswith(suffix):
            return int(float(q[: -len(suffix)]) * mult)
    return int(float(q))


def _size(rec: SnapshotRecord, manifest: dict[str, Any]) -> str:
    asked = manifest.get("spec", {}).get("resources", {}).get("requests", {}).get("storage")
    candidates = [s for s in (rec.restore_size, asked, rec.volume.size) if s]
    return max(candidates, key=_quantity_bytes) if candidates else "1Gi"


def _reimport(ctx: RunContext, rp: RestorePoint, rec: SnapshotRecord, ns: str) -> str:
    if not rec.snapshot_handle:
        raise PermanentError(
            f"restore point {rp.name} has no snapshot handle for {rec.volume.key}",
            hint="the backup did not finish its snapshot phase; rerun the backup",
        )
    name = restored_snapshot_name(rp.name, f"{ns}/{rec.volume.pvc}")
    ctx.cluster.create(
        VOLUME_SNAPSHOT_CONTENT,
        {
            "apiVersion": VOLUME_SNAPSHOT_CONTENT.api_version,
            "kind": "VolumeSnapshotContent",
            "metadata": {"name": name, "labels": {RP_LABEL: rp.name}},
            "spec": {
                "deletionPolicy": "Retain",
                "driver": rec.driver,
                "source": {"snapshotHandle": rec.snapshot_handle},
                "volumeSnapshotClassName": rec.volume.snapshot_class,
                "volumeSnapshotRef": {"name": name, "namespace": ns},
            },
        },
    )
    ctx.cluster.create(
        VOLUME_SNAPSHOT,
        {
            "apiVersion": VOLUME_SNAPSHOT.api_version,
            "kind": "VolumeSnapshot",
            "metadata": {"name": name, "namespace": ns, "labels": {RP_LABEL: rp.name}},
            "spec": {"source": {"volumeSnapshotContentName": name}},
        },
    )
    return name


def _pvc_body(
    rec: SnapshotRecord,
    rp: RestorePoint,
    ns: str,
    storage_class: str | None,
    data_source: dict[str, str],
    name: str,
) -> dict[str, Any]:
    manifest = rp.manifests.get(rec.volume.key, {})
    spec = dict(manifest.get("spec") or {})
    spec.update(
        {
            "accessModes": spec.get("accessModes") or rec.volume.access_modes or ["ReadWriteOnce"],
            "resources": {"requests": {"storage": _size(rec, manifest)}},
            "dataSource": data_source,
        }
    )
    if storage_class or rec.volume.storage_class:
        spec["storageClassName"] = storage_class or rec.volume.storage_class
    md = manifest.get("metadata") or {}
    labels = dict(md.get("labels") or {})
    labels.pop("snapbridge.io/vgs", None)
    labels[RP_LABEL] = rp.name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": labels,
            "annotations": md.get("annotations") or {},
        },
        "spec": spec,
    }


def restore(ctx: RunContext, request: RestoreRequest, rp: RestorePoint) -> RestoreResult:
    wanted = set(request.pvc_names)
    records = [r for r in rp.volumes if not wanted or r.volume.pvc in wanted]
    if not records:
        raise PermanentError(
            f"restore point {rp.name} has no volume to restore",
            hint="check --pvc names against `snapbridge restore-points show`",
        )
    out: list[RestoredVolume] = []
    by_ns: dict[str, list[str]] = {}
    ensured: set[str] = set()
    for rec in records:
        ns = request.namespace_for(rec.volume.namespace)
        if ns not in ensured:
            ctx.cluster.create(
                NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            )
            ensured.add(ns)
        if request.mode is RestoreMode.CLONE:
            source = {"kind": "PersistentVolumeClaim", "name": rec.volume.pvc}
            if ns != rec.volume.namespace:
                raise PermanentError(
                    "clone mode restores into the source namespace only",
                    hint="drop --target-namespace or use snapshot mode",
                )
            vs_name = None
        else:
            vs_name = _reimport(ctx, rp, rec, ns)
            source = {
                "apiGroup": "snapshot.storage.k8s.io",
                "kind": "VolumeSnapshot",
                "name": vs_name,
            }
        suffix = request.name_suffix
        if suffix is None:
            suffix = "-clone" if request.mode is RestoreMode.CLONE else ""
        pvc_name = rec.volume.pvc + suffix
        made = ctx.cluster.create(
            PERSISTENT_VOLUME_CLAIM,
            _pvc_body(rec, rp, ns, request.storage_class, source, pvc_name),
            exist_ok=True,  # a rerun of this restore finds its own PVC
        )
        if (made.get("metadata", {}).get("labels") or {}).get(RP_LABEL) != rp.name:
            raise PermanentError(
                f"PVC {ns}/{pvc_name} already exists and was not made by this restore",
                hint="restore into another --target-namespace, or delete that PVC first",
            )
        ctx.emit(
            ProgressEvent(
                run_id=ctx.run_id,
                phase=Phase.RESTORE,
                message="PVC created",
                volume=f"{ns}/{pvc_name}",
                at=utcnow(),
            )
        )
        by_ns.setdefault(ns, []).append(pvc_name)
        out.append(
            RestoredVolume(source=rec.volume.key, namespace=ns, pvc=pvc_name, from_snapshot=vs_name)
        )

    def bound(obj: KubeObject) -> bool:
        return (obj.get("status") or {}).get("phase") == "Bound"

    for ns, names in by_ns.items():
        ctx.cluster.wait_for(
            PERSISTENT_VOLUME_CLAIM, names, ns, bound, timeout=request.wait_bound_seconds
        )
    out = [v.model_copy(update={"bound": True}) for v in out]
    return RestoreResult(restore_point=rp.name, volumes=out, restored_by="csi")
