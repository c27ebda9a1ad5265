"""The run journal: what a backup run has finished, so a rerun resumes where it stopped.

:class:`MemoryJournal` keeps it in the process (tests, dry runs); the cluster journal
(``snapbridge._internal.k8s.journal``) keeps it in a ConfigMap in the snapbridge namespace,
outside the protected namespace.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import ConfigDict, Field

from ..models import Inventory, Model, PhaseOutcome, QuiesceRecord, RestorePoint, SnapshotSet


class JournalState(Model):
    """Mutable while a run progresses; persisted after each phase."""

    model_config = ConfigDict(frozen=False)

    run_id: str
    backend: str
    inventory: Inventory | None = None
    snapshot_sets: dict[str, SnapshotSet] = Field(default_factory=dict)
    ready_sets: dict[str, SnapshotSet] = Field(default_factory=dict)
    thawed: dict[str, list[QuiesceRecord]] = Field(default_factory=dict)
    phases: list[PhaseOutcome] = Field(default_factory=list)
    exported: bool = False


class RunJournal(Protocol):
    def load(self, run_id: str) -> JournalState | None: ...

    def save(self, state: JournalState) -> None: ...

    def save_restore_point(self, restore_point: RestorePoint) -> None: ...

    def get_restore_point(self, name: str) -> RestorePoint | None: ...

    def list_restore_points(self) -> list[RestorePoint]: ...

    def delete_restore_point(self, name: str) -> None: ...


class MemoryJournal:
    """A journal that lives as long as the process."""

    def __init__(self) -> None:
        self.states: dict[str, JournalState] = {}
        self.restore_points: dict[str, RestorePoint] = {}

    def load(self, run_id: str) -> JournalState | None:
        return self.states.get(run_id)

    def save(self, state: JournalState) -> None:
        self.states[state.run_id] = state

    def save_restore_point(self, restore_point: RestorePoint) -> None:
        self.restore_points[restore_point.name] = restore_point

    def get_restore_point(self, name: str) -> RestorePoint | None:
        return self.restore_points.get(name)

    def list_restore_points(self) -> list[RestorePoint]:
        return sorted(self.restore_points.values(), key=lambda r: r.created)

    def delete_restore_point(self, name: str) -> None:
        self.restore_points.pop(name, None)
