"""The composition root: config -> plugins -> cluster -> context -> engine, for one command."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..context import RunContext
from ..errors import ConfigError, PermanentError
from ..models import BackupRequest
from .config import SettingsBase, load_settings
from .engine import BackupEngine
from .k8s import KubeCluster, connect
from .k8s.journal import ClusterJournal
from .plugins import PluginHost, create_plugin_host
from .retry import RetryPolicy


def resolve_kubeconfig(flag: str | None, settings: SettingsBase) -> str:
    """--kubeconfig, then config, then $KUBECONFIG, then a running sandbox, then ~/.kube/config."""
    for candidate in (flag, settings.kubeconfig, os.environ.get("KUBECONFIG")):
        if candidate:
            return candidate
    from ..sandbox import Sandbox

    sandbox = Sandbox()
    if sandbox.state() is not None:
        return str(sandbox.kubeconfig)
    home = Path.home() / ".kube" / "config"
    if home.is_file():
        return str(home)
    raise ConfigError(
        "no cluster to talk to: no --kubeconfig, no KUBECONFIG and no running sandbox",
        hint="pass --kubeconfig PATH, or start the embedded sandbox with `snapbridge sandbox up`",
    )


@dataclass
class Session:
    host: PluginHost
    settings: SettingsBase
    cluster: KubeCluster
    journal: ClusterJournal
    retry: RetryPolicy

    def context(self, run_id: str, *, dry_run: bool = False) -> RunContext:
        backend = self.settings.backend  # type: ignore[attr-defined]
        return RunContext(
            run_id=run_id,
            backend=backend.name,
            cluster=self.cluster,
            backend_settings=backend,
            system_namespace=self.settings.system_namespace,
            dry_run=dry_run,
            extras={"quiesce": self.settings.quiesce},
        )

    def engine(self, run_id: str, *, dry_run: bool = False) -> BackupEngine:
        return BackupEngine(
            self.host, self.context(run_id, dry_run=dry_run), journal=self.journal, retry=self.retry
        )

    def request(
        self,
        run_id: str,
        namespaces: list[str],
        selector: str | None = None,
        pvc_names: list[str] | None = None,
    ) -> BackupRequest:
        """A BackupRequest with the configured snapshot settings."""
        snap = self.settings.snapshot
        if not namespaces:
            raise PermanentError("no namespace selected", hint="pass -n NAMESPACE (repeatable)")
        return BackupRequest(
            run_id=run_id,
            namespaces=namespaces,
            selector=selector,
            pvc_names=pvc_names or [],
            snapshot_classes=snap.classes,
            group_by=snap.group_by,
            use_group_snapshots=snap.use_group_snapshots,
            concurrency=snap.concurrency,
            cut_deadline_seconds=snap.cut_deadline_seconds,
            snapshot_deadline_seconds=snap.deadline_seconds,
        )

    def close(self) -> None:
        self.cluster.close()


def open_session(
    config: Path | None,
    kubeconfig: str | None,
    context: str | None,
    *,
    extra_plugins: tuple[tuple[str, object], ...] = (),
) -> Session:
    host = create_plugin_host(extra_plugins=extra_plugins)
    settings = load_settings(host.adapters, config)
    host.select_backend(settings.backend.name)  # type: ignore[attr-defined]
    retry = RetryPolicy(settings.retry)
    cluster = connect(
        resolve_kubeconfig(kubeconfig, settings), context or settings.context, retry=retry
    )
    return Session(
        host, settings, cluster, ClusterJournal(cluster, settings.system_namespace), retry
    )
