"""The sandbox's state directory: where it is, what `state.json` records, and safe removal."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from snapbridge.sandbox._names import STATE_DIR_ENV
from snapbridge.sandbox._processes import ProcessRecord

STATE_FILE = "state.json"
MARKER_FILE = ".snapbridge-sandbox"
SIM_STATUS_FILE = "sim-status"


class SandboxState(BaseModel):
    """What a running sandbox is made of; written to `state.json` once it is ready."""

    state_dir: Path
    kubeconfig: Path
    server: str
    ports: dict[str, int]
    processes: list[ProcessRecord]
    versions: dict[str, str]
    controller_manager: bool
    detached: bool
    assets: Path
    started_at: datetime
    ready_seconds: float

    def process(self, name: str) -> ProcessRecord | None:
        return next((p for p in self.processes if p.name == name), None)


def default_state_dir() -> Path:
    """`$SNAPBRIDGE_SANDBOX_DIR`, else `${XDG_STATE_HOME:-~/.local/state}/snapbridge/sandbox`."""
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "snapbridge" / "sandbox"


def read_state(state_dir: Path) -> SandboxState | None:
    try:
        text = (state_dir / STATE_FILE).read_text()
    except OSError:
        return None
    try:
        return SandboxState.model_validate_json(text)
    except ValueError:
        return None


def write_state(state: SandboxState) -> None:
    tmp = state.state_dir / f"{STATE_FILE}.tmp"
    tmp.write_text(state.model_dump_json(indent=2) + "\n")
    tmp.replace(state.state_dir / STATE_FILE)


def forget_state(state_dir: Path) -> None:
    (state_dir / STATE_FILE).unlink(missing_ok=True)


def read_sim_status(state_dir: Path) -> str:
    """What the daemon last reported about the simulator (`running`, `unavailable: ...`, ...)."""
    try:
        return (state_dir / SIM_STATUS_FILE).read_text().strip()
    except OSError:
        return "not started"


def remove_state_dir(state_dir: Path) -> None:
    """Delete the directory, but only if it is a sandbox's (or empty): never a user's folder."""
    if not state_dir.exists():
        return
    if (state_dir / MARKER_FILE).is_file() or not any(state_dir.iterdir()):
        shutil.rmtree(state_dir)
        return
    raise RuntimeError(f"refusing to delete {state_dir}: not a snapbridge sandbox directory")


def create_state_dir(state_dir: Path) -> None:
    """A fresh, private (0700) state directory with the sandbox marker."""
    remove_state_dir(state_dir)
    state_dir.mkdir(mode=0o700, parents=True)
    (state_dir / MARKER_FILE).write_text("state directory of a snapbridge sandbox\n")
