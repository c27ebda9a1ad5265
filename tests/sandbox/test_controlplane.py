"""The sandbox control plane: asset resolution, and against its real apiserver: CRDs, defaults,
namespace deletion by the controller manager, and the process lifecycle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import NotFoundException, UnprocessableEntityException

from snapbridge.sandbox import (
    GROUP_SNAPSHOT_CLASS,
    SANDBOX_DRIVER,
    SNAPSHOT_CLASS,
    STORAGE_CLASS,
    SYSTEM_NAMESPACE,
    Sandbox,
    SandboxError,
    _apt,
    _assets,
)
from snapbridge.sandbox._processes import is_alive, start_ticks
from snapbridge.sandbox.pytest_plugin import SandboxHandle

SNAPSHOT_CRDS = {
    "volumesnapshots.snapshot.storage.k8s.io": ["v1"],
    "volumesnapshotcontents.snapshot.storage.k8s.io": ["v1"],
    "volumesnapshotclasses.snapshot.storage.k8s.io": ["v1"],
    "volumegroupsnapshots.groupsnapshot.storage.k8s.io": ["v1", "v1beta2"],
    "volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io": ["v1", "v1beta2"],
    "volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io": ["v1", "v1beta2"],
}


def _wait_gone(read: Any, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            read()
        except NotFoundException:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"still present after {timeout:.0f} s")


@pytest.fixture
def namespace(sandbox: SandboxHandle) -> Any:
    core = client.CoreV1Api(sandbox.api_client)
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace(body=client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name=name)


def _as_dict(obj: object) -> dict[str, Any]:
    assert isinstance(obj, dict)
    return obj


def _volume_snapshot(name: str, source: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": name},
        "spec": {"volumeSnapshotClassName": SNAPSHOT_CLASS, "source": source},
    }


@pytest.mark.sandbox
def test_namespace_deletion_completes(sandbox: SandboxHandle) -> None:
    """kube-controller-manager's namespace controller empties and removes a deleted namespace."""
    core = client.CoreV1Api(sandbox.api_client)
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace(body=client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    core.create_namespaced_config_map(
        namespace=name,
        body=client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm"), data={"k": "v"}),
    )
    core.delete_namespace(name=name)
    seconds = _wait_gone(lambda: core.read_namespace(name=name), timeout=60)
    print(f"namespace deletion took {seconds:.1f} s")
    assert seconds < 30


@pytest.mark.sandbox
def test_snapshot_crds_are_established_with_their_versions(sandbox: SandboxHandle) -> None:
    ext = client.ApiextensionsV1Api(sandbox.api_client)
    for name, versions in SNAPSHOT_CRDS.items():
        crd = ext.read_custom_resource_definition(name=name)
        assert crd.status is not None
        conditions = {c.type: c.status for c in crd.status.conditions or []}
        assert conditions.get("Established") == "True", name
        assert sorted(v.name for v in crd.spec.versions if v.served) == versions, name
        assert [v.name for v in crd.spec.versions if v.storage] == ["v1"], name


@pytest.mark.sandbox
@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            {"persistentVolumeClaimName": "a", "volumeSnapshotContentName": "b"}, id="both"
        ),
        pytest.param({}, id="neither"),
    ],
)
def test_volume_snapshot_source_needs_exactly_one_field(
    sandbox: SandboxHandle, namespace: str, source: dict[str, str]
) -> None:
    custom = client.CustomObjectsApi(sandbox.api_client)
    with pytest.raises(UnprocessableEntityException) as caught:
        custom.create_namespaced_custom_object(
            "snapshot.storage.k8s.io",
            "v1",
            namespace,
            "volumesnapshots",
            _volume_snapshot("bad", source),
        )
    assert caught.value.status == 422


