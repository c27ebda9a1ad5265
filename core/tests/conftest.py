"""Fixtures for core unit tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapbridge.testing import FakeSite


@pytest.fixture
def fake_site(tmp_path: Path) -> Iterator[FakeSite]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield FakeSite(tmp_path)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("fake_")]:
            del sys.modules[name]
