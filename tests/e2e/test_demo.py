"""`snapbridge demo` end to end: exits 0 only when every byte of every file verified."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.sandbox


def test_demo_verifies_every_byte(sandbox) -> None:  # type: ignore[no-untyped-def]
    assert sandbox.state is not None, "the demo test needs the session's own sandbox"
    env = {**os.environ, "SNAPBRIDGE_SANDBOX_DIR": str(sandbox.state.state_dir)}
    out = subprocess.run(
        [sys.executable, "-m", "snapbridge", "demo"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "using the running sandbox" in out.stderr
    assert "every byte verified: True (12/12 files match)" in out.stdout
    assert "app" in out.stdout  # the pod was quiesced: app-consistent volumes
