"""A small dict-based REST layer over the official client, plus list+watch informers.

Every simulated component talks to the apiserver through :class:`Kube`: one instance (one
``ApiClient``) per thread. Objects are plain dicts, exactly as the apiserver serialises them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The sandbox plays the cluster: it may use the client directly (see the import contracts).
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import (
    ApiException,
    ConflictException,
    NotFoundException,
)
from kubernetes.config import new_client_from_config
from kubernetes.utils import parse_quantity
from kubernetes.watch.watch import iter_resp_lines

log = logging.getLogger("snapbridge.sandbox.sim")

Obj = dict[str, Any]
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"

SNAP_GROUP = "snapshot.storage.k8s.io"
GROUP_GROUP = "groupsnapshot.storage.k8s.io"

__all__ = [
    "GROUP_GROUP",
    "JSON_PATCH",
    "MERGE",
    "SNAP_GROUP",
    "STRATEGIC",
    "ApiException",
    "ConflictException",
    "Kube",
    "NotFoundException",
    "Obj",
    "informer",
    "log",
    "meta",
    "now_rfc3339",
    "quantity_bytes",
    "rfc3339_micro",
]


def meta(obj: Mapping[str, Any]) -> Obj:
    """The object's metadata (never None)."""
    m = obj.get("metadata") or {}
    if not isinstance(m, dict):
        raise TypeError("metadata is not an object")
    return m


def quantity_bytes(value: str) -> int:
    """A resource quantity (``1Gi``) in bytes."""
    return int(parse_quantity(value))


def rfc3339_micro(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_rfc3339(ts: float | None = None) -> str:
    """Second-precision RFC 3339, the way metav1.Time serialises."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


class Kube:
    """A thread-confined API client speaking JSON dicts."""

    def __init__(self, kubeconfig: Path) -> None:
        self.api: ApiClient = new_client_from_config(str(kubeconfig), persist_config=False)

    def close(self) -> None:
        self.api.close()

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None,
        body: Any,
        content_type: str | None,
        timeout: float | tuple[float, float] | None,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        m, url, hdrs, payload, _ = self.api.param_serialize(
            method=method,
            resource_path=path,
            query_params=[(k, v) for k, v in (query or {}).items() if v is not None],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        return self.api.rest_client.request(
            m, url, headers=hdrs, body=payload, _request_timeout=timeout
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: float = 30,
    ) -> Any:
        resp = self._send(method, path, query, body, content_type, timeout)
        data = resp.read()
        text = data.decode("utf-8", "replace") if data else ""
        if not 200 <= resp.status < 300:
            raise ApiException.from_response(http_resp=resp, body=text, data=None)
        return json.loads(text) if text else {}

    # -- convenience ---------------------------------------------------------------
    def get(self, path: str) -> Obj | None:
        try:
            obj: Obj = self.request("GET", path)
        except NotFoundException:
            return None
        return obj

    def list(self, path: str, **query: Any) -> Obj:
        out: Obj = self.request("GET", path, query=query)
        return out

    def create(self, path: str, body: Obj) -> Obj | None:
        """Create; None if it already exists."""
        try:
            out: Obj = self.request("POST", path, body=body)
        except ConflictException:
            return None
        return out

    def patch(self, path: str, body: Any, content_type: str = MERGE) -> Obj | None:
        """Patch; None if the object is gone."""
        try:
            out: Obj = self.request("PATCH", path, body=body, content_type=content_type)
        except NotFoundException:
            return None
        return out

    def delete(self, path: str, body: Obj | None = None) -> bool:
        """Delete; False if it was already gone (or a precondition no longer holds)."""
        try:
            self.request("DELETE", path, body=body)
        except (NotFoundException, ConflictException):
            return False
        return True

    def remove_finalizer(self, path: str, obj: Obj, finalizer: str) -> None:
        fins = list(meta(obj).get("finalizers") or [])
        if finalizer not in fins:
            return
        idx = fins.index(finalizer)
        ops = [
            {"op": "test", "path": f"/metadata/finalizers/{idx}", "value": finalizer},
            {"op": "remove", "path": f"/metadata/finalizers/{idx}"},
        ]
        try:
            self.patch(path, ops, JSON_PATCH)
        except ApiException as exc:  # 422: the test op failed (list changed): re-read
            if exc.status != 422:
                raise
            fresh = self.get(path)
            if fresh is not None:
                self.remove_finalizer(path, fresh, finalizer)

    def add_finalizer(self, path: str, obj: Obj, finalizer: str) -> Obj | None:
        fins = list(meta(obj).get("finalizers") or [])
        if finalizer in fins:
            return obj
        rv = meta(obj).get("resourceVersion")
        body = {"metadata": {"finalizers": [*fins, finalizer], "resourceVersion": rv}}
        try:
            return self.patch(path, body)
        except ConflictException:
            fresh = self.get(path)
            return None if fresh is None else self.add_finalizer(path, fresh, finalizer)

    def watch(
        self, path: str, resource_version: str, timeout_seconds: int, **query: Any
    ) -> Iterator[tuple[str, Obj]]:
        q = dict(query, watch="true", resourceVersion=resource_version)
        q["timeoutSeconds"] = timeout_seconds
        q["allowWatchBookmarks"] = "true"
        resp = self._send("GET", path, q, None, None, (10, timeout_seconds + 10))
        if resp.status != 200:
            data = resp.read().decode("utf-8", "replace")
            raise ApiException.from_response(http_resp=resp, body=data, data=None)
        raw = resp.response
        try:
            for line in iter_resp_lines(raw):
                event = json.loads(line)
                yield str(event["type"]), event["object"]
        finally:  # never hand a half-read stream back to the pool
            raw.close()
            raw.release_conn()


Handler = Callable[[str, Obj], None]


def informer(
    kubeconfig: Path,
    path: str,
    handler: Handler,
    stop: threading.Event,
    *,
    name: str,
    **query: Any,
) -> threading.Thread:
    """Start a daemon thread that LISTs ``path`` then WATCHes it, calling ``handler``.

    ``handler(event_type, obj)`` gets ``SYNC`` for every listed object, then ``ADDED`` /
    ``MODIFIED`` / ``DELETED``. A 410 Gone (or any error) leads to a fresh LIST.
    """

    def run() -> None:
        kube = Kube(kubeconfig)
        try:
            while not stop.is_set():
                try:
                    listing = kube.list(path, **query)
                    for item in listing.get("items") or []:
                        handler("SYNC", item)
                    rv = str(meta(listing).get("resourceVersion", ""))
                    while not stop.is_set():
                        for kind, obj in kube.watch(path, rv, 20, **query):
                            if kind == "ERROR":
                                raise ApiException(status=int(obj.get("code") or 500))
                            rv = str(meta(obj).get("resourceVersion") or rv)
                            if kind != "BOOKMARK":
                                handler(kind, obj)
                            if stop.is_set():
                                return
                except ApiException as exc:
                    if exc.status != 410:
                        log.warning("%s: watch failed (%s); re-listing", name, exc.status)
                        stop.wait(1)
                except Exception:
                    log.exception("%s: informer error; re-listing", name)
                    stop.wait(1)
        finally:
            kube.close()

    thread = threading.Thread(target=run, name=f"informer-{name}", daemon=True)
    thread.start()
    return thread
