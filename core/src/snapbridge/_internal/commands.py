"""The CLI verbs' bodies (imported lazily by ``snapbridge.cli``)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import typer

from ..errors import PermanentError
from ..models import RestoreRequest
from .metrics import write_textfile
from .progress import make_observer
from .render import emit_document, table, when
from .session import open_session
from .signals import sigterm_as_interrupt

#: After a backup, write Prometheus metrics (phase durations, freeze windows) to this file
#: for the node-exporter textfile collector.
METRICS_ENV = "SNAPBRIDGE_METRICS_FILE"


@dataclass(frozen=True)
class Selection:
    """What ``plan`` and ``backup`` were asked for, flags as given."""

    namespaces: list[str]
    selector: str | None
    pvcs: list[str]
    config: Path | None
    kubeconfig: str | None
    context: str | None
    run_id: str | None
    output: str


def new_run_id() -> str:
    return f"bk-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def run_plan(sel: Selection) -> None:
    session = open_session(sel.config, sel.kubeconfig, sel.context)
    try:
        plan = session.engine(sel.run_id or new_run_id(), dry_run=True).plan(
            session.request(sel.run_id or "plan", sel.namespaces, sel.selector, sel.pvcs)
        )
    finally:
        session.close()
    if sel.output != "table":
        emit_document(plan.model_dump(mode="json", by_alias=True), sel.output)
    else:
        table(
            f"plan (backend {plan.backend})",
            [
                "namespace",
                "pvc",
                "snapshot class",
                "why",
                "group",
                "group class",
                "hooks",
                "export",
                "problem",
            ],
            [
                (
                    e.namespace,
                    e.pvc,
                    e.snapshot_class,
                    e.class_source,
                    e.group,
                    e.group_snapshot_class,
                    " ".join(e.hooks),
                    e.export_target,
                    e.problem,
                )
                for e in plan.entries
            ],
        )
        for n in plan.notes:
            typer.echo(
                f"{'BLOCKING ' if n.blocking else ''}{n.plugin}: {n.pvc or ''} {n.message}",
                err=True,
            )
    if not plan.ok:
        bad = [f"{e.namespace}/{e.pvc}: {e.problem}" for e in plan.entries if e.problem]
        typer.echo(
            "plan failed: " + "; ".join(bad or [n.message for n in plan.notes if n.blocking]),
            err=True,
        )
        raise typer.Exit(3)


def run_backup(sel: Selection) -> None:
    observer = make_observer()
    session = open_session(
        sel.config, sel.kubeconfig, sel.context, extra_plugins=(("cli-progress", observer),)
    )
    rid = sel.run_id or new_run_id()
    try:
        with observer, sigterm_as_interrupt():
            result = session.engine(rid).run(
                session.request(rid, sel.namespaces, sel.selector, sel.pvcs)
            )
    finally:
        session.close()
        if metrics_file := os.environ.get(METRICS_ENV):
            write_textfile(Path(metrics_file))
    if sel.output != "table":
        emit_document(result.model_dump(mode="json", by_alias=True), sel.output)
    else:
        table(
            f"backup {rid}",
            ["pvc", "snapshot", "handle", "cut", "ready", "size", "consistency"],
            [
                (
                    s.volume.key,
                    s.snapshot_name,
                    s.snapshot_handle,
                    when(s.cut_time),
                    when(s.ready_time),
                    s.restore_size,
                    s.consistency.value,
                )
                for s in result.snapshots
            ],
        )
        typer.echo(f"restore point: {result.restore_point or '-'}  ok: {result.ok}")
    if not result.ok:
        typer.echo(
            f"backup failed: {result.error}\n  hint: rerun with --run-id {rid} to resume", err=True
        )
        raise typer.Exit(1)


def run_restore(
    name: str,
    target_namespace: str | None,
    storage_class: str | None,
    config: Path | None,
    kubeconfig: str | None,
    context: str | None,
    output: str,
) -> None:
    observer = make_observer()
    session = open_session(config, kubeconfig, context, extra_plugins=(("cli-progress", observer),))
    try:
        rp = session.journal.get_restore_point(name)
        if rp is None:
            raise PermanentError(
                f"restore point {name!r} not found",
                hint="list them with `snapbridge restore-points list`",
            )
        request = RestoreRequest(
            restore_point=name, target_namespace=target_namespace, storage_class=storage_class
        )
        ctx = session.context(f"restore-{name}")
        with observer:
            result = session.host.hook.snapbridge_restore(
                ctx=ctx, request=request, restore_point=rp
            )
    finally:
        session.close()
    if output != "table":
        emit_document(result.model_dump(mode="json", by_alias=True), output)
    else:
        table(
            f"restore of {name}",
            ["source", "namespace", "pvc", "from snapshot", "bound"],
            [(v.source, v.namespace, v.pvc, v.from_snapshot, v.bound) for v in result.volumes],
        )


def restore_points_list(
    config: Path | None, kubeconfig: str | None, context: str | None, output: str
) -> None:
    session = open_session(config, kubeconfig, context)
    try:
        rps = session.journal.list_restore_points()
    finally:
        session.close()
    if output != "table":
        emit_document(
            [r.model_dump(mode="json", by_alias=True, exclude={"manifests"}) for r in rps], output
        )
        return
    table(
        "restore points",
        ["name", "backend", "created", "state", "namespaces", "volumes"],
        [
            (
                r.name,
                r.backend,
                f"{r.created:%Y-%m-%d} {when(r.created)}",
                r.state.value,
                ",".join(r.namespaces),
                len(r.volumes),
            )
            for r in rps
        ],
    )


def restore_points_show(
    name: str, config: Path | None, kubeconfig: str | None, context: str | None, output: str
) -> None:
    session = open_session(config, kubeconfig, context)
    try:
        rp = session.journal.get_restore_point(name)
    finally:
        session.close()
    if rp is None:
        raise PermanentError(
            f"restore point {name!r} not found", hint="see `snapbridge restore-points list`"
        )
    emit_document(rp.model_dump(mode="json", by_alias=True), "json" if output == "json" else "yaml")


def restore_points_delete(
    name: str, config: Path | None, kubeconfig: str | None, context: str | None
) -> None:
    from .retention import delete_restore_point

    session = open_session(config, kubeconfig, context)
    try:
        rp = session.journal.get_restore_point(name)
        if rp is None:
            raise PermanentError(
                f"restore point {name!r} not found", hint="see `snapbridge restore-points list`"
            )
        removed = delete_restore_point(session.cluster, rp)
        session.journal.delete_restore_point(name)
    finally:
        session.close()
    typer.echo(f"deleted restore point {name} ({removed} snapshot objects released)")


def run_quiesce_reconcile(config: Path | None, kubeconfig: str | None, context: str | None) -> None:
    from .quiesce_commands import run_quiesce_reconcile as reconcile

    reconcile(config, kubeconfig, context)
