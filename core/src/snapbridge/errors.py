"""The snapbridge error tree.

Every error says what went wrong *and what to do next* (``hint``). Errors are split into
:class:`RetryableError` (the engine retries them, in one place, honouring ``retry_after``) and
:class:`PermanentError` (never retried). Adapters classify; they never retry on their own.
"""

from __future__ import annotations

__all__ = [
    "ClusterAPIError",
    "ConfigError",
    "PermanentError",
    "PluginConflictError",
    "PluginError",
    "RetryableError",
    "SnapbridgeError",
    "SnapshotFailedError",
    "UnsnapshottableError",
]


class SnapbridgeError(Exception):
    """Base of every error snapbridge raises on purpose.

    ``hint`` tells the user what to do next; the CLI prints it under the message.
    """

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class PermanentError(SnapbridgeError):
    """Retrying cannot help: bad input, missing permission, a driver that refused."""


class RetryableError(SnapbridgeError):
    """A transient condition (throttling, 5xx, a vendor busy). ``retry_after`` in seconds when
    the other side said how long to wait (HTTP ``Retry-After``)."""

    def __init__(self, message: str, *, hint: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class ConfigError(PermanentError):
    """The configuration is invalid. ``location`` is the dotted path of the bad field."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str = "", location: str = "") -> None:
        super().__init__(message, hint=hint)
        self.location = location


class PluginError(PermanentError):
    """A plugin could not be loaded or validated."""

    def __init__(self, message: str, *, plugin_name: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.plugin_name = plugin_name


class PluginConflictError(PluginError):
    """Two installed distributions register an adapter with the same name."""


class ClusterAPIError(SnapbridgeError):
    """The Kubernetes API answered with an error that is not retryable (4xx other than 429)."""

    exit_code = 4

    def __init__(self, message: str, *, status: int, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.status = status


class UnsnapshottableError(PermanentError):
    """A selected volume cannot be snapshotted (unbound, not CSI, no snapshot class)."""

    exit_code = 3


class SnapshotFailedError(PermanentError):
    """The storage driver reported a snapshot error (``status.error``)."""

    def __init__(self, message: str, *, pvc: str, driver_message: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.pvc = pvc
        self.driver_message = driver_message
