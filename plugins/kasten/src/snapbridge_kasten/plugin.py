"""Registers the ``kasten`` backend with snapbridge (entry point ``snapbridge: kasten``)."""

from __future__ import annotations

from collections.abc import Sequence

from snapbridge import AdapterSpec, Capability, hookimpl

from . import __version__
from .config import KastenConfig


@hookimpl
def snapbridge_adapters() -> Sequence[AdapterSpec]:
    return [
        AdapterSpec(
            name="kasten",
            version=__version__,
            capabilities=frozenset(
                {Capability.QUIESCE, Capability.EXPORT, Capability.RESTORE, Capability.VENDOR_HOOKS}
            ),
            config_model=KastenConfig,
            description="Kasten K10 (actions.kio.kasten.io, Kanister blueprints)",
        )
    ]
