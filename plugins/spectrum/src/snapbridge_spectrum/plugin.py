"""Registers the ``spectrum`` backend with snapbridge (entry point ``snapbridge: spectrum``)."""

from __future__ import annotations

from collections.abc import Sequence

from snapbridge import AdapterSpec, Capability, hookimpl

from . import __version__
from .config import SpectrumConfig


@hookimpl
def snapbridge_adapters() -> Sequence[AdapterSpec]:
    return [
        AdapterSpec(
            name="spectrum",
            version=__version__,
            capabilities=frozenset({Capability.EXPORT, Capability.RESTORE}),
            config_model=SpectrumConfig,
            description="IBM Spectrum Protect Plus (REST API, SLA policies, job sessions)",
        )
    ]
