"""Merging the inventories that several plugins return from discover."""

from __future__ import annotations

from collections.abc import Sequence

from ..models import ConsistencyGroup, Inventory, PodRef, Unsnapshottable, VolumeRef


def merge_inventories(parts: Sequence[Inventory]) -> Inventory:
    """Volumes by PVC key (first wins), groups by name, pods by namespace/name."""
    volumes: dict[str, VolumeRef] = {}
    groups: dict[str, ConsistencyGroup] = {}
    pods: dict[str, PodRef] = {}
    skipped: list[Unsnapshottable] = []
    manifests: dict[str, dict[str, object]] = {}
    for part in parts:
        for v in part.volumes:
            volumes.setdefault(v.key, v)
        for g in part.groups:
            groups.setdefault(g.name, g)
        for p in part.pods:
            pods.setdefault(f"{p.namespace}/{p.name}", p)
        skipped.extend(part.unsnapshottable)
        for key, manifest in part.manifests.items():
            manifests.setdefault(key, manifest)
    return Inventory(
        volumes=list(volumes.values()),
        groups=list(groups.values()),
        pods=list(pods.values()),
        unsnapshottable=skipped,
        manifests=manifests,
    )
