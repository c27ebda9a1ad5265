"""Fixtures shared by the cross-package tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from snapbridge._internal.k8s import KubeCluster, connect


@pytest.fixture
def kube_cluster(sandbox: Any) -> Iterator[KubeCluster]:
    """snapbridge's cluster facade, connected to the session's sandbox."""
    facade = connect(sandbox.kubeconfig)
    try:
        yield facade
    finally:
        facade.close()
