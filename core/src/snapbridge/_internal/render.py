"""Rendering tables and documents for the CLI (rich on a terminal, plain otherwise)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

# off a terminal (CI logs, pipes) rich would wrap at 80 columns; tables stay one row per item
console = Console(width=None if sys.stdout.isatty() else 200)


def when(value: datetime | None) -> str:
    """A timestamp as HH:MM:SS.mmm (UTC) for tables."""
    return f"{value:%H:%M:%S.%f}"[:-3] if value else "-"


def emit_document(data: Any, output: str) -> None:
    if output == "yaml":
        print(yaml.safe_dump(data, sort_keys=False), end="")
    else:
        print(json.dumps(data, indent=2, default=str))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[str(x) if x is not None else "" for x in r])
    console.print(t)


def render_plugins(output: str) -> None:
    from .plugins import create_plugin_host

    host = create_plugin_host()
    if output in ("json", "yaml"):
        emit_document([r.to_json() for r in host.records], output)
        return
    table(
        "snapbridge plugins",
        ["name", "distribution", "version", "capabilities", "state", "reason"],
        [
            (r.name, r.distribution, r.version, ", ".join(r.capabilities), r.state.value, r.reason)
            for r in host.records
        ],
    )
