"""The run journal and RestorePoint store, kept as ConfigMaps in the snapbridge namespace.

Outside the protected namespace, so deleting an application's namespace loses nothing.
Payloads are gzip-compressed JSON in ``binaryData`` (a 1,000-volume RestorePoint fits well
under the 1 MiB object limit).
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from ...cluster import CONFIG_MAP, NAMESPACE, KubeObject
from ...models import RestorePoint
from ..journal import JournalState
from .client import KubeCluster

KIND_LABEL = "snapbridge.io/kind"


def _pack(payload: dict[str, Any]) -> str:
    return base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()


def _unpack(cm: KubeObject) -> dict[str, Any]:
    raw = (cm.get("binaryData") or {}).get("payload.json.gz", "")
    return json.loads(gzip.decompress(base64.b64decode(raw))) if raw else {}


class ClusterJournal:
    def __init__(self, cluster: KubeCluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self._ensured = False
        self._written: set[str] = set()

    def _ensure_namespace(self) -> None:
        if not self._ensured and self.cluster.get(NAMESPACE, self.namespace) is None:
            self.cluster.create(
                NAMESPACE,
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}},
            )
        self._ensured = True

    def _write(self, name: str, kind: str, payload: dict[str, Any], labels: dict[str, str]) -> None:
        self._ensure_namespace()
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {KIND_LABEL: kind, **labels},
            },
            "binaryData": {"payload.json.gz": _pack(payload)},
        }
        if name in self._written:  # known to exist: one PATCH
            self.cluster.patch(CONFIG_MAP, name, {"binaryData": body["binaryData"]}, self.namespace)
            return
        existing = self.cluster.create(CONFIG_MAP, body)
        if _unpack(existing) != payload:
            self.cluster.patch(CONFIG_MAP, name, {"binaryData": body["binaryData"]}, self.namespace)
        self._written.add(name)

    # ---------------------------------------------------------------- run state
    def load(self, run_id: str) -> JournalState | None:
        cm = self.cluster.get(CONFIG_MAP, f"snapbridge-run-{run_id}", self.namespace)
        return JournalState.model_validate(_unpack(cm)) if cm else None

    def save(self, state: JournalState) -> None:
        self._write(
            f"snapbridge-run-{state.run_id}",
            "run-journal",
            state.model_dump(mode="json"),
            {"snapbridge.io/run-id": state.run_id},
        )

    # ---------------------------------------------------------------- restore points
    def save_restore_point(self, restore_point: RestorePoint) -> None:
        self._write(
            f"snapbridge-rp-{restore_point.name}",
            "restore-point",
            restore_point.model_dump(mode="json"),
            {"snapbridge.io/run-id": restore_point.run_id},
        )

    def get_restore_point(self, name: str) -> RestorePoint | None:
        cm = self.cluster.get(CONFIG_MAP, f"snapbridge-rp-{name}", self.namespace)
        return RestorePoint.model_validate(_unpack(cm)) if cm else None

    def list_restore_points(self) -> list[RestorePoint]:
        cms = self.cluster.list(CONFIG_MAP, self.namespace, f"{KIND_LABEL}=restore-point")
        return sorted(
            (RestorePoint.model_validate(_unpack(c)) for c in cms), key=lambda r: r.created
        )

    def delete_restore_point(self, name: str) -> None:
        self.cluster.delete(CONFIG_MAP, f"snapbridge-rp-{name}", self.namespace)
        self.cluster.delete(CONFIG_MAP, f"snapbridge-run-{name}", self.namespace)
