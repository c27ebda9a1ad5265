"""The run context every phase hook receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .cluster import Cluster
    from .models import BackupRequest, ProgressEvent, QuiesceRecord

__all__ = ["RunContext", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class RunContext:
    """Everything a hook needs besides its own typed input.

    ``backend_settings`` is the selected backend's own typed config model; ``emit`` sends a
    :class:`~snapbridge.models.ProgressEvent` to the observers; ``retry`` runs a callable under
    the engine's single retry policy (retries :class:`~snapbridge.errors.RetryableError` only).
    ``frozen`` is the quiesce ledger: a plugin appends each record the moment it has frozen
    something, so the engine thaws it even if the plugin fails before returning.
    ``request`` is the backup being run (set by the engine for every phase, also on resume).
    """

    run_id: str
    backend: str
    cluster: Cluster
    backend_settings: BaseModel | None = None
    emit: Callable[[ProgressEvent], None] = field(default=lambda _event: None)
    retry: Callable[[Callable[[], Any], str], Any] = field(default=lambda fn, _what: fn())
    system_namespace: str = "snapbridge-system"
    dry_run: bool = False
    frozen: list[QuiesceRecord] = field(default_factory=list)
    request: BackupRequest | None = None
    extras: dict[str, Any] = field(default_factory=dict)
