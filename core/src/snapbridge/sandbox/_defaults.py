"""What every sandbox starts with: the snapshot CRDs, default classes and the system namespace."""

from __future__ import annotations

from typing import Any

from snapbridge.sandbox import _names
from snapbridge.sandbox._crds import load_crds
from snapbridge.sandbox._kubeapi import KubeApi

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def install_crds(api: KubeApi) -> list[str]:
    """Apply every sandbox CRD (idempotent) and wait until each is Established."""
    names = []
    for crd in load_crds():
        name = crd["metadata"]["name"]
        api.apply(f"{CRD_PATH}/{name}", crd)
        names.append(name)
    for name in names:
        api.wait_crd_established(name)
    return names


def _storage_class() -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": _names.STORAGE_CLASS},
        "provisioner": _names.SANDBOX_DRIVER,
        "volumeBindingMode": "Immediate",
        "reclaimPolicy": "Delete",
        "allowVolumeExpansion": True,
    }


def _snapshot_class() -> dict[str, Any]:
    return {
        "apiVersion": f"{_names.SNAPSHOT_GROUP}/v1",
        "kind": "VolumeSnapshotClass",
        "metadata": {
            "name": _names.SNAPSHOT_CLASS,
            "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"},
        },
        "driver": _names.SANDBOX_DRIVER,
        "deletionPolicy": "Delete",
    }


def _group_snapshot_class(version: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{_names.GROUP_SNAPSHOT_GROUP}/{version}",
        "kind": "VolumeGroupSnapshotClass",
        "metadata": {"name": _names.GROUP_SNAPSHOT_CLASS},
        "driver": _names.SANDBOX_DRIVER,
        "deletionPolicy": "Delete",
    }


def create_defaults(api: KubeApi) -> None:
    """Apply the default StorageClass, snapshot classes and namespace (idempotent)."""
    api.apply(
        f"/api/v1/namespaces/{_names.SYSTEM_NAMESPACE}",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": _names.SYSTEM_NAMESPACE}},
    )
    api.apply(f"/apis/storage.k8s.io/v1/storageclasses/{_names.STORAGE_CLASS}", _storage_class())
    api.apply(
        f"/apis/{_names.SNAPSHOT_GROUP}/v1/volumesnapshotclasses/{_names.SNAPSHOT_CLASS}",
        _snapshot_class(),
    )
    version = api.preferred_version(_names.GROUP_SNAPSHOT_GROUP)
    api.apply(
        f"/apis/{_names.GROUP_SNAPSHOT_GROUP}/{version}/volumegroupsnapshotclasses/"
        f"{_names.GROUP_SNAPSHOT_CLASS}",
        _group_snapshot_class(version),
    )
