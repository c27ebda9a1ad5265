"""``snapbridge demo``: a real backup and restore on the embedded sandbox, verified by checksum.

sample app (namespace, PVCs filled with generated files, a pod using them) -> plan -> backup
-> delete the namespace -> restore into a new namespace -> compare every file's sha256.
"""

from __future__ import annotations

import secrets
import time

import typer

from ..cluster import NAMESPACE, PERSISTENT_VOLUME_CLAIM, POD, Cluster, KubeObject
from ..errors import PermanentError
from ..models import RestorePoint, RestoreRequest
from .commands import new_run_id
from .progress import make_observer
from .render import table
from .session import open_session
from .signals import sigterm_as_interrupt

FILES_PER_VOLUME = 4
FILE_BYTES = 256 * 1024


def _pvc(ns: str, name: str) -> KubeObject:
    from ..sandbox import STORAGE_CLASS

    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": "demo"}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": STORAGE_CLASS,
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }


def _pod(ns: str, name: str, pvcs: list[str], annotations: dict[str, str]) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"app": "demo"},
            "annotations": annotations,
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "busybox:1.36",
                    "command": ["sleep", "infinity"],
                    "volumeMounts": [{"name": p, "mountPath": f"/data/{p}"} for p in pvcs],
                }
            ],
            "volumes": [{"name": p, "persistentVolumeClaim": {"claimName": p}} for p in pvcs],
        },
    }


def _running(obj: KubeObject) -> bool:
    return (obj.get("status") or {}).get("phase") == "Running"


def _exec(cluster: Cluster, ns: str, pod: str, script: str) -> str:
    res = cluster.exec(ns, pod, "app", ["sh", "-c", script], timeout=120)
    if res.exit_code != 0:
        raise PermanentError(
            f"demo command failed in {ns}/{pod}: {res.stderr.strip()}",
            hint="see the sandbox logs (snapbridge sandbox status)",
        )
    return res.stdout


def _checksums(cluster: Cluster, ns: str, pod: str, pvcs: list[str]) -> dict[str, str]:
    out = _exec(cluster, ns, pod, "cd /data && sha256sum " + " ".join(f"{p}/*" for p in pvcs))
    return {line.split()[1]: line.split()[0] for line in out.splitlines() if line.strip()}


def _start_app(cluster: Cluster, ns: str, pvcs: list[str], annotations: dict[str, str]) -> str:
    cluster.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for p in pvcs:
        cluster.create(PERSISTENT_VOLUME_CLAIM, _pvc(ns, p))
    cluster.create(POD, _pod(ns, "app", pvcs, annotations))
    cluster.wait_for(POD, ["app"], ns, _running, timeout=120)
    return "app"


def run_demo(*, keep: bool, volumes: int) -> None:
    from ..sandbox import Sandbox

    sandbox = Sandbox()
    started_here = sandbox.state() is None
    typer.echo(
        "starting the embedded sandbox (the first run builds Kubernetes once)..."
        if started_here
        else "using the running sandbox",
        err=True,
    )
    sandbox.up()
    try:
        ok = _demo(str(sandbox.kubeconfig), volumes)
    finally:
        if started_here and not keep:
            sandbox.down()
    if not ok:
        raise typer.Exit(1)


def _demo(kubeconfig: str, volumes: int) -> bool:
    observer = make_observer()
    session = open_session(None, kubeconfig, None, extra_plugins=(("cli-progress", observer),))
    cluster = session.cluster
    suffix = secrets.token_hex(3)
    ns, target = f"demo-{suffix}", f"demo-{suffix}-restored"
    pvcs = [f"data-{i}" for i in range(volumes)]
    try:
        # quiesce: a self-thawing fsfreeze of every volume the pod mounts (snapbridge's shorthand)
        freeze = {"snapbridge.io/fsfreeze": ",".join(f"/data/{p}" for p in pvcs)}
        pod = _start_app(cluster, ns, pvcs, freeze)
        fill = " && ".join(
            f"head -c {FILE_BYTES} /dev/urandom > /data/{p}/file-{i}.bin"
            for p in pvcs
            for i in range(FILES_PER_VOLUME)
        )
        _exec(cluster, ns, pod, fill)
        before = _checksums(cluster, ns, pod, pvcs)
        run_id = new_run_id()
        request = session.request(run_id, [ns])
        plan = session.engine(run_id, dry_run=True).plan(request)
        typer.echo(f"plan: {len(plan.entries)} PVCs, ok={plan.ok}", err=True)
        if not plan.ok:
            return False
        with observer, sigterm_as_interrupt():
            result = session.engine(run_id).run(request)
        if not result.ok:
            typer.echo(f"backup failed: {result.error}", err=True)
            return False
        typer.echo(f"deleting namespace {ns} (the disaster)...", err=True)
        cluster.delete(NAMESPACE, ns)
        _wait_gone(cluster, ns)
        rp = session.journal.get_restore_point(run_id)
        if rp is None:
            return False
        with observer:
            session.host.hook.snapbridge_restore(
                ctx=session.context(f"restore-{run_id}"),
                request=RestoreRequest(restore_point=run_id, target_namespace=target),
                restore_point=rp,
            )
        cluster.create(POD, _pod(target, "verify", pvcs, {}))
        cluster.wait_for(POD, ["verify"], target, _running, timeout=120)
        after = _checksums(cluster, target, "verify", pvcs)
        return _summary(rp, before, after)
    finally:
        for n in (ns, target):
            cluster.delete(NAMESPACE, n)
        session.close()


def _wait_gone(cluster: Cluster, ns: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while cluster.get(NAMESPACE, ns) is not None:
        if time.monotonic() > deadline:
            raise PermanentError(
                f"namespace {ns} was not deleted in {timeout:.0f}s",
                hint="check that kube-controller-manager runs (snapbridge sandbox status)",
            )
        time.sleep(0.5)


def _summary(rp: RestorePoint, before: dict[str, str], after: dict[str, str]) -> bool:
    group_window = next((w.window.seconds for w in rp.freeze_windows if w.pod is None), None)
    rows = []
    for rec in rp.volumes:
        files = [f for f in before if f.startswith(rec.volume.pvc + "/")]
        good = sum(1 for f in files if after.get(f) == before[f])
        rows.append(
            (
                rec.volume.pvc,
                len(files),
                len(files) * FILE_BYTES,
                f"{rec.cut_time:%H:%M:%S.%f}"[:-3] if rec.cut_time else "-",
                f"{rec.ready_time:%H:%M:%S.%f}"[:-3] if rec.ready_time else "-",
                rec.consistency.value,
                f"{good}/{len(files)}",
            )
        )
    table(
        f"restore point {rp.name}: verified by sha256",
        ["pvc", "files", "bytes", "cut", "ready", "consistency", "verified"],
        rows,
    )
    typer.echo(
        "freeze window: "
        + (f"{group_window * 1000:.0f} ms" if group_window is not None else "no quiesce")
    )
    ok = bool(before) and before == after
    typer.echo(f"every byte verified: {ok} ({len(after)}/{len(before)} files match)")
    return ok
