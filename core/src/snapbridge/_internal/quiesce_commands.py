"""``snapbridge quiesce reconcile``: thaw and remove every orphaned or expired QuiesceLease."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import PermanentError
from ..plugins.exec_hooks import reconcile_leases
from .render import table
from .session import open_session


def run_quiesce_reconcile(config: Path | None, kubeconfig: str | None, context: str | None) -> None:
    """Reconcile every lease; exit 1 when one could not be thawed or read."""
    session = open_session(config, kubeconfig, context)
    namespace = session.settings.system_namespace
    try:
        outcomes = reconcile_leases(session.cluster, namespace)
    finally:
        session.close()
    if not outcomes:
        typer.echo(f"no quiesce leases in {namespace}")
        return
    table(
        f"quiesce leases in {namespace}",
        ["lease", "run", "group", "action", "reason", "problems"],
        [(o.lease, o.run_id, o.group, o.action, o.reason, "; ".join(o.problems)) for o in outcomes],
    )
    bad = [o for o in outcomes if o.action == "unreadable" or (o.action == "kept" and o.problems)]
    if bad:
        raise PermanentError(
            f"{len(bad)} quiesce lease(s) could not be reconciled: "
            + ", ".join(o.lease for o in bad),
            hint="check the pods named above (they may still be frozen) and rerun; "
            "after its deadline a lease is removed regardless",
        )
