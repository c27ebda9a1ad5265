"""snapbridge: one contract for driving Kubernetes CSI snapshots from backup tools.

The public surface is small: the hook marker, the adapter registration types, the typed
models, the errors, and the cluster facade protocol. Everything under ``_internal`` is
private. Names are imported lazily (PEP 562) so ``snapbridge --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "SPEC_VERSION": "adapter",
    "AdapterSpec": "adapter",
    "BackendConfig": "adapter",
    "Capability": "models",
    "Cluster": "cluster",
    "ConfigError": "errors",
    "ExecResult": "cluster",
    "PermanentError": "errors",
    "PluginConflictError": "errors",
    "PluginError": "errors",
    "ResourceKind": "cluster",
    "RetryableError": "errors",
    "RunContext": "context",
    "SnapbridgeError": "errors",
    "hookimpl": "hookspecs",
}

__all__ = [
    "SPEC_VERSION",
    "AdapterSpec",
    "BackendConfig",
    "Capability",
    "Cluster",
    "ConfigError",
    "ExecResult",
    "PermanentError",
    "PluginConflictError",
    "PluginError",
    "ResourceKind",
    "RetryableError",
    "RunContext",
    "SnapbridgeError",
    "__version__",
    "hookimpl",
]

if TYPE_CHECKING:
    from .adapter import SPEC_VERSION, AdapterSpec, BackendConfig
    from .cluster import Cluster, ExecResult, ResourceKind
    from .context import RunContext
    from .errors import (
        ConfigError,
        PermanentError,
        PluginConflictError,
        PluginError,
        RetryableError,
        SnapbridgeError,
    )
    from .hookspecs import hookimpl
    from .models import Capability


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'snapbridge' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
