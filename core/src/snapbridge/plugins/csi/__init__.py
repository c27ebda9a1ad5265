"""Built-in ``csi`` plugin: vendor-neutral CSI VolumeSnapshots and VolumeGroupSnapshots.

It registers the ``csi`` backend and implements discover, snapshot, wait_ready, restore and
(for the ``csi`` backend) export.
"""

from __future__ import annotations

from collections.abc import Sequence

from ... import __version__
from ...adapter import AdapterSpec
from ...hookspecs import hookimpl
from ...models import Capability
from .config import CsiBackendConfig

__all__ = ["CsiBackendConfig"]


@hookimpl
def snapbridge_adapters() -> Sequence[AdapterSpec]:
    return [
        AdapterSpec(
            name="csi",
            version=__version__,
            capabilities=frozenset(
                {
                    Capability.DISCOVER,
                    Capability.SNAPSHOT,
                    Capability.GROUP_SNAPSHOT,
                    Capability.EXPORT,
                    Capability.RESTORE,
                    Capability.CLONE,
                }
            ),
            config_model=CsiBackendConfig,
            description="Kubernetes CSI snapshots, records exported to a directory",
        )
    ]
