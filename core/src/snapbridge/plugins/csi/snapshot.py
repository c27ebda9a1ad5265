"""Cutting snapshots: single VolumeSnapshots (concurrent) or one VolumeGroupSnapshot.

Returns at the cut (``snapshotHandle`` + ``creationTime``); readiness is awaited later
(:mod:`.ready`), after the engine thawed the application. Each bound content is switched to
``deletionPolicy: Retain`` so the snapshot outlives the namespace.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from ...cluster import (
    PERSISTENT_VOLUME_CLAIM,
    VOLUME_SNAPSHOT,
    VOLUME_SNAPSHOT_CONTENT,
    KubeObject,
    group_snapshot_kinds,
)
from ...context import RunContext, utcnow
from ...errors import SnapshotFailedError
from ...models import (
    ConsistencyGroup,
    ConsistencyLevel,
    Phase,
    ProgressEvent,
    SnapshotRecord,
    SnapshotSet,
)
from .names import (
    GROUP_LABEL,
    PVC_ANNOTATION,
    RUN_LABEL,
    group_snapshot_name,
    member_label_value,
    snapshot_name,
)


def _ts(value: str | int | None) -> datetime | None:
    """RFC 3339 (VolumeSnapshot) or int64 nanoseconds (VolumeSnapshotContent) as a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, int) or str(value).isdigit():
        return datetime.fromtimestamp(int(value) / 1e9, tz=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _status(obj: KubeObject) -> dict[str, Any]:
    return obj.get("status") or {}


def _emit(ctx: RunContext, message: str, volume: str | None = None, state: str = "info") -> None:
    ctx.emit(
        ProgressEvent(
            run_id=ctx.run_id,
            phase=Phase.SNAPSHOT,
            message=message,
            volume=volume,
            state=state,
            at=utcnow(),
        )
    )


def _raise_on_error(pvc_of: dict[str, str], driver: str | None) -> Any:
    def check(obj: KubeObject) -> None:
        err = _status(obj).get("error")
        if err and err.get("message"):
            name = obj["metadata"]["name"]
            pvc = pvc_of.get(name, name)
            raise SnapshotFailedError(
                f"snapshot of PVC {pvc} failed: driver {driver or '?'} says: {err['message']}",
                pvc=pvc,
                driver_message=str(err["message"]),
                hint="check the CSI driver's logs and the VolumeSnapshotClass parameters",
            )

    return check


def _content_cut(obj: KubeObject) -> bool:
    st = _status(obj)
    return bool(st.get("snapshotHandle") and st.get("creationTime"))


def snapshot_single(
    ctx: RunContext, group: ConsistencyGroup, concurrency: int, cut_deadline: float
) -> SnapshotSet:
    """One VolumeSnapshot per PVC, created concurrently; the cut is read off the contents.

    The snapshotter sidecar writes ``snapshotHandle`` + ``creationTime`` on the
    VolumeSnapshotContent at the cut; the VolumeSnapshot's status follows later. Watching
    the contents (named ``snapcontent-<snapshot uid>`` by the snapshot controller) returns
    as early as the cut can be known.
    """
    ns = group.namespace
    vols = {v.pvc: v for v in group.volumes}
    names = {pvc: snapshot_name(ctx.run_id, v.uid) for pvc, v in vols.items()}

    def create(pvc: str) -> tuple[str, str]:
        vs = ctx.cluster.create(
            VOLUME_SNAPSHOT,
            {
                "apiVersion": VOLUME_SNAPSHOT.api_version,
                "kind": "VolumeSnapshot",
                "metadata": {
                    "name": names[pvc],
                    "namespace": ns,
                    "labels": {RUN_LABEL: ctx.run_id, GROUP_LABEL: group.name[:63]},
                    "annotations": {PVC_ANNOTATION: pvc},
                },
                "spec": {
                    "volumeSnapshotClassName": vols[pvc].snapshot_class,
                    "source": {"persistentVolumeClaimName": pvc},
                },
            },
        )
        return pvc, f"snapcontent-{vs['metadata']['uid']}"

    workers = min(concurrency, max(1, len(names)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        content_of = dict(pool.map(create, names))
    _emit(ctx, f"{len(names)} VolumeSnapshots requested in {ns}")
    pvc_of_content = {c: f"{ns}/{p}" for p, c in content_of.items()}
    pvc_by_content = {c: p for p, c in content_of.items()}
    check_error = _raise_on_error(
        pvc_of_content, group.volumes[0].driver if group.volumes else None
    )

    def retain(content_name: str, seen: KubeObject) -> SnapshotRecord:
        content = ctx.cluster.patch(
            VOLUME_SNAPSHOT_CONTENT, content_name, {"spec": {"deletionPolicy": "Retain"}}
        )
        status = _status(content) if _content_cut(content) else _status(seen)
        pvc = pvc_by_content[content_name]
        vol = vols[pvc]
        _emit(ctx, "cut", volume=vol.key, state="done")
        return SnapshotRecord(
            volume=vol,
            snapshot_name=names[pvc],
            snapshot_namespace=ns,
            content_name=content_name,
            snapshot_handle=status.get("snapshotHandle"),
            driver=vol.driver,
            cut_time=_ts(status.get("creationTime")),
            consistency=ConsistencyLevel.CRASH,
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: dict[str, Future[SnapshotRecord]] = {}

        def on_event(obj: KubeObject) -> None:  # retain each content the moment it is cut
            check_error(obj)
            name = obj["metadata"]["name"]
            if _content_cut(obj) and name not in pending:
                pending[name] = pool.submit(retain, name, obj)

        ctx.cluster.wait_for(
            VOLUME_SNAPSHOT_CONTENT,
            content_of.values(),
            None,
            _content_cut,
            timeout=cut_deadline,
            on_event=on_event,
        )
        records = [pending[content_of[pvc]].result() for pvc in names]
    cut_at = max((r.cut_time for r in records if r.cut_time), default=None)
    return SnapshotSet(group=group.name, records=records, cut_at=cut_at, created_by="csi")


def snapshot_group(ctx: RunContext, group: ConsistencyGroup, cut_deadline: float) -> SnapshotSet:
    ns, version = group.namespace, group.group_snapshot_api or "v1"
    vgs_kind, content_kind, _ = group_snapshot_kinds(version)
    name = group_snapshot_name(ctx.run_id, group.name)
    label = member_label_value(name)
    for v in group.volumes:  # the group selects its members by this label
        ctx.cluster.patch(
            PERSISTENT_VOLUME_CLAIM,
            v.pvc,
            {"metadata": {"labels": {"snapbridge.io/vgs": label}}},
            ns,
        )
    ctx.cluster.create(
        vgs_kind,
        {
            "apiVersion": vgs_kind.api_version,
            "kind": "VolumeGroupSnapshot",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": {RUN_LABEL: ctx.run_id, GROUP_LABEL: group.name[:63]},
            },
            "spec": {
                "volumeGroupSnapshotClassName": group.group_snapshot_class,
                "source": {"selector": {"matchLabels": {"snapbridge.io/vgs": label}}},
            },
        },
    )
    _emit(ctx, f"VolumeGroupSnapshot {ns}/{name} requested for {len(group.volumes)} PVCs")

    def cut(obj: KubeObject) -> bool:
        st = _status(obj)
        return bool(st.get("boundVolumeGroupSnapshotContentName") and st.get("creationTime"))

    vgs = ctx.cluster.wait_for(
        vgs_kind,
        [name],
        ns,
        cut,
        timeout=cut_deadline,
        on_event=_raise_on_error(
            {name: f"{ns}/{','.join(v.pvc for v in group.volumes)}"}, group.volumes[0].driver
        ),
    )[name]
    content_name = _status(vgs)["boundVolumeGroupSnapshotContentName"]
    content = ctx.cluster.patch(content_kind, content_name, {"spec": {"deletionPolicy": "Retain"}})
    handles = _member_handles(_status(content))
    cut_time = _ts(_status(content).get("creationTime") or _status(vgs).get("creationTime"))
    records = []
    for v in group.volumes:
        handle = handles.get(v.volume_handle or "")
        if handle is None:
            raise SnapshotFailedError(
                f"group snapshot {ns}/{name} has no member for PVC {v.key}",
                pvc=v.key,
                driver_message="member missing from the group content",
                hint="the driver did not include this volume; check the PVC's label and driver",
            )
        records.append(
            SnapshotRecord(
                volume=v,
                snapshot_name=name,
                snapshot_namespace=ns,
                content_name=None,
                snapshot_handle=handle,
                driver=v.driver,
                group_snapshot_name=name,
                group_snapshot_api=version,
                cut_time=cut_time,
                consistency=ConsistencyLevel.GROUP_CRASH,
            )
        )
        _emit(ctx, "cut (group)", volume=v.key, state="done")
    return SnapshotSet(
        group=group.name,
        records=records,
        group_snapshot_name=name,
        group_snapshot_api=version,
        cut_at=cut_time,
        created_by="csi",
    )


def _member_handles(status: dict[str, Any]) -> dict[str, str]:
    """volumeHandle -> snapshotHandle from a group content status (v1 or v1beta2 shape)."""
    pairs = status.get("volumeSnapshotInfoList") or status.get("volumeSnapshotHandlePairList") or []
    return {p["volumeHandle"]: p["snapshotHandle"] for p in pairs if p.get("snapshotHandle")}
