"""Prometheus metrics of this process, on an explicit registry."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, write_to_textfile

if TYPE_CHECKING:
    from ..models import QuiesceRecord

REGISTRY = CollectorRegistry()
PHASE_SECONDS = Histogram(
    "snapbridge_phase_duration_seconds",
    "Time spent in a phase hook.",
    ["phase"],
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
FREEZE_SECONDS = Histogram(
    "snapbridge_freeze_window_seconds",
    "First freeze start to last thaw end, per consistency group.",
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
OPERATIONS = Counter(
    "snapbridge_operations_total",
    "Backup and restore operations by outcome.",
    ["operation", "outcome"],
    registry=REGISTRY,
)


def observe_phase(phase: str, seconds: float) -> None:
    PHASE_SECONDS.labels(phase=phase).observe(seconds)


def observe_freeze(records: Sequence[QuiesceRecord]) -> float | None:
    """Observe a group's freeze window (first freeze start -> last thaw end); its seconds."""
    windows = [r.frozen for r in records if r.frozen is not None]
    if not windows:
        return None
    seconds = (max(w.end for w in windows) - min(w.start for w in windows)).total_seconds()
    FREEZE_SECONDS.observe(seconds)
    return seconds


def write_textfile(path: Path) -> None:
    """For the node-exporter textfile collector (CLI and CronJob runs)."""
    write_to_textfile(str(path), REGISTRY)