@pytest.mark.sandbox
def test_volume_snapshot_status_changes_only_through_the_subresource(
    sandbox: SandboxHandle, namespace: str
) -> None:
    custom = client.CustomObjectsApi(sandbox.api_client)
    args = ("snapshot.storage.k8s.io", "v1", namespace, "volumesnapshots")
    created = _as_dict(
        custom.create_namespaced_custom_object(
            *args, _volume_snapshot("vs", {"persistentVolumeClaimName": "data"})
        )
    )
    assert created["metadata"]["generation"] == 1
    ready = {"status": {"readyToUse": True, "restoreSize": "1Gi"}}

    custom.patch_namespaced_custom_object(*args, "vs", ready)
    assert "status" not in _as_dict(custom.get_namespaced_custom_object(*args, "vs"))

    custom.patch_namespaced_custom_object_status(*args, "vs", ready)
    status = _as_dict(custom.get_namespaced_custom_object(*args, "vs"))["status"]
    assert status == {"readyToUse": True, "restoreSize": "1Gi"}


@pytest.mark.sandbox
def test_defaults_exist(sandbox: SandboxHandle) -> None:
    storage = client.StorageV1Api(sandbox.api_client).read_storage_class(name=STORAGE_CLASS)
    assert (storage.provisioner, storage.volume_binding_mode, storage.reclaim_policy) == (
        SANDBOX_DRIVER,
        "Immediate",
        "Delete",
    )
    custom = client.CustomObjectsApi(sandbox.api_client)
    snapclass = _as_dict(
        custom.get_cluster_custom_object(
            "snapshot.storage.k8s.io", "v1", "volumesnapshotclasses", SNAPSHOT_CLASS
        )
    )
    assert (snapclass["driver"], snapclass["deletionPolicy"]) == (SANDBOX_DRIVER, "Delete")
    default = snapclass["metadata"]["annotations"][
        "snapshot.storage.kubernetes.io/is-default-class"
    ]
    assert default == "true"
    groupclass = _as_dict(
        custom.get_cluster_custom_object(
            "groupsnapshot.storage.k8s.io", "v1", "volumegroupsnapshotclasses", GROUP_SNAPSHOT_CLASS
        )
    )
    assert groupclass["driver"] == SANDBOX_DRIVER
    client.CoreV1Api(sandbox.api_client).read_namespace(name=SYSTEM_NAMESPACE)


@pytest.mark.sandbox
@pytest.mark.slow
def test_up_is_idempotent_restarts_when_stale_and_down_leaves_nothing(tmp_path: Path) -> None:
    box = Sandbox(tmp_path / "own")
    try:
        first = box.up()  # its start time is a figure for bench/run.py, not an assertion
        assert first.ready_seconds > 0
        again = box.up()
        assert again.started_at == first.started_at
        assert [p.pid for p in again.processes] == [p.pid for p in first.processes]

        etcd = first.process("etcd")
        assert etcd is not None
        os.killpg(etcd.pid, signal.SIGKILL)
        restarted = box.up()  # stale: etcd is gone, so everything is stopped and started anew
        assert restarted.started_at > first.started_at
        assert not {p.pid for p in restarted.processes} & {p.pid for p in first.processes}
        assert all(not is_alive(p) for p in first.processes)

        Sandbox(tmp_path / "own").down()  # another handle on the same directory, like the CLI
        assert all(not is_alive(p) for p in restarted.processes)
        assert not (tmp_path / "own").exists()
        assert box.status().state is None
    finally:
        box.down()


@pytest.mark.sandbox
@pytest.mark.slow
def test_attached_processes_die_with_their_owner(tmp_path: Path) -> None:
    """An owner that dies without `down()` (no atexit either) takes its processes with it."""
    script = (
        "import os, sys; from pathlib import Path; from snapbridge.sandbox import Sandbox\n"
        "state = Sandbox(Path(sys.argv[1])).up()\n"
        "records = [f'{p.name}:{p.pid}:{p.start_ticks}' for p in state.processes]\n"
        "print(' '.join(records), flush=True)\n"
        "os._exit(0)\n"
    )
    owner = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "owned")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    children = [item.split(":") for item in owner.stdout.split()]
    assert len(children) >= 3
    deadline = time.monotonic() + 20

    def survivors() -> list[str]:
        return [name for name, pid, ticks in children if start_ticks(int(pid)) == int(ticks)]

    while time.monotonic() < deadline and survivors():
        time.sleep(0.1)
    assert survivors() == []


