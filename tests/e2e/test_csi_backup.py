"""Backup and restore through CSI, end to end on the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snapbridge._internal.session import open_session
from snapbridge.cluster import (
    NAMESPACE,
    PERSISTENT_VOLUME,
    PERSISTENT_VOLUME_CLAIM,
    POD,
    VOLUME_SNAPSHOT,
    VOLUME_SNAPSHOT_CONTENT,
)
from snapbridge.errors import PermanentError
from snapbridge.models import ConsistencyLevel, RestorePointState, RestoreRequest

from .conftest import bound, pod_body, pvc_body, running, write_config

pytestmark = pytest.mark.sandbox


def _config(tmp_path: Path, *, groups: bool) -> Path:
    return write_config(
        tmp_path,
        f"backend:\n  name: csi\n  exportTarget: file://{tmp_path}/exports\n"
        f"snapshot:\n  useGroupSnapshots: {str(groups).lower()}\n",
    )


def _wait_gone(cluster, ns: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 90
    while cluster.get(NAMESPACE, ns) is not None:
        assert time.monotonic() < deadline, f"namespace {ns} not deleted"
        time.sleep(0.5)


@pytest.mark.parametrize("groups", [False, True], ids=["single", "group"])
def test_backup_survives_namespace_deletion_and_restores_byte_identical(
    sandbox,
    make_app,
    cluster,
    tmp_path: Path,
    groups: bool,  # type: ignore[no-untyped-def]
) -> None:
    app = make_app(3)
    before = app.checksums()
    session = open_session(_config(tmp_path, groups=groups), str(sandbox.kubeconfig), None)
    try:
        run_id = f"t-{app.namespace}"
        result = session.engine(run_id).run(session.request(run_id, [app.namespace]))
        assert result.ok, result.error
        rp = session.journal.get_restore_point(run_id)
        assert rp is not None and rp.state is RestorePointState.COMPLETE
        assert len(rp.volumes) == 3
        want = ConsistencyLevel.GROUP_CRASH if groups else ConsistencyLevel.CRASH
        for rec in rp.volumes:
            assert rec.snapshot_handle and rec.cut_time and rec.ready_time and rec.restore_size
            assert rec.consistency is want
        if groups:
            assert len({r.cut_time for r in rp.volumes}) == 1
        exported = json.loads((tmp_path / "exports" / run_id / "restore-point.json").read_text())
        assert exported["name"] == run_id
        app.sh("echo after-the-cut > /data/data-0/late")
        cluster.delete(NAMESPACE, app.namespace)
        _wait_gone(cluster, app.namespace)
        target = f"{app.namespace}-restored"
        restored = session.host.hook.snapbridge_restore(
            ctx=session.context("r"),
            request=RestoreRequest(restore_point=run_id, target_namespace=target),
            restore_point=rp,
        )
        assert {v.pvc for v in restored.volumes} == set(app.pvcs)
        cluster.create(POD, pod_body(target, "verify", app.pvcs))
        cluster.wait_for(POD, ["verify"], target, running, timeout=60)
        after = app.checksums(pod="verify", ns=target)
        assert after == before
        # deleting the restore point releases what it retained
        from snapbridge._internal.retention import delete_restore_point

        assert delete_restore_point(session.cluster, rp) >= 1
        for rec in rp.volumes:
            assert rec.content_name
            assert cluster.get(VOLUME_SNAPSHOT_CONTENT, rec.content_name) is None
        label = f"snapbridge.io/restore-point={run_id}"
        deadline = time.monotonic() + 30
        while cluster.list(VOLUME_SNAPSHOT_CONTENT, None, label):
            assert time.monotonic() < deadline, "re-imported contents were not released"
            time.sleep(0.5)
    finally:
        session.close()


def test_plan_fails_for_pvc_whose_driver_has_no_class(
    sandbox, make_app, cluster, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    app = make_app(1, fill=False)
    pv_name = f"static-{app.namespace}"
    cluster.create(
        PERSISTENT_VOLUME,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "",
                "csi": {"driver": "nosnap.csi.example.com", "volumeHandle": pv_name},
                "claimRef": {"namespace": app.namespace, "name": "orphan"},
            },
        },
    )
    body = pvc_body(app.namespace, "orphan", storage_class="")
    body["spec"]["volumeName"] = pv_name
    cluster.create(PERSISTENT_VOLUME_CLAIM, body)
    try:
        cluster.wait_for(PERSISTENT_VOLUME_CLAIM, ["orphan"], app.namespace, bound, timeout=60)
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "snapbridge",
                "plan",
                "-n",
                app.namespace,
                "--kubeconfig",
                str(sandbox.kubeconfig),
                "--config",
                str(_config(tmp_path, groups=False)),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 3, out.stdout + out.stderr
        assert "orphan" in out.stderr and "nosnap.csi.example.com" in out.stderr
        assert "has no VolumeSnapshotClass" in out.stderr
        assert cluster.list(VOLUME_SNAPSHOT, app.namespace) == []
    finally:
        cluster.delete(PERSISTENT_VOLUME, pv_name)


def test_driver_failure_names_the_pvc_and_the_message(sandbox, make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(
        2, pvc_annotations={"sandbox.snapbridge.io/snapshot-error": "disk array offline"}
    )
    session = open_session(_config(tmp_path, groups=False), str(sandbox.kubeconfig), None)
    try:
        run_id = f"f-{app.namespace}"
        result = session.engine(run_id).run(session.request(run_id, [app.namespace]))
    finally:
        session.close()
    assert not result.ok
    assert "disk array offline" in (result.error or "")
    assert f"{app.namespace}/data-" in (result.error or "")


def test_killed_after_snapshot_phase_resumes_without_duplicates(
    sandbox, make_app, cluster, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    app = make_app(3)
    run_id = f"k-{app.namespace}"
    argv = [
        sys.executable,
        "-m",
        "snapbridge",
        "backup",
        "-n",
        app.namespace,
        "--run-id",
        run_id,
        "--kubeconfig",
        str(sandbox.kubeconfig),
        "--config",
        str(_config(tmp_path, groups=False)),
        "-o",
        "json",
    ]
    with subprocess.Popen(
        argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as proc:
        assert proc.stderr is not None
        killed = False
        for line in proc.stderr:
            if line.rstrip().endswith("snapshot done"):  # the phase, not a volume
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
        proc.wait(timeout=60)
    assert killed, "the backup never reported its snapshot phase"
    journal = open_session(_config(tmp_path, groups=False), str(sandbox.kubeconfig), None)
    try:
        state = journal.journal.load(run_id)
        assert state is not None and state.snapshot_sets and not state.exported
    finally:
        journal.close()
    metrics = tmp_path / "snapbridge.prom"
    rerun = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "SNAPBRIDGE_METRICS_FILE": str(metrics)},
    )
    assert rerun.returncode == 0, rerun.stderr
    result = json.loads(rerun.stdout)
    assert result["ok"]
    assert 'snapbridge_phase_duration_seconds_count{phase="ready"}' in metrics.read_text()
    snaps = cluster.list(VOLUME_SNAPSHOT, app.namespace, f"snapbridge.io/run-id={run_id}")
    assert len(snaps) == 3
    assert "resumed" in {p["status"] for p in result["phases"]}
    session = open_session(_config(tmp_path, groups=False), str(sandbox.kubeconfig), None)
    try:
        rp = session.journal.get_restore_point(run_id)
    finally:
        session.close()
    assert rp is not None and rp.state is RestorePointState.COMPLETE and len(rp.volumes) == 3


def test_restore_with_storage_class_override_and_clone_mode(
    sandbox,
    make_app,
    cluster,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from snapbridge.cluster import STORAGE_CLASS
    from snapbridge.models import RestoreMode

    app = make_app(1)
    before = app.checksums()
    alt = f"alt-{app.namespace}"
    cluster.create(
        STORAGE_CLASS,
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": alt},
            "provisioner": "sandbox.csi.snapbridge.io",
            "volumeBindingMode": "Immediate",
        },
    )
    session = open_session(_config(tmp_path, groups=False), str(sandbox.kubeconfig), None)
    try:
        run_id = f"sc-{app.namespace}"
        assert session.engine(run_id).run(session.request(run_id, [app.namespace])).ok
        rp = session.journal.get_restore_point(run_id)
        assert rp is not None
        target = f"{app.namespace}-restored"
        session.host.hook.snapbridge_restore(
            ctx=session.context("r"),
            request=RestoreRequest(
                restore_point=run_id, target_namespace=target, storage_class=alt
            ),
            restore_point=rp,
        )
        restored = cluster.get(PERSISTENT_VOLUME_CLAIM, "data-0", target)
        assert restored is not None and restored["spec"]["storageClassName"] == alt
        cluster.create(POD, pod_body(target, "verify", app.pvcs))
        cluster.wait_for(POD, ["verify"], target, running, timeout=60)
        assert app.checksums(pod="verify", ns=target) == before
        # restoring again over a PVC this restore did not make is refused, not merged
        other = f"{app.namespace}-other"
        cluster.create(
            NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}}
        )
        cluster.create(PERSISTENT_VOLUME_CLAIM, pvc_body(other, "data-0"))
        with pytest.raises(PermanentError, match="already exists"):
            session.host.hook.snapbridge_restore(
                ctx=session.context("r3"),
                request=RestoreRequest(restore_point=run_id, target_namespace=other),
                restore_point=rp,
            )
        cluster.delete(NAMESPACE, other)
        # clone mode: a PVC -> PVC copy of the live PVC, next to it
        app.sh("echo newer > /data/data-0/after-backup")
        result = session.host.hook.snapbridge_restore(
            ctx=session.context("r4"),
            request=RestoreRequest(restore_point=run_id, mode=RestoreMode.CLONE),
            restore_point=rp,
        )
        assert [v.pvc for v in result.volumes] == ["data-0-clone"]
        cluster.create(POD, pod_body(app.namespace, "clone", ["data-0-clone"]))
        cluster.wait_for(POD, ["clone"], app.namespace, running, timeout=60)
        assert app.sh("cat /data/data-0-clone/after-backup", pod="clone") == "newer\n"
        with pytest.raises(PermanentError, match="source namespace"):
            session.host.hook.snapbridge_restore(
                ctx=session.context("r2"),
                request=RestoreRequest(
                    restore_point=run_id, target_namespace=target, mode=RestoreMode.CLONE
                ),
                restore_point=rp,
            )
    finally:
        session.close()
        cluster.delete(STORAGE_CLASS, alt)
