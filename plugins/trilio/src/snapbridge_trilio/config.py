"""Typed config of the TrilioVault for Kubernetes backend (``triliovault.trilio.io/v1``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from snapbridge import BackendConfig


class TrilioConfig(BackendConfig):
    """Drives TVK through its CRDs: a Target, a BackupPlan per application, Backup/Restore CRs.

    Example (YAML)::

        backend:
          name: trilio
          target: s3-target
          targetNamespace: trilio-system
    """

    name: Literal["trilio"] = "trilio"
    target: str = Field(description="Name of the TVK Target (spec.type ObjectStore or NFS).")
    target_namespace: str = "trilio-system"
    backup_plan: str | None = Field(
        default=None, description="Existing BackupPlan to use; default: one per namespace."
    )
    backup_type: Literal["Full", "Incremental"] = "Full"
    hook_name: str | None = Field(default=None, description="A TVK Hook CR used for quiesce.")
