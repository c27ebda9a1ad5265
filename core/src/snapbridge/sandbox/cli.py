"""`snapbridge sandbox up|down|status|env|build`: a local Kubernetes to point snapbridge at."""

from __future__ import annotations

import json
import shlex
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from snapbridge.sandbox._assets import AssetsError, ensure_assets
from snapbridge.sandbox._controlplane import Sandbox, SandboxError

app = typer.Typer(
    name="sandbox",
    help="A local Kubernetes (real kube-apiserver, simulated CSI storage) to try snapbridge on.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Where the sandbox keeps its state [default: $SNAPBRIDGE_SANDBOX_DIR or "
        "${XDG_STATE_HOME:-~/.local/state}/snapbridge/sandbox].",
    ),
]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/] {exc}", highlight=False)
    return typer.Exit(1)


@app.command()
def up(state_dir: StateDirOption = None) -> None:
    """Start the sandbox in the background (idempotent: a healthy one is left as it is)."""
    sandbox = Sandbox(state_dir, detached=True, console=err)
    started = time.monotonic()
    try:
        state = sandbox.up()
    except (SandboxError, AssetsError, OSError) as exc:
        raise _fail(exc) from exc
    if sandbox.reused:
        err.print(f"Sandbox already running at {state.server} (since {state.started_at:%H:%M:%S}).")
    else:
        err.print(
            f"Sandbox ready at {state.server} in {state.ready_seconds:.1f} s "
            f"({time.monotonic() - started:.1f} s including checks)."
        )
    err.print("Use it with:")
    out.print(f"export KUBECONFIG={shlex.quote(str(state.kubeconfig))}", highlight=False)
    err.print("Stop it with: snapbridge sandbox down")


@app.command()
def down(state_dir: StateDirOption = None) -> None:
    """Stop every sandbox process and delete the sandbox's state directory."""
    sandbox = Sandbox(state_dir, console=err)
    try:
        sandbox.down()
    except (SandboxError, RuntimeError, OSError) as exc:
        raise _fail(exc) from exc
    err.print(f"Sandbox stopped; removed {sandbox.state_dir}.")


@app.command()
def status(
    state_dir: StateDirOption = None,
    output: Annotated[OutputFormat, typer.Option("-o", "--output")] = OutputFormat.table,
) -> None:
    """Show whether the sandbox runs: processes, pids, ports, versions, logs."""
    report = Sandbox(state_dir, console=err).status()
    if output is OutputFormat.json:
        out.print_json(report.model_dump_json())
        raise typer.Exit(0 if report.running else 3)
    state = report.state
    if state is None:
        out.print(f"Sandbox is not running (state directory {report.state_dir}).")
        raise typer.Exit(3)
    table = Table(title=f"snapbridge sandbox ({'running' if report.running else 'UNHEALTHY'})")
    for column in ("process", "pid", "alive", "log"):
        table.add_column(column)
    for process in report.processes:
        alive = "[green]yes[/]" if process.alive else "[red]no[/]"
        table.add_row(process.name, str(process.pid), alive, str(process.log))
    out.print(table)
    out.print(f"server:      {state.server}  (apiserver ready: {report.api_ready})")
    out.print(f"kubeconfig:  {state.kubeconfig}")
    out.print(f"ports:       {', '.join(f'{k}={v}' for k, v in state.ports.items())}")
    out.print(f"versions:    {', '.join(f'{k} {v}' for k, v in state.versions.items())}")
    kcm = "yes" if state.controller_manager else "no (binary not found; namespaces won't finalize)"
    out.print(f"controller manager: {kcm}")
    out.print(f"simulator:   {report.simulator}")
    out.print(f"binaries:    {state.assets}")
    raise typer.Exit(0 if report.running else 3)


@app.command()
def env(state_dir: StateDirOption = None) -> None:
    """Print shell exports for the sandbox: `eval "$(snapbridge sandbox env)"`."""
    sandbox = Sandbox(state_dir, console=err)
    if sandbox.state() is None:
        err.print("Sandbox is not running; start it with `snapbridge sandbox up`.")
        raise typer.Exit(3)
    for name, value in sandbox.env().items():
        out.print(f"export {name}={shlex.quote(value)}", highlight=False)


@app.command()
def build(
    force: Annotated[bool, typer.Option(help="Rebuild even if cached binaries exist.")] = False,
) -> None:
    """Build (or locate) kube-apiserver, kube-controller-manager, etcd and bwrap."""
    try:
        assets = ensure_assets(err, force_build=force)
    except AssetsError as exc:
        raise _fail(exc) from exc
    manifest = assets.bin_dir.parent / "manifest.json"
    err.print(f"Kubernetes binaries: {assets.bin_dir} (from {assets.origin})")
    if manifest.is_file():
        out.print_json(json.dumps(json.loads(manifest.read_text())))
