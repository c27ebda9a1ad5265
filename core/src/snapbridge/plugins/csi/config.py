"""Config of the built-in ``csi`` backend."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...adapter import BackendConfig


class CsiBackendConfig(BackendConfig):
    """The vendor-neutral backend: CSI snapshots kept in the cluster, records exported to a
    directory target.

    Example (YAML)::

        backend:
          name: csi
          exportTarget: file:///var/lib/snapbridge/exports
    """

    name: Literal["csi"] = "csi"
    export_target: str = Field(
        default="file://~/.local/share/snapbridge/exports",
        pattern=r"^file://.+",
        description="Where RestorePoints and PVC manifests are written (file://DIR).",
    )
