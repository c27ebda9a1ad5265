"""Progress observers for the CLI: rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..hookspecs import hookimpl
from ..models import ProgressEvent


class PlainProgress:
    """One line per event on stderr (CI logs, ``kubectl logs``)."""

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    @hookimpl
    def snapbridge_progress(self, event: ProgressEvent) -> None:
        where = f" {event.volume}" if event.volume else ""
        print(
            f"{event.at:%H:%M:%S} {event.phase.value:<8} {event.state:<7}{where} {event.message}",
            file=sys.stderr,
            flush=True,
        )


class RichProgress:
    """A bar per phase, advanced per volume, on a terminal."""

    def __init__(self, total_volumes: int = 0) -> None:
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"),
            console=self.console,
        )
        self.tasks: dict[str, Any] = {}
        self.total = total_volumes

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    def _task(self, phase: str) -> Any:
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(phase, total=self.total or None, note="")
        return self.tasks[phase]

    @hookimpl
    def snapbridge_progress(self, event: ProgressEvent) -> None:
        task = self._task(event.phase.value)
        if event.volume and event.state == "done":
            self.progress.advance(task)
        self.progress.update(task, note=event.message[:60])
        if event.state in ("error", "warning"):
            self.console.print(f"[bold red]{event.phase.value}[/]: {event.message}")


def make_observer() -> PlainProgress | RichProgress:
    return RichProgress() if sys.stderr.isatty() else PlainProgress()