@pytest.mark.sandbox
@pytest.mark.slow
def test_runs_without_controller_manager_from_an_envtest_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _assets.ensure_assets()
    envtest = tmp_path / "envtest"
    envtest.mkdir()
    for name in ("kube-apiserver", "etcd"):
        (envtest / name).symlink_to(built.bin_dir / name)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(envtest))
    with Sandbox(tmp_path / "envtest-sandbox") as box:
        state = box.state()
        assert state is not None
        assert not state.controller_manager
        assert [p.name for p in state.processes] == ["etcd", "kube-apiserver", "daemon"]
        assert box.status().running


def test_startup_failure_names_the_log_and_its_last_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("kube-apiserver", "etcd"):
        (assets / name).write_text("#!/bin/sh\necho Kubernetes v1.20.2\necho boom-$0 >&2\nexit 7\n")
        (assets / name).chmod(0o755)
    monkeypatch.setenv("SNAPBRIDGE_K8S_ASSETS", str(assets))
    box = Sandbox(tmp_path / "failing")
    with pytest.raises(SandboxError, match=r"exited with code 7 .*log: .*\.log\n") as caught:
        box.up()
    assert "--- last lines ---\n" in str(caught.value)
    assert "boom-" in str(caught.value)
    assert (tmp_path / "failing" / "etcd.log").is_file()  # kept for the post-mortem
    assert box.state() is None
    box.down()


def test_asset_directories_resolve_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SNAPBRIDGE_K8S_ASSETS", raising=False)
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    assert _assets.find_assets() is None
    for folder in ("ours", "envtest"):
        for name in ("kube-apiserver", "etcd"):
            (tmp_path / folder).mkdir(exist_ok=True)
            (tmp_path / folder / name).write_text("#!/bin/sh\n")
            (tmp_path / folder / name).chmod(0o755)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path / "envtest"))
    found = _assets.find_assets()
    assert found is not None
    assert (found.origin, found.kube_controller_manager) == ("KUBEBUILDER_ASSETS", None)
    monkeypatch.setenv("SNAPBRIDGE_K8S_ASSETS", str(tmp_path / "ours"))
    found = _assets.find_assets()
    assert found is not None
    assert found.bin_dir == tmp_path / "ours"
    monkeypatch.setenv("SNAPBRIDGE_K8S_ASSETS", str(tmp_path / "missing"))
    with pytest.raises(_assets.AssetsError, match="lacks executable kube-apiserver, etcd"):
        _assets.find_assets()


def test_private_apt_source_is_derived_from_the_machine_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.invalid/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main contrib\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n"
        "Components: main\n"
    )
    (tmp_path / "other.list").write_text(
        "deb [arch=amd64 signed-by=/k.gpg] http://x.invalid/apt trixie main\n"
    )
    monkeypatch.setattr(_apt, "SYSTEM_SOURCES_DIR", tmp_path)
    monkeypatch.setattr(_apt, "SYSTEM_SOURCES_LIST", tmp_path / "absent")
    source = _apt.source_for_suite("bookworm")
    assert source is not None
    assert _apt.private_sources_text(source, "bookworm").splitlines() == [
        "Types: deb deb-src",
        "URIs: http://mirror.invalid/debian",
        "Suites: bookworm",
        "Components: main contrib",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
    ]
    trixie = _apt.source_for_suite("trixie")
    assert trixie is not None
    assert (trixie.uris, trixie.signed_by) == (("http://x.invalid/apt",), "/k.gpg")
    assert _apt.source_for_suite("sid") is None
