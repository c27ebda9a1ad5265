"""The ``snapbridge`` command line.

Exit codes (also in the README):

====  =====================================================================
0     success
1     the backup/restore ran and failed (see the phase record)
2     usage or configuration error (bad flag, bad config field, unknown backend)
3     plan found a selected PVC that cannot be snapshotted (nothing was created)
4     the Kubernetes API could not be reached or refused a request
130   interrupted (Ctrl-C); anything frozen was thawed
====  =====================================================================

Heavy modules (kubernetes, the engine) are imported inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

app = typer.Typer(
    name="snapbridge",
    help="Drive Kubernetes CSI snapshots from your backup tool through one contract.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: rendering it with rich costs ~200 ms of imports
)
plugins_app = typer.Typer(
    help="Installed plugins and adapters.", no_args_is_help=True, rich_markup_mode=None
)
config_app = typer.Typer(
    help="Configuration schema and validation.", no_args_is_help=True, rich_markup_mode=None
)
rp_app = typer.Typer(
    help="Restore points (the records backups leave).", no_args_is_help=True, rich_markup_mode=None
)
quiesce_app = typer.Typer(
    help="Quiesce leases: find and thaw what a dead run froze.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(plugins_app, name="plugins")
app.add_typer(config_app, name="config")
app.add_typer(rp_app, name="restore-points")
app.add_typer(quiesce_app, name="quiesce")


class Output(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", envvar="SNAPBRIDGE_CONFIG", help="YAML config file.", show_default=False
    ),
]
KubeconfigOpt = Annotated[
    str | None,
    typer.Option("--kubeconfig", help="Path to a kubeconfig (default: embedded sandbox)."),
]
ContextOpt = Annotated[str | None, typer.Option("--context", help="kubeconfig context to use.")]
NamespaceOpt = Annotated[
    list[str] | None, typer.Option("-n", "--namespace", help="Namespace to protect (repeatable).")
]
SelectorOpt = Annotated[
    str | None, typer.Option("-l", "--selector", help="Label selector over PVCs.")
]
OutputOpt = Annotated[Output, typer.Option("-o", "--output", help="Output format.")]
RunIdOpt = Annotated[
    str | None, typer.Option("--run-id", help="Run id; rerun with the same id to resume.")
]


def fail(err: BaseException) -> NoReturn:
    """Print a snapbridge error with its hint and exit with its code."""
    from .errors import SnapbridgeError

    code = err.exit_code if isinstance(err, SnapbridgeError) else 1
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(code)


# --------------------------------------------------------------------------- plugins
@plugins_app.command("list")
def plugins_list(output: OutputOpt = Output.table) -> None:
    """List plugins: name, distribution, version, capabilities, state (and why)."""
    from ._internal.render import render_plugins

    render_plugins(output.value)


# --------------------------------------------------------------------------- config
@config_app.command("schema")
def config_schema_cmd() -> None:
    """Print the JSON Schema of the configuration (backend section per installed adapter)."""
    import json

    from ._internal.config import config_schema
    from ._internal.plugins import create_plugin_host

    typer.echo(json.dumps(config_schema(create_plugin_host().adapters), indent=2))


@config_app.command("check")
def config_check(path: Annotated[Path, typer.Argument(help="YAML config file.")]) -> None:
    """Validate a config file; names each bad field and why. Exit 2 when invalid."""
    from ._internal.config import check_config_file
    from ._internal.plugins import create_plugin_host

    problems = check_config_file(create_plugin_host().adapters, path)
    for p in problems:
        typer.echo(f"error: {p}", err=True)
    if problems:
        raise typer.Exit(2)
    typer.echo(f"{path}: ok")


# --------------------------------------------------------------------------- verbs
@app.command()
def plan(
    namespace: NamespaceOpt = None,
    selector: SelectorOpt = None,
    pvc: Annotated[list[str] | None, typer.Option("--pvc", help="Only these PVCs.")] = None,
    config: ConfigOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    run_id: RunIdOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show what a backup would do, per PVC, without changing anything. Exit 3 on problems."""
    from ._internal.commands import Selection, run_plan

    sel = Selection(
        namespace or [], selector, pvc or [], config, kubeconfig, context, run_id, output.value
    )
    _guard(lambda: run_plan(sel))


