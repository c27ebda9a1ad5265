"""The typed cluster facade that plugins and adapters use to reach Kubernetes.

Plugins never import ``kubernetes``: they receive a :class:`Cluster` in their
:class:`~snapbridge.context.RunContext`. The implementation (``snapbridge._internal.k8s``)
owns retries, watches and the mapping of API errors to snapbridge errors.
Objects travel as plain ``dict`` in their Kubernetes (camelCase) shape.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "CONFIG_MAP",
    "NAMESPACE",
    "PERSISTENT_VOLUME",
    "PERSISTENT_VOLUME_CLAIM",
    "POD",
    "STORAGE_CLASS",
    "VOLUME_SNAPSHOT",
    "VOLUME_SNAPSHOT_CLASS",
    "VOLUME_SNAPSHOT_CONTENT",
    "Cluster",
    "ExecResult",
    "KubeObject",
    "ResourceKind",
    "group_snapshot_kinds",
]

KubeObject = dict[str, Any]


@dataclass(frozen=True)
class ResourceKind:
    """Identifies a Kubernetes resource type (``api_version`` + ``kind``)."""

    api_version: str
    kind: str
    namespaced: bool = True

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]


POD = ResourceKind("v1", "Pod")
PERSISTENT_VOLUME_CLAIM = ResourceKind("v1", "PersistentVolumeClaim")
PERSISTENT_VOLUME = ResourceKind("v1", "PersistentVolume", namespaced=False)
NAMESPACE = ResourceKind("v1", "Namespace", namespaced=False)
CONFIG_MAP = ResourceKind("v1", "ConfigMap")
STORAGE_CLASS = ResourceKind("storage.k8s.io/v1", "StorageClass", namespaced=False)
VOLUME_SNAPSHOT = ResourceKind("snapshot.storage.k8s.io/v1", "VolumeSnapshot")
VOLUME_SNAPSHOT_CONTENT = ResourceKind(
    "snapshot.storage.k8s.io/v1", "VolumeSnapshotContent", namespaced=False
)
VOLUME_SNAPSHOT_CLASS = ResourceKind(
    "snapshot.storage.k8s.io/v1", "VolumeSnapshotClass", namespaced=False
)


def group_snapshot_kinds(version: str) -> tuple[ResourceKind, ResourceKind, ResourceKind]:
    """(VolumeGroupSnapshot, ...Content, ...Class) for a served version (``v1``/``v1beta2``)."""
    api = f"groupsnapshot.storage.k8s.io/{version}"
    return (
        ResourceKind(api, "VolumeGroupSnapshot"),
        ResourceKind(api, "VolumeGroupSnapshotContent", namespaced=False),
        ResourceKind(api, "VolumeGroupSnapshotClass", namespaced=False),
    )


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool = False


class Cluster(Protocol):
    """What plugins may do with the cluster. Every call is retried on transient errors."""

    def get(self, kind: ResourceKind, name: str, namespace: str | None = None) -> KubeObject | None:
        """The object, or ``None`` when it does not exist."""
        ...

    def list(
        self,
        kind: ResourceKind,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[KubeObject]:
        """Objects of a kind (all namespaces when ``namespace`` is ``None``)."""
        ...

    def create(
        self, kind: ResourceKind, body: Mapping[str, Any], *, exist_ok: bool = True
    ) -> KubeObject:
        """Create; with ``exist_ok`` an existing object of that name is read back instead."""
        ...

    def patch(
        self,
        kind: ResourceKind,
        name: str,
        patch: Mapping[str, Any],
        namespace: str | None = None,
        *,
        status: bool = False,
    ) -> KubeObject:
        """JSON merge patch (``status=True`` writes the status subresource)."""
        ...

    def delete(self, kind: ResourceKind, name: str, namespace: str | None = None) -> bool:
        """Delete; ``False`` when it was already gone."""
        ...

    def wait_for(
        self,
        kind: ResourceKind,
        names: Iterable[str],
        namespace: str | None,
        condition: Callable[[KubeObject], bool],
        *,
        timeout: float,
        on_event: Callable[[KubeObject], None] | None = None,
        label_selector: str | None = None,
    ) -> builtins.dict[str, KubeObject]:
        """Watch until ``condition`` holds for every named object; one watch for all of them.

        Re-lists and resumes on ``410 Gone``. ``on_event`` sees every update (it may raise to
        abort, e.g. on ``status.error``); ``label_selector`` narrows the watch.
        Raises :class:`TimeoutError` naming what is missing.
        """
        ...

    def served_versions(self, group: str) -> builtins.list[str]:
        """Versions of an API group the server serves, preferred first; empty if none."""
        ...

    def exec(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        argv: builtins.list[str],
        *,
        timeout: float,
    ) -> ExecResult:
        """Run ``argv`` in a container through ``pods/exec`` (never wrapped in a shell)."""
        ...
