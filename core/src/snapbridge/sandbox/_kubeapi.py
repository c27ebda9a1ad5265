"""A minimal REST client for bootstrapping the sandbox (readiness, server-side apply, CRD state).

The sandbox talks to its own apiserver with httpx rather than the `kubernetes` client: it needs four
calls, and keeping `kubernetes` out of `up()` keeps start-up fast.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

FIELD_MANAGER = "snapbridge-sandbox"


class KubeApiError(RuntimeError):
    """The sandbox apiserver answered with an error, or not in time."""


class KubeApi:
    """Bearer-token access to one apiserver; TLS is not verified (its cert is self-signed)."""

    def __init__(self, server: str, token: str) -> None:
        self._http = httpx.Client(
            base_url=server,
            verify=False,  # noqa: S501 - loopback apiserver with a throw-away self-signed cert
            headers={"Authorization": f"Bearer {token}"},
            timeout=10.0,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KubeApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def is_ready(self, path: str = "/readyz") -> bool:
        """True when `path` (a health endpoint) answers `ok`."""
        try:
            response = self._http.get(path, timeout=2.0)
        except httpx.TransportError:
            return False
        return response.status_code == 200 and response.text.strip() == "ok"

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at `path`, or None on 404."""
        response = self._http.get(path)
        if response.status_code == 404:
            return None
        _raise_for_status(response)
        body: dict[str, Any] = response.json()
        return body

    def apply(self, path: str, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply `manifest` at `path` (idempotent; this sandbox owns the fields)."""
        response = self._http.patch(
            path,
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
            headers={"Content-Type": "application/apply-patch+yaml"},
            json=manifest,
        )
        _raise_for_status(response)
        body: dict[str, Any] = response.json()
        return body

    def wait_crd_established(self, name: str, timeout: float = 30.0) -> None:
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            crd = self.get(path) or {}
            conditions = (crd.get("status") or {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                return
            time.sleep(0.05)
        raise KubeApiError(f"CRD {name} not Established after {timeout:.0f} s")

    def preferred_version(self, group: str, timeout: float = 30.0) -> str:
        """The group's preferred (newest served) version, once discovery lists the group."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.get(f"/apis/{group}")
            if found is not None:
                version: str = found["preferredVersion"]["version"]
                return version
            time.sleep(0.05)
        raise KubeApiError(f"API group {group} not served after {timeout:.0f} s")


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        message = response.json().get("message", response.text)
    except ValueError:
        message = response.text
    raise KubeApiError(
        f"{response.request.method} {response.request.url.path}: {response.status_code} {message}"
    )