@app.command()
def backup(
    namespace: NamespaceOpt = None,
    selector: SelectorOpt = None,
    pvc: Annotated[list[str] | None, typer.Option("--pvc", help="Only these PVCs.")] = None,
    config: ConfigOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    run_id: RunIdOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Back up the selected PVCs: discover, quiesce, snapshot, thaw, export."""
    from ._internal.commands import Selection, run_backup

    sel = Selection(
        namespace or [], selector, pvc or [], config, kubeconfig, context, run_id, output.value
    )
    _guard(lambda: run_backup(sel))


@app.command()
def restore(
    restore_point: Annotated[str, typer.Argument(help="Name of the restore point.")],
    target_namespace: Annotated[
        str | None, typer.Option("--target-namespace", help="Restore into this namespace.")
    ] = None,
    storage_class: Annotated[
        str | None, typer.Option("--storage-class", help="StorageClass for the new PVCs.")
    ] = None,
    config: ConfigOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Restore a restore point's volumes as new PVCs."""
    from ._internal.commands import run_restore

    _guard(
        lambda: run_restore(
            restore_point,
            target_namespace,
            storage_class,
            config,
            kubeconfig,
            context,
            output.value,
        )
    )


@rp_app.command("list")
def rp_list(
    config: ConfigOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List restore points."""
    from ._internal.commands import restore_points_list

    _guard(lambda: restore_points_list(config, kubeconfig, context, output.value))


@rp_app.command("show")
def rp_show(
    name: str,
    config: ConfigOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    output: OutputOpt = Output.yaml,
) -> None:
    """Show one restore point in full."""
    from ._internal.commands import restore_points_show

    _guard(lambda: restore_points_show(name, config, kubeconfig, context, output.value))


@rp_app.command("delete")
def rp_delete(
    name: str,
    config: ConfigOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Delete a restore point and the snapshots it retained."""
    from ._internal.commands import restore_points_delete

    _guard(lambda: restore_points_delete(name, config, kubeconfig, context))


@quiesce_app.command("reconcile")
def quiesce_reconcile(
    config: ConfigOpt = None, kubeconfig: KubeconfigOpt = None, context: ContextOpt = None
) -> None:
    """Thaw and remove every orphaned or expired QuiesceLease."""
    from ._internal.commands import run_quiesce_reconcile

    _guard(lambda: run_quiesce_reconcile(config, kubeconfig, context))


@app.command()
def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the sandbox running afterwards.")
    ] = False,
    volumes: Annotated[
        int, typer.Option("--volumes", min=1, max=50, help="PVCs in the sample app.")
    ] = 3,
) -> None:
    """Run a real backup/restore end to end on the embedded sandbox and verify every byte."""
    from ._internal.demo import run_demo

    _guard(lambda: run_demo(keep=keep, volumes=volumes))


def _guard(fn: object) -> None:
    from .errors import SnapbridgeError

    try:
        fn()  # type: ignore[operator]
    except SnapbridgeError as err:
        fail(err)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


SANDBOX_HELP = "The embedded Kubernetes sandbox: up, down, status, env, build."


def _mount_sandbox(argv: list[str]) -> None:
    """Mount ``snapbridge sandbox``; its module (and httpx) load only when it is invoked."""
    if len(argv) > 1 and argv[1] == "sandbox":
        from .sandbox.cli import app as sandbox_app

        app.add_typer(sandbox_app, name="sandbox", help=SANDBOX_HELP)
    else:
        app.add_typer(typer.Typer(rich_markup_mode=None), name="sandbox", help=SANDBOX_HELP)


def main() -> None:
    _mount_sandbox(sys.argv)
    sys.exit(app())
