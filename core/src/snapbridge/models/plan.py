"""The side-effect-free plan of a backup."""

from __future__ import annotations

from pydantic import Field

from ._base import Model


class PlanEntry(Model):
    """What would happen to one PVC."""

    namespace: str
    pvc: str
    snapshot_class: str | None = None
    class_source: str | None = None
    group: str | None = None
    group_snapshot_class: str | None = None
    hooks: list[str] = Field(default_factory=list)
    export_target: str | None = None
    problem: str | None = None


class PlanNote(Model):
    """A remark a plugin makes on the plan (``blocking`` notes make ``plan`` exit non-zero)."""

    plugin: str
    message: str
    blocking: bool = False
    pvc: str | None = None
    hooks: list[str] = Field(default_factory=list)


class Plan(Model):
    run_id: str
    backend: str
    entries: list[PlanEntry] = Field(default_factory=list)
    notes: list[PlanNote] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(e.problem for e in self.entries) and not any(n.blocking for n in self.notes)
