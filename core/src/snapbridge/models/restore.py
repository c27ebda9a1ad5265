"""RestorePoint: the durable record of a backup, and restore requests/results."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from ._base import Model
from .backup import PhaseOutcome, SnapshotRecord
from .common import TimeWindow


class RestorePointState(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETE = "Complete"
    PARTIAL = "Partial"
    FAILED = "Failed"


class FreezeWindow(Model):
    """How long a group (or one pod in it) had its I/O stopped."""

    group: str
    pod: str | None = None
    window: TimeWindow
    plugin: str = ""


class RestorePoint(Model):
    """What a backup produced, kept outside the protected namespace so it survives it."""

    name: str
    run_id: str
    backend: str
    created: datetime
    state: RestorePointState = RestorePointState.IN_PROGRESS
    namespaces: list[str] = Field(default_factory=list)
    volumes: list[SnapshotRecord] = Field(default_factory=list)
    freeze_windows: list[FreezeWindow] = Field(default_factory=list)
    manifests: dict[str, dict[str, Any]] = Field(default_factory=dict)
    export_location: str | None = None
    phases: list[PhaseOutcome] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class RestoreMode(StrEnum):
    SNAPSHOT = "snapshot"
    CLONE = "clone"


class RestoreRequest(Model):
    """Restore a RestorePoint's volumes as new PVCs."""

    restore_point: str
    target_namespace: str | None = Field(
        default=None, description="Restore every volume here; default: its source namespace."
    )
    namespace_map: dict[str, str] = Field(default_factory=dict)
    storage_class: str | None = None
    mode: RestoreMode = RestoreMode.SNAPSHOT
    pvc_names: list[str] = Field(default_factory=list, description="Subset; empty = all.")
    name_suffix: str | None = Field(
        default=None,
        pattern=r"^[-a-z0-9]{0,20}$",
        description="Appended to each PVC name; clone mode defaults to '-clone'.",
    )
    wait_bound_seconds: float = Field(default=300, gt=0)

    def namespace_for(self, source_namespace: str) -> str:
        if self.target_namespace:
            return self.target_namespace
        return self.namespace_map.get(source_namespace, source_namespace)


class RestoredVolume(Model):
    source: str
    namespace: str
    pvc: str
    from_snapshot: str | None = None
    bound: bool = False


class RestoreResult(Model):
    restore_point: str
    volumes: list[RestoredVolume] = Field(default_factory=list)
    restored_by: str = ""
