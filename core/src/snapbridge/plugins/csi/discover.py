"""Discovery: PVC -> PV -> StorageClass -> CSI driver -> VolumeSnapshotClass, and groups.

Class selection order (first match wins): the PVC annotation ``snapbridge.io/snapshot-class``,
the request's per-driver setting, a class of the driver labelled
``velero.io/csi-volumesnapshot-class: "true"``, the driver's class annotated
``snapshot.storage.kubernetes.io/is-default-class: "true"``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ...cluster import (
    PERSISTENT_VOLUME,
    PERSISTENT_VOLUME_CLAIM,
    POD,
    VOLUME_SNAPSHOT_CLASS,
    KubeObject,
    group_snapshot_kinds,
)
from ...context import RunContext
from ...models import BackupRequest, ConsistencyGroup, Inventory, PodRef, Unsnapshottable, VolumeRef

PVC_CLASS_ANNOTATION = "snapbridge.io/snapshot-class"
VELERO_CLASS_LABEL = "velero.io/csi-volumesnapshot-class"
DEFAULT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"
GROUP_API = "groupsnapshot.storage.k8s.io"


def _meta(obj: KubeObject) -> dict[str, Any]:
    return obj.get("metadata") or {}


def pick_snapshot_class(
    pvc: KubeObject, driver: str, request: BackupRequest, classes: list[KubeObject]
) -> tuple[str | None, str | None, str | None]:
    """(class name, why, problem)."""
    by_name = {_meta(c)["name"]: c for c in classes}
    of_driver = [c for c in classes if c.get("driver") == driver]
    wanted = (_meta(pvc).get("annotations") or {}).get(PVC_CLASS_ANNOTATION)
    source = "pvc-annotation"
    if not wanted and driver in request.snapshot_classes:
        wanted, source = request.snapshot_classes[driver], "request"
    if wanted:
        cls = by_name.get(wanted)
        if cls is None:
            return None, None, f"VolumeSnapshotClass {wanted!r} ({source}) does not exist"
        if cls.get("driver") != driver:
            return (
                None,
                None,
                f"VolumeSnapshotClass {wanted!r} is for driver {cls.get('driver')!r}, "
                f"not {driver!r}",
            )
        return wanted, source, None
    for c in of_driver:
        if (_meta(c).get("labels") or {}).get(VELERO_CLASS_LABEL) == "true":
            return _meta(c)["name"], "velero-label", None
    for c in of_driver:
        if (_meta(c).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true":
            return _meta(c)["name"], "default-class", None
    return None, None, f"CSI driver {driver!r} has no VolumeSnapshotClass"


def _pods_by_pvc(pods: list[KubeObject]) -> tuple[list[PodRef], dict[str, list[PodRef]]]:
    refs: list[PodRef] = []
    by_pvc: dict[str, list[PodRef]] = defaultdict(list)
    for pod in pods:
        spec = pod.get("spec") or {}
        claim_of = {
            v["name"]: v["persistentVolumeClaim"]["claimName"]
            for v in spec.get("volumes") or []
            if v.get("persistentVolumeClaim")
        }
        if not claim_of:
            continue
        mounts: dict[str, list[str]] = defaultdict(list)
        for c in spec.get("containers") or []:
            for m in c.get("volumeMounts") or []:
                if m["name"] in claim_of:
                    mounts[claim_of[m["name"]]].append(m["mountPath"])
        md = _meta(pod)
        ref = PodRef(
            namespace=md["namespace"],
            name=md["name"],
            uid=md.get("uid", ""),
            annotations=md.get("annotations") or {},
            labels=md.get("labels") or {},
            containers=[c["name"] for c in spec.get("containers") or []],
            mounts=dict(mounts),
        )
        refs.append(ref)
        for claim in claim_of.values():
            by_pvc[claim].append(ref)
    return refs, by_pvc


def _clean_manifest(pvc: KubeObject) -> dict[str, Any]:
    md = _meta(pvc)
    annotations = {
        k: v
        for k, v in (md.get("annotations") or {}).items()
        if not k.startswith(
            ("pv.kubernetes.io/", "volume.beta.kubernetes.io/", "volume.kubernetes.io/")
        )
    }
    spec = {
        k: v
        for k, v in (pvc.get("spec") or {}).items()
        if k not in ("volumeName", "dataSource", "dataSourceRef")
    }
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": md["name"],
            "namespace": md["namespace"],
            "labels": md.get("labels") or {},
            "annotations": annotations,
        },
        "spec": spec,
    }


def discover(ctx: RunContext, request: BackupRequest) -> Inventory:
    cluster = ctx.cluster
    pvs = {_meta(pv)["name"]: pv for pv in cluster.list(PERSISTENT_VOLUME)}
    snap_classes = cluster.list(VOLUME_SNAPSHOT_CLASS)
    group_version = next(iter(cluster.served_versions(GROUP_API)), None)
    group_classes = cluster.list(group_snapshot_kinds(group_version)[2]) if group_version else []
    inv_volumes: list[VolumeRef] = []
    skipped: list[Unsnapshottable] = []
    all_pods: list[PodRef] = []
    manifests: dict[str, dict[str, Any]] = {}
    pods_of: dict[str, list[PodRef]] = {}
    for ns in request.namespaces:
        pvcs = cluster.list(PERSISTENT_VOLUME_CLAIM, ns, request.selector)
        if request.pvc_names:
            wanted = set(request.pvc_names)
            found = {_meta(p)["name"] for p in pvcs}
            skipped += [
                Unsnapshottable(namespace=ns, pvc=n, reason="PVC not found", hint="check the name")
                for n in sorted(wanted - found)
                if len(request.namespaces) == 1
            ]
            pvcs = [p for p in pvcs if _meta(p)["name"] in wanted]
        pods, by_pvc = _pods_by_pvc(cluster.list(POD, ns))
        all_pods += pods
        for pvc in pvcs:
            md, spec = _meta(pvc), pvc.get("spec") or {}
            name = md["name"]
            pods_of[f"{ns}/{name}"] = by_pvc.get(name, [])
            status_phase = (pvc.get("status") or {}).get("phase")
            pv = pvs.get(spec.get("volumeName") or "")
            if status_phase != "Bound" or pv is None:
                skipped.append(
                    Unsnapshottable(
                        namespace=ns,
                        pvc=name,
                        reason=f"PVC is not bound (phase {status_phase})",
                        hint="wait until it is Bound, or leave it out with --pvc/-l",
                    )
                )
                continue
            csi = (pv.get("spec") or {}).get("csi")
            if not csi:
                skipped.append(
                    Unsnapshottable(
                        namespace=ns,
                        pvc=name,
                        reason=f"PV {_meta(pv)['name']} is not a CSI volume",
                        hint="only CSI volumes can be snapshotted; use a file-level backup for it",
                    )
                )
                continue
            driver = csi["driver"]
            cls, why, problem = pick_snapshot_class(pvc, driver, request, snap_classes)
            if problem:
                skipped.append(
                    Unsnapshottable(
                        namespace=ns,
                        pvc=name,
                        reason=problem,
                        hint=f"create a VolumeSnapshotClass for {driver}, annotate the PVC with "
                        f"{PVC_CLASS_ANNOTATION}, or set snapshot.classes in the config",
                    )
                )
                continue
            sc_name = spec.get("storageClassName")  # restore may override it
            inv_volumes.append(
                VolumeRef(
                    namespace=ns,
                    pvc=name,
                    uid=md["uid"],
                    pv=_meta(pv)["name"],
                    volume_handle=csi.get("volumeHandle"),
                    storage_class=sc_name,
                    driver=driver,
                    size=(pvc.get("status") or {}).get("capacity", {}).get("storage")
                    or spec.get("resources", {}).get("requests", {}).get("storage"),
                    snapshot_class=cls,
                    snapshot_class_source=why,
                    labels=md.get("labels") or {},
                    access_modes=spec.get("accessModes") or [],
                    volume_mode=spec.get("volumeMode"),
                )
            )
            manifests[f"{ns}/{name}"] = _clean_manifest(pvc)
    groups = _group(request, inv_volumes, pods_of, group_classes, group_version)
    return Inventory(
        volumes=inv_volumes,
        groups=groups,
        pods=all_pods,
        unsnapshottable=skipped,
        manifests=manifests,
    )


def _group(
    request: BackupRequest,
    volumes: list[VolumeRef],
    pods_of: dict[str, list[PodRef]],
    group_classes: list[KubeObject],
    group_version: str | None,
) -> list[ConsistencyGroup]:
    buckets: dict[tuple[str, str], list[VolumeRef]] = defaultdict(list)
    for v in volumes:
        if request.group_by == "none":
            key = v.pvc
        elif request.group_by == "namespace":
            key = v.namespace
        else:
            key = v.labels.get(request.group_by, v.pvc)
        buckets[(v.namespace, key)].append(v)
    groups: list[ConsistencyGroup] = []
    for (ns, key), members in sorted(buckets.items()):
        pods: dict[str, PodRef] = {}
        for v in members:
            for p in pods_of.get(v.key, []):
                pods[p.name] = p
        drivers = {v.driver for v in members}
        gclass = None
        if request.use_group_snapshots and len(members) > 1 and len(drivers) == 1:
            driver = drivers.pop()
            gclass = next(
                (_meta(c)["name"] for c in group_classes if c.get("driver") == driver), None
            )
        groups.append(
            ConsistencyGroup(
                name=key if key == ns else f"{ns}-{key}",
                namespace=ns,
                volumes=members,
                pods=list(pods.values()),
                group_snapshot_class=gclass,
                group_snapshot_api=group_version if gclass else None,
            )
        )
    return groups
