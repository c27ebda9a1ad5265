"""Typed config of the Kasten K10 backend (``*.kio.kasten.io`` APIs)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from snapbridge import BackendConfig


class KastenConfig(BackendConfig):
    """Drives K10 through its API: BackupAction/ExportAction/RestoreAction, a location Profile.

    Example (YAML)::

        backend:
          name: kasten
          profile: s3-profile
    """

    name: Literal["kasten"] = "kasten"
    namespace: str = Field(default="kasten-io", description="Where K10 is installed.")
    profile: str = Field(description="Location Profile (config.kio.kasten.io) to export to.")
    policy: str | None = Field(default=None, description="Run this Policy instead of actions.")
    blueprint: str | None = Field(
        default=None, description="Kanister Blueprint with backupPrehook/backupPosthook."
    )
