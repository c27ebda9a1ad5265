"""Deleting a restore point: release every snapshot it retained (bytes included).

Retained contents are switched back to ``deletionPolicy: Delete`` and deleted, so the driver
removes the snapshot itself; re-imported contents made by restores (labelled with the restore
point) are deleted too. Group snapshots first, so their member snapshots go with them.
"""

from __future__ import annotations

import logging

from ..cluster import VOLUME_SNAPSHOT, VOLUME_SNAPSHOT_CONTENT, Cluster, group_snapshot_kinds
from ..errors import ClusterAPIError
from ..models import RestorePoint

log = logging.getLogger(__name__)
RP_LABEL = "snapbridge.io/restore-point"
DELETE = {"spec": {"deletionPolicy": "Delete"}}


def _release_group(cluster: Cluster, ns: str, name: str, version: str) -> int:
    vgs_kind, content_kind, _ = group_snapshot_kinds(version)
    removed = 0
    contents = [
        c
        for c in cluster.list(content_kind)
        if (c.get("spec") or {}).get("volumeGroupSnapshotRef", {}).get("name") == name
        and (c.get("spec") or {}).get("volumeGroupSnapshotRef", {}).get("namespace") == ns
    ]
    for c in contents:
        cluster.patch(content_kind, c["metadata"]["name"], DELETE)
    if cluster.delete(vgs_kind, name, ns):
        removed += 1
    for c in contents:
        if cluster.delete(content_kind, c["metadata"]["name"]):
            removed += 1
    return removed


def delete_restore_point(cluster: Cluster, rp: RestorePoint) -> int:
    """Release what the restore point retained; the number of objects deleted."""
    removed = 0
    groups = {
        (r.snapshot_namespace, r.group_snapshot_name, r.group_snapshot_api or "v1")
        for r in rp.volumes
        if r.group_snapshot_name
    }
    for ns, name, version in groups:
        try:
            removed += _release_group(cluster, ns, name, version)
        except ClusterAPIError as exc:  # that version is no longer served
            log.warning("cannot release group snapshot %s/%s: %s", ns, name, exc)
    for rec in rp.volumes:
        if not rec.content_name or cluster.get(VOLUME_SNAPSHOT_CONTENT, rec.content_name) is None:
            continue
        cluster.patch(VOLUME_SNAPSHOT_CONTENT, rec.content_name, DELETE)
        if not rec.group_snapshot_name:
            cluster.delete(VOLUME_SNAPSHOT, rec.snapshot_name, rec.snapshot_namespace)
        if cluster.delete(VOLUME_SNAPSHOT_CONTENT, rec.content_name):
            removed += 1
    for vs in cluster.list(VOLUME_SNAPSHOT, None, f"{RP_LABEL}={rp.name}"):  # restores' re-imports
        cluster.delete(VOLUME_SNAPSHOT, vs["metadata"]["name"], vs["metadata"]["namespace"])
    for content in cluster.list(VOLUME_SNAPSHOT_CONTENT, None, f"{RP_LABEL}={rp.name}"):
        if cluster.delete(VOLUME_SNAPSHOT_CONTENT, content["metadata"]["name"]):
            removed += 1
    return removed
