"""Freeze window against cut latency when readiness is slow (ready latency = 10 x cut latency).

    uv run python bench/freeze_window.py [--cut-latency 0.2] [--ready-factor 10] [--pods 3]
                                         [--runs 5] [--no-groups]

Each run is a real engine backup (built-in csi + exec_hooks plugins) of N pods that each carry
``snapbridge.io/fsfreeze: /data``. Reported per run, from the RestorePoint: the group freeze
window (first freeze start -> last thaw end) and the longest pod window; from the simulated
kernel (the sandbox's freeze log): how long the volumes were really frozen, when the cut fell
after the first freeze, and how soon after the cut the last thaw came; and how long readiness
took after the cut (which the freeze must not wait for). The goal is window <= L + 250 ms.
Figures are printed, never asserted. Uses SNAPBRIDGE_SANDBOX_KUBECONFIG or starts a sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from snapbridge._internal.k8s import KubeCluster, connect
from snapbridge._internal.session import open_session
from snapbridge.cluster import CONFIG_MAP, NAMESPACE, PERSISTENT_VOLUME_CLAIM, POD
from snapbridge.sandbox import STORAGE_CLASS, SYSTEM_NAMESPACE, Sandbox

DRIVER_CM = "sandbox-driver"
console = Console(width=120)


def set_knobs(cluster: KubeCluster, data: dict[str, str] | None) -> dict[str, str] | None:
    """Set the simulated driver's latencies (None deletes them); return what was there."""
    old = cluster.get(CONFIG_MAP, DRIVER_CM, SYSTEM_NAMESPACE)
    if data is None:
        cluster.delete(CONFIG_MAP, DRIVER_CM, SYSTEM_NAMESPACE)
    elif old is None:
        meta = {"name": DRIVER_CM, "namespace": SYSTEM_NAMESPACE}
        cluster.create(
            CONFIG_MAP, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}
        )
    else:
        cluster.patch(CONFIG_MAP, DRIVER_CM, {"data": data}, SYSTEM_NAMESPACE)
    return None if old is None else dict(old.get("data") or {})


def make_app(cluster: KubeCluster, pods: int) -> tuple[str, list[str]]:
    ns = f"freeze-bench-{secrets.token_hex(2)}"
    cluster.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    names = [f"p{i}" for i in range(pods)]
    for name in names:
        spec = {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": STORAGE_CLASS,
            "resources": {"requests": {"storage": "1Gi"}},
        }
        meta = {"name": name, "namespace": ns}
        cluster.create(
            PERSISTENT_VOLUME_CLAIM,
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec},
        )
        container = {
            "name": "app",
            "image": "busybox",
            "volumeMounts": [{"name": "d", "mountPath": "/data"}],
        }
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {**meta, "annotations": {"snapbridge.io/fsfreeze": "/data"}},
            "spec": {
                "containers": [container],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": name}}],
            },
        }
        cluster.create(POD, pod)
    cluster.wait_for(
        POD, names, ns, lambda p: (p.get("status") or {}).get("phase") == "Running", timeout=300
    )
    claims = cluster.wait_for(
        PERSISTENT_VOLUME_CLAIM,
        names,
        ns,
        lambda c: bool(c.get("spec", {}).get("volumeName")),
        timeout=300,
    )
    return ns, [c["spec"]["volumeName"] for c in claims.values()]  # sandbox: handle = PV name


