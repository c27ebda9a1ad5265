"""Registers the ``trilio`` backend with snapbridge (entry point ``snapbridge: trilio``)."""

from __future__ import annotations

from collections.abc import Sequence

from snapbridge import AdapterSpec, Capability, hookimpl

from . import __version__
from .config import TrilioConfig


@hookimpl
def snapbridge_adapters() -> Sequence[AdapterSpec]:
    return [
        AdapterSpec(
            name="trilio",
            version=__version__,
            capabilities=frozenset(
                {Capability.QUIESCE, Capability.EXPORT, Capability.RESTORE, Capability.VENDOR_HOOKS}
            ),
            config_model=TrilioConfig,
            description="TrilioVault for Kubernetes (BackupPlan / Backup / Restore CRs)",
        )
    ]
