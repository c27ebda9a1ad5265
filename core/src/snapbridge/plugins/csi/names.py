"""Deterministic names: a rerun with the same run id finds what an earlier attempt created."""

from __future__ import annotations

import hashlib

RUN_LABEL = "snapbridge.io/run-id"
GROUP_LABEL = "snapbridge.io/group"
PVC_ANNOTATION = "snapbridge.io/source-pvc"


def snapshot_name(run_id: str, pvc_uid: str) -> str:
    return f"sb-{run_id}-{pvc_uid[:18]}"[:253]


def group_snapshot_name(run_id: str, group: str) -> str:
    digest = hashlib.sha256(f"{run_id}/{group}".encode()).hexdigest()[:10]
    return f"sbg-{run_id}-{digest}"


def member_label_value(vgs_name: str) -> str:
    """A label value selecting a group's PVCs (<= 63 chars)."""
    return vgs_name[:63].rstrip("-")


def member_content_name(vgs_uid: str, volume_handle: str) -> str:
    """Upstream naming of a group member's VolumeSnapshotContent."""
    return "snapcontent-" + hashlib.sha256((vgs_uid + volume_handle).encode()).hexdigest()


def restored_snapshot_name(restore_point: str, pvc: str) -> str:
    digest = hashlib.sha256(f"{restore_point}/{pvc}".encode()).hexdigest()[:10]
    return f"sbr-{restore_point}-{digest}"[:253]
