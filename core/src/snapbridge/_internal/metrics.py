"""Prometheus metrics of this process, on an explicit registry."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, write_to_textfile

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


def write_textfile(path: Path) -> None:
    """For the node-exporter textfile collector (CLI and CronJob runs)."""
    write_to_textfile(str(path), REGISTRY)
