"""Typed config of the IBM Spectrum Protect Plus backend (REST ``/api/endeavour``, ``/ngp``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, HttpUrl, SecretStr

from snapbridge import BackendConfig


class SpectrumConfig(BackendConfig):
    """Talks to the SPP server's REST API (session login with HTTP Basic, then a session id).

    Example (YAML; the password is better given as SNAPBRIDGE_BACKEND__PASSWORD)::

        backend:
          name: spectrum
          url: https://spp.example.internal
          username: admin
          slaPolicy: Gold
    """

    name: Literal["spectrum"] = "spectrum"
    url: HttpUrl
    username: str
    password: SecretStr
    sla_policy: str = Field(description="SLA policy name used for ad-hoc backups.")
    verify_tls: bool = True
    site: str | None = None
