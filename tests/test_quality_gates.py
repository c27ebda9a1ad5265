"""ruff, mypy --strict and the import rules, over every package, as part of the test suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "core/src/snapbridge",
    *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("plugins/*/src/snapbridge_*")),
]
pytestmark = pytest.mark.lint


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600)


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is not installed; run `uv sync`"
    return found


def test_ruff_check() -> None:
    out = _run(_tool("ruff"), "check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format() -> None:
    out = _run(_tool("ruff"), "format", "--check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict() -> None:
    out = _run(_tool("mypy"), *PACKAGES)
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_rules() -> None:
    out = _run(_tool("lint-imports"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "broken" not in out.stdout.lower() or " 0 broken" in out.stdout.lower(), out.stdout
