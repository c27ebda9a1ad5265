"""Inputs and results of a backup run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from ._base import Model
from .common import (
    ConsistencyGroup,
    ConsistencyLevel,
    Phase,
    PhaseStatus,
    PodRef,
    TimeWindow,
    Unsnapshottable,
    VolumeRef,
)


class BackupRequest(Model):
    """What to back up. Built by the CLI or an API caller; passed to every phase hook."""

    run_id: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$")
    namespaces: list[str] = Field(min_length=1)
    selector: str | None = Field(default=None, description="Label selector over PVCs.")
    pvc_names: list[str] = Field(default_factory=list)
    snapshot_classes: dict[str, str] = Field(
        default_factory=dict, description="CSI driver -> VolumeSnapshotClass to use."
    )
    group_by: str = Field(
        default="namespace",
        description="'namespace' (one group per namespace), 'none' (every PVC alone), "
        "or a label key whose value names the group.",
    )
    use_group_snapshots: bool = True
    export_target: str | None = None
    concurrency: int = Field(default=16, ge=1, le=256)
    snapshot_deadline_seconds: float = Field(default=600, gt=0)
    cut_deadline_seconds: float = Field(default=120, gt=0)


class Inventory(Model):
    """What discovery found: volumes grouped for consistency, and what was left out."""

    volumes: list[VolumeRef] = Field(default_factory=list)
    groups: list[ConsistencyGroup] = Field(default_factory=list)
    pods: list[PodRef] = Field(default_factory=list)
    unsnapshottable: list[Unsnapshottable] = Field(default_factory=list)
    manifests: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="PVC key -> its manifest as selected (for export)."
    )


class QuiesceRecord(Model):
    """One quiesce action a plugin performed; handed back to the same plugin to thaw."""

    plugin: str
    group: str
    pod: PodRef | None = None
    container: str | None = None
    volumes: list[str] = Field(default_factory=list, description="PVC keys covered.")
    frozen: TimeWindow | None = None
    degraded_reason: str | None = None
    thaw_error: str | None = Field(
        default=None, description="Set by thaw when it could not thaw this (phase fails)."
    )
    state: dict[str, Any] = Field(default_factory=dict, description="Plugin-private thaw data.")


class SnapshotRecord(Model):
    """One volume's snapshot, from the cut to readiness."""

    volume: VolumeRef
    snapshot_name: str
    snapshot_namespace: str
    content_name: str | None = None
    snapshot_handle: str | None = None
    driver: str | None = None
    group_snapshot_name: str | None = None
    group_snapshot_api: str | None = None
    cut_time: datetime | None = None
    ready_time: datetime | None = None
    restore_size: str | None = None
    consistency: ConsistencyLevel = ConsistencyLevel.CRASH
    quiesced_by: list[str] = Field(default_factory=list)
    degraded_reason: str | None = None


class SnapshotSet(Model):
    """Every snapshot of one consistency group, as returned at the cut."""

    group: str
    records: list[SnapshotRecord]
    group_snapshot_name: str | None = None
    group_snapshot_api: str | None = None
    cut_at: datetime | None = None
    created_by: str = ""


class ExportResult(Model):
    location: str
    artifacts: list[str] = Field(default_factory=list)
    exported_by: str = ""


class PhaseOutcome(Model):
    phase: Phase
    status: PhaseStatus
    started: datetime
    ended: datetime
    error: str | None = None
    detail: str = ""


class ProgressEvent(Model):
    """Something happened in a run; observers render it (rich, plain lines, metrics)."""

    run_id: str
    phase: Phase
    message: str
    volume: str | None = None
    state: str = "info"
    at: datetime


class BackupResult(Model):
    """The outcome of :meth:`BackupEngine.run`: a record of each phase and the RestorePoint."""

    run_id: str
    ok: bool
    phases: list[PhaseOutcome] = Field(default_factory=list)
    restore_point: str | None = None
    error: str | None = None
    snapshots: list[SnapshotRecord] = Field(default_factory=list)
    unsnapshottable: list[Unsnapshottable] = Field(default_factory=list)
