"""Deleting a restore point: release every snapshot it retained (bytes included)."""

from __future__ import annotations

import logging

from ..cluster import VOLUME_SNAPSHOT, VOLUME_SNAPSHOT_CONTENT, Cluster, group_snapshot_kinds
from ..errors import ClusterAPIError
from ..models import RestorePoint

log = logging.getLogger(__name__)

RP_LABEL = "snapbridge.io/restore-point"


def delete_restore_point(cluster: Cluster, rp: RestorePoint) -> int:
    """Switch retained contents back to Delete and delete them (and their snapshots)."""
    removed = 0
    groups: set[tuple[str, str, str]] = set()
    for rec in rp.volumes:
        if rec.group_snapshot_name:
            groups.add((rec.snapshot_namespace, rec.group_snapshot_name, "v1"))
        if rec.content_name and cluster.get(VOLUME_SNAPSHOT_CONTENT, rec.content_name):
            cluster.patch(
                VOLUME_SNAPSHOT_CONTENT, rec.content_name, {"spec": {"deletionPolicy": "Delete"}}
            )
            if not rec.group_snapshot_name and cluster.get(
                VOLUME_SNAPSHOT, rec.snapshot_name, rec.snapshot_namespace
            ):
                cluster.delete(VOLUME_SNAPSHOT, rec.snapshot_name, rec.snapshot_namespace)
            cluster.delete(VOLUME_SNAPSHOT_CONTENT, rec.content_name)
            removed += 1
    for ns, name, _ in groups:
        for version in ("v1", "v1beta2"):
            vgs_kind, content_kind, _c = group_snapshot_kinds(version)
            try:
                vgs = cluster.get(vgs_kind, name, ns)
            except ClusterAPIError as exc:  # this version is not served
                log.debug("group snapshots %s: %s", version, exc)
                continue
            bound = (vgs or {}).get("status", {}).get("boundVolumeGroupSnapshotContentName")
            if bound:
                cluster.patch(content_kind, bound, {"spec": {"deletionPolicy": "Delete"}})
            if vgs:
                cluster.delete(vgs_kind, name, ns)
                removed += 1
            break
    for content in cluster.list(VOLUME_SNAPSHOT_CONTENT, None, f"{RP_LABEL}={rp.name}"):
        cluster.delete(VOLUME_SNAPSHOT_CONTENT, content["metadata"]["name"])
        removed += 1
    return removed
