"""Typed models at every snapbridge boundary (pydantic v2, camelCase aliases)."""

from ._base import Model
from .backup import (
    BackupRequest,
    BackupResult,
    ExportResult,
    Inventory,
    PhaseOutcome,
    ProgressEvent,
    QuiesceRecord,
    SnapshotRecord,
    SnapshotSet,
)
from .common import (
    BACKUP_PHASES,
    Capability,
    ConsistencyGroup,
    ConsistencyLevel,
    Phase,
    PhaseStatus,
    PodRef,
    TimeWindow,
    Unsnapshottable,
    VolumeRef,
)
from .plan import Plan, PlanEntry, PlanNote
from .restore import (
    FreezeWindow,
    RestoredVolume,
    RestoreMode,
    RestorePoint,
    RestorePointState,
    RestoreRequest,
    RestoreResult,
)

__all__ = [
    "BACKUP_PHASES",
    "BackupRequest",
    "BackupResult",
    "Capability",
    "ConsistencyGroup",
    "ConsistencyLevel",
    "ExportResult",
    "FreezeWindow",
    "Inventory",
    "Model",
    "Phase",
    "PhaseOutcome",
    "PhaseStatus",
    "Plan",
    "PlanEntry",
    "PlanNote",
    "PodRef",
    "ProgressEvent",
    "QuiesceRecord",
    "RestoreMode",
    "RestorePoint",
    "RestorePointState",
    "RestoreRequest",
    "RestoreResult",
    "RestoredVolume",
    "SnapshotRecord",
    "SnapshotSet",
    "TimeWindow",
    "Unsnapshottable",
    "VolumeRef",
]
