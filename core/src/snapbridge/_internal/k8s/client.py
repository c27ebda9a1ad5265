"""KubeCluster: the implementation of :class:`snapbridge.cluster.Cluster` on the official client.

Every call goes through the single retry policy; watches re-list and resume on 410 Gone.
"""

from __future__ import annotations

import builtins
import copy
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from kubernetes import client as k8s_client
from kubernetes import dynamic
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from ...cluster import ExecResult, KubeObject, ResourceKind
from ...errors import ClusterAPIError, SnapbridgeError
from ..retry import RetryPolicy
from .errors import map_api_error
from .exec import run_exec

log = logging.getLogger(__name__)
T = TypeVar("T")


class KubeCluster:
    """The cluster facade on a real API server."""

    def __init__(
        self,
        configuration: k8s_client.Configuration,
        *,
        retry: RetryPolicy | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        configuration.connection_pool_maxsize = max(configuration.connection_pool_maxsize or 0, 64)
        self.configuration = configuration
        self.api_client = k8s_client.ApiClient(configuration)
        self.retry = retry or RetryPolicy()
        cache = (cache_dir or Path.home() / ".cache" / "snapbridge") / "discovery"
        cache.mkdir(parents=True, exist_ok=True)
        host_key = configuration.host.replace("/", "_").replace(":", "_")
        self._cache_file = str(cache / f"{host_key}.json")
        self._dyn: dynamic.DynamicClient | None = None
        self._lock = threading.Lock()
        self._resources: dict[ResourceKind, Any] = {}

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        self.api_client.close()

    def _call(self, fn: Callable[[], T], what: str) -> T:
        def attempt() -> T:
            try:
                return fn()
            except ApiException as exc:
                raise map_api_error(exc, what) from exc
            except (urllib3.exceptions.HTTPError, ConnectionError) as exc:
                raise map_api_error(ApiException(status=0, reason=str(exc)), what) from exc

        try:
            return self.retry.call(attempt, what)
        except SnapbridgeError as exc:
            if isinstance(exc, ClusterAPIError):
                raise
            raise ClusterAPIError(
                f"{exc.message} (gave up after {self.retry.settings.attempts} attempts)",
                status=0,
                hint="check that the API server is reachable (kubectl cluster-info)",
            ) from exc

    @property
    def dyn(self) -> dynamic.DynamicClient:
        with self._lock:
            if self._dyn is None:
                self._dyn = self._call(
                    lambda: dynamic.DynamicClient(self.api_client, cache_file=self._cache_file),
                    "API discovery",
                )
            return self._dyn

    def resource(self, kind: ResourceKind) -> Any:
        res = self._resources.get(kind)
        if res is not None:
            return res
        try:
            res = self.dyn.resources.get(api_version=kind.api_version, kind=kind.kind)
        except ResourceNotFoundError:
            self.dyn.resources.invalidate_cache()
            try:
                res = self.dyn.resources.get(api_version=kind.api_version, kind=kind.kind)
            except ResourceNotFoundError as exc:
                raise ClusterAPIError(
                    f"the API server does not serve {kind.kind} ({kind.api_version})",
                    status=404,
                    hint="install the CRDs (e.g. external-snapshotter's) or pick another version",
                ) from exc
        self._resources[kind] = res
        return res

    @staticmethod
    def _ns(kind: ResourceKind, namespace: str | None) -> str | None:
        return namespace if kind.namespaced else None

    # ------------------------------------------------------------------ Cluster API
    def get(self, kind: ResourceKind, name: str, namespace: str | None = None) -> KubeObject | None:
        res = self.resource(kind)

        def fn() -> KubeObject | None:
            try:
                return res.get(name=name, namespace=self._ns(kind, namespace)).to_dict()  # type: ignore[no-any-return]
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise

        return self._call(fn, f"get {kind.kind} {namespace or ''}/{name}")

    def list_with_version(
        self, kind: ResourceKind, namespace: str | None = None, label_selector: str | None = None
    ) -> tuple[builtins.list[KubeObject], str]:
        res = self.resource(kind)
        out = self._call(
            lambda: res.get(namespace=self._ns(kind, namespace), label_selector=label_selector),
            f"list {kind.kind}",
        ).to_dict()
        return list(out.get("items") or []), str(out.get("metadata", {}).get("resourceVersion", ""))

    def list(
        self, kind: ResourceKind, namespace: str | None = None, label_selector: str | None = None
    ) -> list[KubeObject]:
        return self.list_with_version(kind, namespace, label_selector)[0]

    def create(
        self, kind: ResourceKind, body: Mapping[str, Any], *, exist_ok: bool = True
    ) -> KubeObject:
        res = self.resource(kind)
        meta = body.get("metadata", {})
        ns = self._ns(kind, meta.get("namespace"))
        name = meta.get("name", "")

        def fn() -> KubeObject:
            try:
                return res.create(body=dict(body), namespace=ns).to_dict()  # type: ignore[no-any-return]
            except ApiException as exc:
                if exc.status == 409 and exist_ok and name:
                    return res.get(name=name, namespace=ns).to_dict()  # type: ignore[no-any-return]
                raise

        return self._call(fn, f"create {kind.kind} {ns or ''}/{name}")

    def patch(
        self,
        kind: ResourceKind,
        name: str,
        patch: Mapping[str, Any],
        namespace: str | None = None,
        *,
        status: bool = False,
    ) -> KubeObject:
        res = self.resource(kind)
        target = res.status if status else res
        return self._call(
            lambda: target.patch(
                name=name,
                namespace=self._ns(kind, namespace),
                body=dict(patch),
                content_type="application/merge-patch+json",
            ).to_dict(),
            f"patch {kind.kind} {namespace or ''}/{name}",
        )

    def delete(self, kind: ResourceKind, name: str, namespace: str | None = None) -> bool:
        res = self.resource(kind)

        def fn() -> bool:
            try:
                res.delete(name=name, namespace=self._ns(kind, namespace))
            except ApiException as exc:
                if exc.status == 404:
                    return False
                raise
            return True

        return self._call(fn, f"delete {kind.kind} {namespace or ''}/{name}")

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
        from .watch import wait_for_objects

        return wait_for_objects(
            self,
            kind,
            set(names),
            namespace,
            condition,
            timeout=timeout,
            on_event=on_event,
            label_selector=label_selector,
        )

    def served_versions(self, group: str) -> builtins.list[str]:
        groups = self._call(
            lambda: k8s_client.ApisApi(self.api_client).get_api_versions(), f"discover {group}"
        )
        for g in groups.groups or []:
            if g.name == group:
                versions = [v.version for v in g.versions or []]
                preferred = g.preferred_version.version if g.preferred_version else None
                if preferred in versions:
                    versions.remove(preferred)
                    versions.insert(0, preferred)
                return versions
        return []

    def exec(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        argv: builtins.list[str],
        *,
        timeout: float,
    ) -> ExecResult:
        return run_exec(copy.copy(self.configuration), namespace, pod, container, argv, timeout)
