"""The simulated CSI driver and snapshot controllers, driven only through the Kubernetes API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from snapbridge.sandbox._sim import auto_thaw_argv
from snapbridge.sandbox._sim._kube import Kube, Obj
from snapbridge.sandbox._sim.testkit import (
    GROUP_CLASS,
    VS_API,
    namespace,
    pvc,
    run_exec,
    running_pod,
    snapshot,
    status_of,
    wait_for,
    wait_gone,
)

pytestmark = pytest.mark.sandbox

ANN = "sandbox.snapbridge.io/"
VSC = f"{VS_API}/volumesnapshotcontents"


@pytest.fixture
def kube(sandbox: Any) -> Iterator[Kube]:
    client = Kube(sandbox.kubeconfig)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def ns(kube: Kube) -> Iterator[str]:
    with namespace(kube, "storage") as name:
        yield name


def state_dir(sandbox: Any) -> Path:
    return Path(sandbox.state.state_dir if sandbox.state else Path(sandbox.kubeconfig).parent)


def sh(sandbox: Any, ns: str, pod: str, script: str) -> str:
    result = run_exec(sandbox.kubeconfig, ns, pod, ["sh", "-c", script])
    assert result.returncode == 0, result
    return result.stdout


def wait_vs(kube: Kube, ns: str, name: str, key: str, timeout: float = 60) -> Obj:
    return wait_for(
        kube,
        f"{VS_API}/namespaces/{ns}/volumesnapshots",
        name,
        lambda o: bool(status_of(o).get(key)),
        timeout,
    )


def restore(kube: Kube, ns: str, name: str, snap: str) -> None:
    source = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snap}
    pvc(kube, ns, name, data_source=source)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_claim_binds_to_a_directory_backed_volume(sandbox: Any, kube: Kube, ns: str) -> None:
    pvc(kube, ns, "data")
    claim = wait_for(
        kube,
        f"/api/v1/namespaces/{ns}/persistentvolumeclaims",
        "data",
        lambda o: status_of(o).get("phase") == "Bound",
    )
    pv = kube.get(f"/api/v1/persistentvolumes/{claim['spec']['volumeName']}") or {}
    assert pv["spec"]["csi"]["driver"] == "sandbox.csi.snapbridge.io"
    assert pv["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    directory = state_dir(sandbox) / "volumes" / pv["spec"]["csi"]["volumeHandle"]
    assert directory.is_dir()

    running_pod(kube, ns, "app", {"data": "/data"})
    sh(sandbox, ns, "app", "echo hi > /data/f")
    assert (directory / "f").read_text() == "hi\n"


def test_snapshot_cut_ready_and_restore_excludes_later_writes(
    sandbox: Any, kube: Kube, ns: str
) -> None:
    pvc(kube, ns, "data")
    running_pod(kube, ns, "app", {"data": "/data"})
    sh(sandbox, ns, "app", "head -c 65536 /dev/urandom > /data/blob; echo v1 > /data/version")
    before = sh(sandbox, ns, "app", "cd /data && sha256sum blob version")

    created = time.time()
    snapshot(kube, ns, "snap", "data", annotations={ANN + "cut-latency-seconds": "0.5"})
    cut = wait_vs(kube, ns, "snap", "creationTime")
    sh(sandbox, ns, "app", "echo v2 > /data/version; echo late > /data/after-cut")
    ready = wait_vs(kube, ns, "snap", "readyToUse")
    assert time.time() - created >= 0.5

    status = status_of(ready)
    content_name = status["boundVolumeSnapshotContentName"]
    assert status_of(cut)["readyToUse"] is False
    assert status["restoreSize"] == "1Gi"
    content = kube.get(f"{VSC}/{content_name}") or {}
    assert content_name == f"snapcontent-{ready['metadata']['uid']}"
    assert content["spec"]["volumeSnapshotRef"]["uid"] == ready["metadata"]["uid"]
    assert content["spec"]["deletionPolicy"] == "Delete"
    assert content["status"]["readyToUse"] is True
    assert content["metadata"]["annotations"][ANN + "frozen-at-cut"] == "false"
    handle = content["status"]["snapshotHandle"]
    assert (state_dir(sandbox) / "snapshots" / handle / "blob").is_file()
    cut_at = parse_time(content["metadata"]["annotations"][ANN + "cut-at"]).timestamp()
    assert abs(content["status"]["creationTime"] / 1e9 - cut_at) < 1e-3

    restore(kube, ns, "restored", "snap")
    running_pod(kube, ns, "check", {"restored": "/data"})
    assert sh(sandbox, ns, "check", "cd /data && sha256sum blob version") == before
    assert sh(sandbox, ns, "check", "ls /data") == "blob\nversion\n"


def test_group_snapshot_cuts_all_members_at_one_instant(sandbox: Any, kube: Kube, ns: str) -> None:
    claims = [f"db-{i}" for i in range(3)]
    for claim in claims:
        pvc(kube, ns, claim, labels={"app": "db"})
    pvc(kube, ns, "other", labels={"app": "other"})
    running_pod(kube, ns, "db", {c: f"/{c}" for c in claims})
    writes = "; ".join(f"head -c 4096 /dev/urandom > /{c}/data" for c in claims)
    sh(sandbox, ns, "db", writes)
    sums = {c: sh(sandbox, ns, "db", f"sha256sum < /{c}/data") for c in claims}

    group_path = f"/apis/groupsnapshot.storage.k8s.io/v1/namespaces/{ns}/volumegroupsnapshots"
    body = {
        "apiVersion": "groupsnapshot.storage.k8s.io/v1",
        "kind": "VolumeGroupSnapshot",
        "metadata": {"name": "grp"},
        "spec": {
            "volumeGroupSnapshotClassName": GROUP_CLASS,
            "source": {"selector": {"matchLabels": {"app": "db"}}},
        },
    }
    kube.request("POST", group_path, body=body)
    cut = wait_for(kube, group_path, "grp", lambda o: bool(status_of(o).get("creationTime")))
    sh(sandbox, ns, "db", "; ".join(f"echo late > /{c}/late" for c in claims))
    group = wait_for(kube, group_path, "grp", lambda o: bool(status_of(o).get("readyToUse")))
    assert status_of(group)["creationTime"] == status_of(cut)["creationTime"]

    content_path = "/apis/groupsnapshot.storage.k8s.io/v1/volumegroupsnapshotcontents"
    content = kube.get(f"{content_path}/{status_of(group)['boundVolumeGroupSnapshotContentName']}")
    assert content is not None
    infos = content["status"]["volumeSnapshotInfoList"]
    assert len(infos) == 3
    assert content["status"]["volumeGroupSnapshotHandle"]
    assert len({i["creationTime"] for i in infos}) == 1

    label = "groupsnapshot.storage.k8s.io/volumeGroupSnapshotName=grp"
    members = kube.list(f"{VS_API}/namespaces/{ns}/volumesnapshots", labelSelector=label)
    items = members["items"]
    assert len(items) == 3
    assert len({status_of(m)["creationTime"] for m in items}) == 1
    assert {status_of(m)["volumeGroupSnapshotName"] for m in items} == {"grp"}
    assert all(status_of(m)["readyToUse"] for m in items)
    nanos = set()
    for m in items:
        member = kube.get(f"{VSC}/{status_of(m)['boundVolumeSnapshotContentName']}") or {}
        nanos.add(member["status"]["creationTime"])
    assert len(nanos) == 1

    by_claim = {m["metadata"]["annotations"][ANN + "source-pvc"]: m for m in items}
    assert set(by_claim) == set(claims)
    for claim, member in by_claim.items():
        restore(kube, ns, f"r-{claim}", member["metadata"]["name"])
    running_pod(kube, ns, "check", {f"r-{c}": f"/{c}" for c in claims})
    for claim in claims:
        assert sh(sandbox, ns, "check", f"sha256sum < /{claim}/data") == sums[claim]
        assert sh(sandbox, ns, "check", f"ls /{claim}") == "data\n"


def test_snapshot_error_annotation_sets_status_error(sandbox: Any, kube: Kube, ns: str) -> None:
    pvc(kube, ns, "data")
    wait_for(
        kube,
        f"/api/v1/namespaces/{ns}/persistentvolumeclaims",
        "data",
        lambda o: status_of(o).get("phase") == "Bound",
    )
    snapshot(kube, ns, "broken", "data", annotations={ANN + "snapshot-error": "disk on fire"})
    failed = wait_vs(kube, ns, "broken", "error")
    assert status_of(failed)["error"]["message"] == "disk on fire"
    assert status_of(failed)["error"]["time"]
    assert status_of(failed)["readyToUse"] is False
    content = kube.get(f"{VSC}/snapcontent-{failed['metadata']['uid']}") or {}
    assert content["status"]["error"]["message"] == "disk on fire"
    assert not content["status"].get("readyToUse")


def freeze_log(kube: Kube) -> list[dict[str, Any]]:
    cm = kube.get("/api/v1/namespaces/snapbridge-system/configmaps/sandbox-freeze-log") or {}
    data: list[dict[str, Any]] = json.loads((cm.get("data") or {}).get("freezes.json", "[]"))
    return data


def test_fsfreeze_blocks_writers_and_the_cut_records_it(sandbox: Any, kube: Kube, ns: str) -> None:
    kc = sandbox.kubeconfig
    pvc(kube, ns, "data")
    running_pod(kube, ns, "app", {"data": "/data"})
    assert run_exec(kc, ns, "app", ["fsfreeze", "--freeze", "/data"]).returncode == 0
    again = run_exec(kc, ns, "app", ["fsfreeze", "-f", "/data"])
    assert again.returncode == 1
    assert again.stderr == "fsfreeze: /data: freeze failed: Device or resource busy\n"

    done = threading.Event()

    def writer() -> None:
        run_exec(kc, ns, "app", ["sh", "-c", "echo written > /data/w"])
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        snapshot(kube, ns, "frozen", "data")
        frozen = wait_vs(kube, ns, "frozen", "readyToUse")
        assert not done.is_set(), "a write went through a frozen volume"
    finally:
        assert run_exec(kc, ns, "app", ["fsfreeze", "--unfreeze", "/data"]).returncode == 0
        thread.join(30)
    assert done.is_set()
    content = kube.get(f"{VSC}/{status_of(frozen)['boundVolumeSnapshotContentName']}") or {}
    annotations = content["metadata"]["annotations"]
    assert annotations[ANN + "frozen-at-cut"] == "true"
    handle = content["status"]["snapshotHandle"]
    assert not (state_dir(sandbox) / "snapshots" / handle / "w").exists()
    assert run_exec(kc, ns, "app", ["cat", "/data/w"]).stdout == "written\n"
    thawed = run_exec(kc, ns, "app", ["fsfreeze", "-u", "/data"])
    assert (thawed.returncode, thawed.stderr) == (
        1,
        "fsfreeze: /data: unfreeze failed: Invalid argument\n",
    )

    cut_at = parse_time(annotations[ANN + "cut-at"])
    volume = content["spec"]["source"]["volumeHandle"]
    deadline = time.monotonic() + 10
    while True:
        windows = [f for f in freeze_log(kube) if f["volumeHandle"] == volume and f["thawedAt"]]
        if windows or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert any(parse_time(w["frozenAt"]) <= cut_at <= parse_time(w["thawedAt"]) for w in windows), (
        windows
    )

    snapshot(kube, ns, "thawed", "data")
    later = wait_vs(kube, ns, "thawed", "readyToUse")
    content = kube.get(f"{VSC}/{status_of(later)['boundVolumeSnapshotContentName']}") or {}
    assert content["metadata"]["annotations"][ANN + "frozen-at-cut"] == "false"


def test_auto_thaw_freeze_thaws_at_its_deadline(sandbox: Any, kube: Kube, ns: str) -> None:
    kc = sandbox.kubeconfig
    pvc(kube, ns, "data")
    running_pod(kube, ns, "app", {"data": "/data"})
    started = time.monotonic()
    assert run_exec(kc, ns, "app", auto_thaw_argv("/data", 1.5)).returncode == 0
    busy = run_exec(kc, ns, "app", ["fsfreeze", "--freeze", "/data"])
    assert busy.returncode == 1
    assert run_exec(kc, ns, "app", ["true"]).returncode == 0  # blocked until the deadline
    assert time.monotonic() - started >= 1.4
    claim = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data") or {}
    volume = claim["spec"]["volumeName"]
    deadline = time.monotonic() + 10
    reasons: list[Any] = []
    while time.monotonic() < deadline and "deadline" not in reasons:
        reasons = [f["thawReason"] for f in freeze_log(kube) if f["volumeHandle"] == volume]
        time.sleep(0.1)
    assert "deadline" in reasons


def test_freeze_stops_a_running_writer(sandbox: Any, kube: Kube, ns: str) -> None:
    kc = sandbox.kubeconfig
    pvc(kube, ns, "data")
    running_pod(kube, ns, "app", {"data": "/data"})
    claim = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data") or {}
    log_file = state_dir(sandbox) / "volumes" / claim["spec"]["volumeName"] / "loop"
    loop = "i=0; while [ $i -lt 30 ]; do echo $i >> /data/loop; i=$((i+1)); sleep 0.05; done"
    writer = threading.Thread(target=run_exec, args=(kc, ns, "app", ["sh", "-c", loop]))
    writer.start()
    try:
        while not log_file.exists() or len(log_file.read_text().split()) < 3:
            time.sleep(0.02)
        assert run_exec(kc, ns, "app", ["fsfreeze", "--freeze", "/data"]).returncode == 0
        time.sleep(0.2)
        during = len(log_file.read_text().split())
        time.sleep(0.8)
        assert len(log_file.read_text().split()) == during  # stopped while frozen
    finally:
        assert run_exec(kc, ns, "app", ["fsfreeze", "--unfreeze", "/data"]).returncode == 0
        writer.join(30)
    assert log_file.read_text().split() == [str(i) for i in range(30)]


def test_knobs_are_read_from_the_driver_configmap(sandbox: Any, kube: Kube, ns: str) -> None:
    path = "/api/v1/namespaces/snapbridge-system/configmaps/sandbox-driver"
    original = wait_for(
        kube,
        "/api/v1/namespaces/snapbridge-system/configmaps",
        "sandbox-driver",
        lambda o: "cutLatencySeconds" in (o.get("data") or {}),
    )["data"]
    pvc(kube, ns, "data")
    wait_for(
        kube,
        f"/api/v1/namespaces/{ns}/persistentvolumeclaims",
        "data",
        lambda o: status_of(o).get("phase") == "Bound",
    )
    kube.patch(path, {"data": {"cutLatencySeconds": "1.5", "readyLatencySeconds": "0"}})
    try:
        started = time.monotonic()
        snapshot(kube, ns, "slow", "data")
        wait_vs(kube, ns, "slow", "creationTime")
        cut_after = time.monotonic() - started
        wait_vs(kube, ns, "slow", "readyToUse")
        ready_after = time.monotonic() - started
    finally:
        kube.patch(path, {"data": original})
    assert cut_after >= 1.4
    assert ready_after - cut_after < 1.0

    snapshot(kube, ns, "stuck", "data", annotations={ANN + "never-ready": "true"})
    stuck = wait_vs(kube, ns, "stuck", "creationTime")
    time.sleep(1.5)
    assert status_of(kube.get(f"{VS_API}/namespaces/{ns}/volumesnapshots/stuck") or {}) == {
        **status_of(stuck),
        "readyToUse": False,
    }


def test_namespace_deletion_completes_and_retained_snapshots_survive(
    sandbox: Any, kube: Kube
) -> None:
    with namespace(kube, "doomed") as ns:
        pvc(kube, ns, "data")
        running_pod(kube, ns, "app", {"data": "/data"})
        sh(sandbox, ns, "app", "echo keep > /data/f")
        snapshot(kube, ns, "kept", "data")
        snapshot(kube, ns, "dropped", "data")
        kept = wait_vs(kube, ns, "kept", "readyToUse")
        dropped = wait_vs(kube, ns, "dropped", "readyToUse")
        kept_content = status_of(kept)["boundVolumeSnapshotContentName"]
        dropped_content = status_of(dropped)["boundVolumeSnapshotContentName"]
        kube.patch(f"{VSC}/{kept_content}", {"spec": {"deletionPolicy": "Retain"}})
        handles = {
            name: (kube.get(f"{VSC}/{name}") or {})["status"]["snapshotHandle"]
            for name in (kept_content, dropped_content)
        }
        claim = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data") or {}
        volume = claim["spec"]["volumeName"]
    wait_gone(kube, f"/api/v1/namespaces/{ns}", timeout=120)
    snapshots = state_dir(sandbox) / "snapshots"
    survivor = kube.get(f"{VSC}/{kept_content}")
    assert survivor is not None
    assert not survivor["metadata"].get("finalizers")
    assert (snapshots / handles[kept_content] / "f").read_text() == "keep\n"
    wait_gone(kube, f"{VSC}/{dropped_content}", timeout=30)
    assert not (snapshots / handles[dropped_content]).exists()
    wait_gone(kube, f"/api/v1/persistentvolumes/{volume}", timeout=30)
    assert not (state_dir(sandbox) / "volumes" / volume).exists()
    kube.delete(f"{VSC}/{kept_content}")

    # The retained bytes come back into another namespace as a pre-provisioned snapshot.
    with namespace(kube, "reborn") as ns:
        content = {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshotContent",
            "metadata": {"name": f"imported-{ns}"},
            "spec": {
                "deletionPolicy": "Retain",
                "driver": "sandbox.csi.snapbridge.io",
                "source": {"snapshotHandle": handles[kept_content]},
                "volumeSnapshotRef": {"name": "imported", "namespace": ns},
            },
        }
        kube.request("POST", VSC, body=content)
        vs = {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshot",
            "metadata": {"name": "imported"},
            "spec": {"source": {"volumeSnapshotContentName": f"imported-{ns}"}},
        }
        kube.request("POST", f"{VS_API}/namespaces/{ns}/volumesnapshots", body=vs)
        imported = wait_vs(kube, ns, "imported", "readyToUse")
        assert status_of(imported)["creationTime"] == status_of(kept)["creationTime"]
        restore(kube, ns, "data", "imported")
        running_pod(kube, ns, "app", {"data": "/data"})
        assert sh(sandbox, ns, "app", "cat /data/f") == "keep\n"

        content["metadata"]["name"] = f"missing-{ns}"
        content["spec"]["source"] = {"snapshotHandle": "no-such-handle"}
        content["spec"]["volumeSnapshotRef"] = {"name": "missing", "namespace": ns}
        kube.request("POST", VSC, body=content)
        vs["metadata"]["name"] = "missing"
        vs["spec"]["source"]["volumeSnapshotContentName"] = f"missing-{ns}"
        kube.request("POST", f"{VS_API}/namespaces/{ns}/volumesnapshots", body=vs)
        missing = wait_vs(kube, ns, "missing", "error")
        assert "no-such-handle" in status_of(missing)["error"]["message"]
        for name in (f"imported-{ns}", f"missing-{ns}"):
            kube.delete(f"{VSC}/{name}")
