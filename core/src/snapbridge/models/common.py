"""Shared vocabulary: phases, capabilities, consistency levels, references to cluster objects."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from ._base import Model


class Phase(StrEnum):
    """The phases of a backup run, in order, and restore."""

    DISCOVER = "discover"
    QUIESCE = "quiesce"
    SNAPSHOT = "snapshot"
    THAW = "thaw"
    READY = "ready"
    EXPORT = "export"
    RESTORE = "restore"


BACKUP_PHASES: tuple[Phase, ...] = (
    Phase.DISCOVER,
    Phase.QUIESCE,
    Phase.SNAPSHOT,
    Phase.THAW,
    Phase.READY,
    Phase.EXPORT,
)


class Capability(StrEnum):
    """What an adapter can do; the engine negotiates on these instead of on versions."""

    DISCOVER = "discover"
    QUIESCE = "quiesce"
    SNAPSHOT = "snapshot"
    GROUP_SNAPSHOT = "group-snapshot"
    EXPORT = "export"
    RESTORE = "restore"
    CLONE = "clone"
    VENDOR_HOOKS = "vendor-hooks"


class ConsistencyLevel(StrEnum):
    """How consistent a volume's snapshot is.

    ``app``: every pod using the volume was quiesced at the cut. ``group-crash``: cut at one
    instant with the other members of its group, no quiesce. ``crash``: cut on its own.
    """

    APP = "app"
    GROUP_CRASH = "group-crash"
    CRASH = "crash"


class PhaseStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    RESUMED = "resumed"


class VolumeRef(Model):
    """One PVC selected for backup, resolved down to its CSI driver and snapshot class."""

    namespace: str
    pvc: str
    uid: str
    pv: str | None = None
    volume_handle: str | None = None
    storage_class: str | None = None
    driver: str | None = None
    size: str | None = None
    snapshot_class: str | None = None
    snapshot_class_source: str | None = Field(
        default=None,
        description="Why this class was chosen (annotation, request, velero, default).",
    )
    labels: dict[str, str] = Field(default_factory=dict)
    access_modes: list[str] = Field(default_factory=list)
    volume_mode: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.pvc}"


class PodRef(Model):
    """A pod that mounts selected volumes: quiesce targets."""

    namespace: str
    name: str
    uid: str = ""
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    containers: list[str] = Field(default_factory=list)
    mounts: dict[str, list[str]] = Field(
        default_factory=dict, description="PVC name -> mount paths in this pod."
    )


class ConsistencyGroup(Model):
    """Volumes that are cut at one instant (and quiesced together)."""

    name: str
    namespace: str
    volumes: list[VolumeRef]
    pods: list[PodRef] = Field(default_factory=list)
    group_snapshot_class: str | None = None
    group_snapshot_api: str | None = Field(
        default=None, description="groupsnapshot.storage.k8s.io version to use (v1 or v1beta2)."
    )


class Unsnapshottable(Model):
    """A selected PVC that cannot be snapshotted, and why."""

    namespace: str
    pvc: str
    reason: str
    hint: str = ""


class TimeWindow(Model):
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()
