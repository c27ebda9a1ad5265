"""pytest plugin (entry point `snapbridge_sandbox`): the session-wide `sandbox` fixture.

    @pytest.mark.sandbox
    def test_something(sandbox):
        CoreV1Api(sandbox.api_client).list_namespace()

One sandbox per session, in its own temporary state directory (never the `snapbridge sandbox up`
one), torn down when the session ends. Missing binaries are built first (minutes, once per
cache); when that is impossible the fixture errors with what to do. With
`SNAPBRIDGE_SANDBOX_KUBECONFIG` set, the fixture uses that running sandbox and starts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from snapbridge.sandbox._assets import ensure_assets
from snapbridge.sandbox._controlplane import Sandbox
from snapbridge.sandbox._names import KUBECONFIG_ENV
from snapbridge.sandbox._state import SandboxState

MARKER = "sandbox"


@dataclass(frozen=True)
class SandboxHandle:
    """What the `sandbox` fixture yields."""

    kubeconfig: Path
    api_client: Any
    """A connected `kubernetes.client.ApiClient` of the sandbox admin (closed at session end)."""
    state: SandboxState | None
    """Processes, ports, versions; None when reusing a sandbox (SNAPBRIDGE_SANDBOX_KUBECONFIG)."""


def pytest_configure(config: pytest.Config) -> None:
    # The sandbox's kubeconfig skips TLS verification (self-signed loopback certificate); urllib3
    # warns about that on every request, which `filterwarnings = error` would turn into failures.
    config.addinivalue_line("filterwarnings", "ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the fixture carry the `sandbox` marker, so `-m "not sandbox"` skips them."""
    for item in items:
        if MARKER in getattr(item, "fixturenames", ()) and item.get_closest_marker(MARKER) is None:
            item.add_marker(MARKER)


def _api_client(kubeconfig: Path) -> Any:
    from kubernetes.config import new_client_from_config

    return new_client_from_config(config_file=str(kubeconfig), persist_config=False)


def _uncaptured(config: pytest.Config) -> Any:
    capture = config.pluginmanager.getplugin("capturemanager")
    return capture.global_and_fixture_disabled() if capture is not None else nullcontext()


@pytest.fixture(scope="session")
def sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SandboxHandle]:
    """A running sandbox (real apiserver + controller manager + simulator) for the session."""
    reuse = os.environ.get(KUBECONFIG_ENV)
    if reuse:
        client = _api_client(Path(reuse))
        try:
            yield SandboxHandle(kubeconfig=Path(reuse), api_client=client, state=None)
        finally:
            client.close()
        return
    with _uncaptured(request.config):
        console = Console(stderr=True)
        ensure_assets(console)
        box = Sandbox(tmp_path_factory.mktemp("sandbox"), console=console)
        state = box.up()
    try:
        client = _api_client(box.kubeconfig)
        try:
            yield SandboxHandle(kubeconfig=box.kubeconfig, api_client=client, state=state)
        finally:
            client.close()
    finally:
        box.down()
