"""The simulated node and kubelet: scheduling, pod lifecycle and exec through the apiserver."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snapbridge.sandbox._sim._kube import Kube
from snapbridge.sandbox._sim.testkit import (
    namespace,
    pod,
    pvc,
    run_exec,
    running_pod,
    status_of,
    wait_for,
)

pytestmark = pytest.mark.sandbox


@pytest.fixture
def kube(sandbox: Any) -> Iterator[Kube]:
    client = Kube(sandbox.kubeconfig)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def app(sandbox: Any, kube: Kube) -> Iterator[tuple[str, str]]:
    """A namespace with a running pod `app` mounting a fresh claim at /data."""
    with namespace(kube, "exec") as ns:
        pvc(kube, ns, "data")
        running_pod(kube, ns, "app", {"data": "/data"})
        yield ns, "app"


def test_exec_returns_stdout_stderr_and_exit_code(sandbox: Any, app: tuple[str, str]) -> None:
    ns, name = app
    ok = run_exec(sandbox.kubeconfig, ns, name, ["echo", "hello"])
    assert (ok.stdout, ok.stderr, ok.returncode) == ("hello\n", "", 0)

    failing = run_exec(sandbox.kubeconfig, ns, name, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (failing.stdout, failing.stderr, failing.returncode) == ("out\n", "err\n", 3)

    missing = run_exec(sandbox.kubeconfig, ns, name, ["no-such-binary"])
    assert missing.returncode == 127
    assert "executable file not found" in missing.stderr


def test_exec_feeds_stdin(sandbox: Any, app: tuple[str, str]) -> None:
    ns, name = app
    result = run_exec(
        sandbox.kubeconfig,
        ns,
        name,
        ["sh", "-c", "cat > /data/in; wc -c < /data/in"],
        stdin="hello\n",
    )
    assert (result.stdout, result.returncode) == ("6\n", 0)


def test_exec_is_sandboxed_from_the_host(sandbox: Any, app: tuple[str, str]) -> None:
    ns, name = app
    probe = (
        "cat /etc/hostname; ls -A /root | wc -l; test -e /work && echo host-visible; "
        "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; "
        "touch /usr/x 2>/dev/null && echo usr-writable; echo pid=$$"
    )
    result = run_exec(sandbox.kubeconfig, ns, name, ["sh", "-c", probe])
    assert result.returncode == 0, result
    lines = result.stdout.split()
    assert lines[0] == name  # the pod's hostname, not the host's
    assert lines[1] == "0"  # the host's /root is not there
    assert "host-visible" not in lines
    assert "usr-writable" not in lines
    assert [x for x in lines if not x.startswith("pid=") and x not in (name, "0")] == ["lo"]
    pid = next(int(x[4:]) for x in lines if x.startswith("pid="))
    assert pid < 10  # its own PID namespace


def test_writes_land_in_the_volume_and_a_second_exec_sees_them(
    sandbox: Any, kube: Kube, app: tuple[str, str]
) -> None:
    ns, name = app
    assert run_exec(sandbox.kubeconfig, ns, name, ["sh", "-c", "echo hi > /data/f"]).returncode == 0
    assert run_exec(sandbox.kubeconfig, ns, name, ["cat", "/data/f"]).stdout == "hi\n"
    claim = kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data") or {}
    pv = kube.get(f"/api/v1/persistentvolumes/{claim['spec']['volumeName']}") or {}
    handle = pv["spec"]["csi"]["volumeHandle"]
    state_dir = sandbox.state.state_dir if sandbox.state else Path(sandbox.kubeconfig).parent
    assert (state_dir / "volumes" / handle / "f").read_text() == "hi\n"


def _sleepers(tag: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if tag in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def test_exec_process_is_killed_when_the_client_goes_away(
    sandbox: Any, app: tuple[str, str]
) -> None:
    ns, name = app
    tag = "4242.125"  # a unique sleep duration to find the process by
    with pytest.raises(TimeoutError):
        run_exec(sandbox.kubeconfig, ns, name, ["sleep", tag], timeout=1.5)
    deadline = time.monotonic() + 10
    while _sleepers(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _sleepers(tag) == []


def test_unchanged_deployment_gets_running_pods_and_deletion_finalizes(
    sandbox: Any, kube: Kube
) -> None:
    with namespace(kube, "deploy") as ns:
        labels = {"app": "web"}
        deployment = {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                },
            },
        }
        kube.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", body=deployment)
        wait_for(
            kube,
            f"/apis/apps/v1/namespaces/{ns}/deployments",
            "web",
            lambda d: status_of(d).get("readyReplicas") == 2,
            timeout=90,
        )
        pods = kube.list(f"/api/v1/namespaces/{ns}/pods", labelSelector="app=web")["items"]
        assert {p["spec"]["nodeName"] for p in pods} == {"sim-node"}
        statuses = [p["status"]["containerStatuses"][0] for p in pods]
        assert {s["image"] for s in statuses} == {"nginx:1.27"}
        assert all("running" in s["state"] for s in statuses)

        name = pods[0]["metadata"]["name"]
        kube.delete(f"/api/v1/namespaces/{ns}/pods/{name}", {"gracePeriodSeconds": 30})
        started = time.monotonic()
        while kube.get(f"/api/v1/namespaces/{ns}/pods/{name}") is not None:
            assert time.monotonic() - started < 20, "graceful deletion was never finalized"
            time.sleep(0.1)


def test_pod_waits_for_its_claim_to_bind(sandbox: Any, kube: Kube) -> None:
    with namespace(kube, "wait") as ns:
        pod(kube, ns, "early", {"late": "/data"})
        time.sleep(1.0)
        early = kube.get(f"/api/v1/namespaces/{ns}/pods/early") or {}
        assert status_of(early).get("phase") == "Pending"
        assert not early["spec"].get("nodeName")
        pvc(kube, ns, "late")
        wait_for(
            kube,
            f"/api/v1/namespaces/{ns}/pods",
            "early",
            lambda p: status_of(p).get("phase") == "Running",
        )


def test_concurrent_execs(sandbox: Any, app: tuple[str, str]) -> None:
    ns, name = app
    results: list[int | None] = []

    def one(i: int) -> None:
        argv = ["sh", "-c", f"echo {i} >> /data/many; sleep 0.2"]
        results.append(run_exec(sandbox.kubeconfig, ns, name, argv).returncode)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [0] * 6
    lines = run_exec(sandbox.kubeconfig, ns, name, ["cat", "/data/many"]).stdout.split()
    assert sorted(lines) == [str(i) for i in range(6)]


def test_statefulset_with_claim_templates_runs_and_mounts_its_volume(
    sandbox: Any, kube: Kube
) -> None:
    with namespace(kube, "sts") as ns:
        labels = {"app": "db"}
        sts = {
            "metadata": {"name": "db"},
            "spec": {
                "serviceName": "db",
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "db",
                                "image": "postgres:16",
                                "volumeMounts": [{"name": "pgdata", "mountPath": "/var/lib/pg"}],
                            }
                        ]
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "pgdata"},
                        "spec": {
                            "storageClassName": "sandbox-csi",
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        }
        kube.request("POST", f"/apis/apps/v1/namespaces/{ns}/statefulsets", body=sts)
        wait_for(
            kube,
            f"/apis/apps/v1/namespaces/{ns}/statefulsets",
            "db",
            lambda o: status_of(o).get("readyReplicas") == 2,
            timeout=90,
        )
        for i in range(2):
            script = f"echo {i} > /var/lib/pg/id; cat /var/lib/pg/id"
            result = run_exec(sandbox.kubeconfig, ns, f"db-{i}", ["sh", "-c", script])
            assert (result.stdout, result.returncode) == (f"{i}\n", 0)
        claims = kube.list(f"/api/v1/namespaces/{ns}/persistentvolumeclaims")["items"]
        assert sorted(c["metadata"]["name"] for c in claims) == ["pgdata-db-0", "pgdata-db-1"]
        assert {c["status"]["phase"] for c in claims} == {"Bound"}