def kernel_view(
    cluster: KubeCluster, handles: set[str], since: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The sandbox's freeze log entries and cuts of these volumes since ``since``, once thawed."""
    deadline = time.monotonic() + 10
    while True:
        data = (cluster.get(CONFIG_MAP, "sandbox-freeze-log", SYSTEM_NAMESPACE) or {}).get(
            "data"
        ) or {}
        freezes = [
            f
            for f in json.loads(data.get("freezes.json", "[]"))
            if f["volumeHandle"] in handles and f["frozenAt"] >= since
        ]
        cuts = [
            c
            for c in json.loads(data.get("cuts.json", "[]"))
            if c["volumeHandle"] in handles and c["cutAt"] >= since
        ]
        if (
            len(freezes) == len(handles) and all(f["thawedAt"] for f in freezes)
        ) or time.monotonic() > deadline:
            return freezes, cuts
        time.sleep(0.1)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def one_run(
    kubeconfig: str, config: Path, cluster: KubeCluster, ns: str, handles: set[str]
) -> dict[str, float]:
    session = open_session(config, kubeconfig, None)
    run_id = f"fw-{secrets.token_hex(4)}"
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    try:
        result = session.engine(run_id).run(session.request(run_id, [ns]))
        rp = session.journal.get_restore_point(run_id)
    finally:
        session.close()
    if not result.ok or rp is None:
        raise RuntimeError(result.error)
    group = max(w.window.seconds for w in rp.freeze_windows if w.pod is None)
    pod = max(w.window.seconds for w in rp.freeze_windows if w.pod is not None)
    freezes, cuts = kernel_view(cluster, handles, since)
    first_freeze = min(ts(f["frozenAt"]) for f in freezes)
    last_thaw = max(ts(f["thawedAt"]) for f in freezes)
    last_cut = max(ts(c["cutAt"]) for c in cuts)
    ready = max(
        (v.ready_time - v.cut_time).total_seconds()
        for v in rp.volumes
        if v.ready_time and v.cut_time
    )
    return {
        "window": group,
        "pod_window": pod,
        "kernel_frozen": (last_thaw - first_freeze).total_seconds(),
        "cut_after_freeze": (last_cut - first_freeze).total_seconds(),
        "thaw_after_cut": (last_thaw - last_cut).total_seconds(),
        "ready_after_cut": ready,
        "app": float(all(v.consistency.value == "app" for v in rp.volumes)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cut-latency", type=float, default=0.2, help="L, seconds")
    ap.add_argument("--ready-factor", type=float, default=10.0, help="R = factor x L")
    ap.add_argument("--pods", type=int, default=3)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-groups", action="store_true", help="one VolumeSnapshot per PVC")
    args = ap.parse_args()
    cut, ready = args.cut_latency, args.cut_latency * args.ready_factor
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = os.environ.get("SNAPBRIDGE_SANDBOX_KUBECONFIG")
        if not kubeconfig:
            kubeconfig = str(stack.enter_context(Sandbox(Path(tmp) / "sandbox")).kubeconfig)
        cluster = connect(kubeconfig)
        stack.callback(cluster.close)
        old = set_knobs(cluster, {"cutLatencySeconds": str(cut), "readyLatencySeconds": str(ready)})
        stack.callback(set_knobs, cluster, old)
        ns, handles = make_app(cluster, args.pods)
        stack.callback(cluster.delete, NAMESPACE, ns)
        config = Path(tmp) / "config.yaml"
        groups = "false" if args.no_groups else "true"
        config.write_text(
            f"backend:\n  name: csi\n  exportTarget: file://{tmp}/exports\n"
            f"snapshot:\n  useGroupSnapshots: {groups}\n"
        )
        rows = [one_run(kubeconfig, config, cluster, ns, set(handles)) for _ in range(args.runs)]
    table = Table(
        title=f"freeze window, {args.pods} pods, L={cut:g}s, R={ready:g}s, groups: {groups}"
    )
    for col in (
        "run",
        "window",
        "- L",
        "pod max",
        "kernel frozen",
        "cut after freeze",
        "thaw after cut",
        "ready after cut",
        "app",
    ):
        table.add_column(col, justify="right")
    for i, r in enumerate(rows, 1):
        table.add_row(
            str(i),
            *(f"{r[k] * 1000:.0f} ms" for k in ("window",)),
            f"{(r['window'] - cut) * 1000:+.0f} ms",
            *(
                f"{r[k] * 1000:.0f} ms"
                for k in (
                    "pod_window",
                    "kernel_frozen",
                    "cut_after_freeze",
                    "thaw_after_cut",
                    "ready_after_cut",
                )
            ),
            "yes" if r["app"] else "no",
        )
    console.print(table)
    over = [(r["window"] - cut) * 1000 for r in rows]
    verdict = "met" if max(over) <= 250 else "NOT met"
    console.print(
        f"window - L: median {statistics.median(over):.0f} ms, max {max(over):.0f} ms "
        f"(goal <= 250 ms: {verdict}); readiness after the cut: median "
        f"{statistics.median(r['ready_after_cut'] for r in rows) * 1000:.0f} ms, not waited for"
    )


if __name__ == "__main__":
    main()
