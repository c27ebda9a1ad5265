"""snapbridge benchmark: snapshot-phase speed, API cost, freeze window, CPU, memory, --help.

    uv run python bench/run.py [--sizes 10 50 200] [--cut-latency 0.5] [--json PATH]

Runs on its own sandbox (or the one named by SNAPBRIDGE_SANDBOX_KUBECONFIG), prints one table
and writes JSON (default bench/results/<time>.json). Figures are measured, never asserted.
The peer baseline ("velero-like") runs the same workload one snapshot at a time with 5 s polls.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rich.console import Console
from rich.table import Table

from snapbridge._internal.k8s import KubeCluster, connect
from snapbridge._internal.session import open_session
from snapbridge.cluster import CONFIG_MAP, NAMESPACE, PERSISTENT_VOLUME_CLAIM, POD
from snapbridge.models import Phase, PhaseStatus
from velero_like import velero_like_backup
from wire import count_requests

ROOT = Path(__file__).resolve().parents[1]
console = Console()


def set_latencies(cluster: KubeCluster, cut: float, ready: float) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "sandbox-driver", "namespace": "snapbridge-system"},
        "data": {"cutLatencySeconds": str(cut), "readyLatencySeconds": str(ready)},
    }
    cluster.create(CONFIG_MAP, body)
    cluster.patch(CONFIG_MAP, "sandbox-driver", {"data": body["data"]}, "snapbridge-system")


def make_namespace(
    cluster: KubeCluster, n: int, *, pods: int = 0, freeze: bool = False
) -> tuple[str, list[str]]:
    ns = f"bench-{n}-{secrets.token_hex(2)}"
    cluster.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    pvcs = [f"v-{i:04d}" for i in range(n)]
    for p in pvcs:
        cluster.create(
            PERSISTENT_VOLUME_CLAIM,
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": p, "namespace": ns},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "sandbox-csi",
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        )
    cluster.wait_for(
        PERSISTENT_VOLUME_CLAIM,
        pvcs,
        ns,
        lambda o: (o.get("status") or {}).get("phase") == "Bound",
        timeout=600,
    )
    for i in range(pods):
        claim = pvcs[i % n]
        ann = {"snapbridge.io/fsfreeze": "/data"} if freeze else {}
        cluster.create(
            POD,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"p-{i}", "namespace": ns, "annotations": ann},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "busybox",
                            "command": ["sleep", "1d"],
                            "volumeMounts": [{"name": "d", "mountPath": "/data"}],
                        }
                    ],
                    "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}],
                },
            },
        )
    if pods:
        cluster.wait_for(
            POD,
            [f"p-{i}" for i in range(pods)],
            ns,
            lambda o: (o.get("status") or {}).get("phase") == "Running",
            timeout=300,
        )
    return ns, pvcs


def measure_rtt(cluster: KubeCluster, samples: int = 30) -> float:
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        cluster.get(CONFIG_MAP, "sandbox-driver", "snapbridge-system")
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def config_file(tmp: Path, *, groups: bool, concurrency: int) -> Path:
    path = tmp / f"bench-{groups}-{concurrency}.yaml"
    path.write_text(
        f"backend:\n  name: csi\n  exportTarget: file://{tmp}/exports\n"
        f"snapshot:\n  useGroupSnapshots: {str(groups).lower()}\n  concurrency: {concurrency}\n"
    )
    return path


def engine_backup(kubeconfig: str, cfg: Path, ns: str) -> dict[str, Any]:
    session = open_session(cfg, kubeconfig, None)
    run_id = f"b-{secrets.token_hex(4)}"
    try:
        with count_requests() as wire:
            cpu0, t0 = time.process_time(), time.monotonic()
            result = session.engine(run_id).run(session.request(run_id, [ns]))
            cpu = time.process_time() - cpu0
            wall = time.monotonic() - t0
        rp = session.journal.get_restore_point(run_id)
    finally:
        session.close()
    if not result.ok:
        raise RuntimeError(result.error)
    start = min(p.started for p in result.phases)
    snap_end = max(
        p.ended
        for p in result.phases
        if p.phase is Phase.SNAPSHOT and p.status is PhaseStatus.SUCCEEDED
    )
    windows = [w.window.seconds for w in (rp.freeze_windows if rp else []) if w.pod is None]
    cuts = [v.cut_time for v in (rp.volumes if rp else []) if v.cut_time]
    driver_last_cut = (max(cuts) - start).total_seconds() if cuts else None
    return {
        "to_last_cut": (snap_end - start).total_seconds(),
        "driver_last_cut": driver_last_cut,
        "wall": wall,
        "cpu": cpu,
        "requests": wire.total(),
        "requests_by": wire.by_key(),
        "freeze_window": max(windows, default=None),
    }


def cold_help(runs: int = 7) -> dict[str, float]:
    exe = str(Path(sys.executable).parent / "snapbridge")
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([exe, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return {"min": min(times), "median": statistics.median(times)}


def rss_child(kubeconfig: str, cfg: Path, ns: str) -> None:
    engine_backup(kubeconfig, cfg, ns)
    print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    ap.add_argument("--cut-latency", type=float, default=0.5)
    ap.add_argument("--ready-latency", type=float, default=None, help="default: 2 x cut latency")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument(
        "--baseline-max", type=int, default=50, help="largest N run through the baseline"
    )
    ap.add_argument("--freeze-pods", type=int, default=5)
    ap.add_argument("--rss-volumes", type=int, default=1000, help="0 to skip the RSS run")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--rss-child", nargs=3, metavar=("KUBECONFIG", "CONFIG", "NS"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.rss_child:
        rss_child(args.rss_child[0], Path(args.rss_child[1]), args.rss_child[2])
        return
    from snapbridge.sandbox import Sandbox

    reuse = os.environ.get("SNAPBRIDGE_SANDBOX_KUBECONFIG")
    tmp = Path(tempfile.mkdtemp(prefix="snapbridge-bench-"))
    box = None if reuse else Sandbox(tmp / "sandbox")
    kubeconfig = reuse or str(box.kubeconfig if box else "")
    up_seconds = None
    if box:
        t = time.perf_counter()
        box.up()
        up_seconds = time.perf_counter() - t
        kubeconfig = str(box.kubeconfig)
    try:
        report = run_all(args, kubeconfig, tmp)
        report["sandbox_up_s"] = up_seconds
    finally:
        if box:
            box.down()
    out = args.json or ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    if up_seconds is not None:
        console.print(f"sandbox up (cached binaries): {up_seconds:.2f}s")
    console.print(f"JSON: {out}")


def run_all(args: argparse.Namespace, kubeconfig: str, tmp: Path) -> dict[str, Any]:
    cut = args.cut_latency
    ready = args.ready_latency if args.ready_latency is not None else 2 * cut
    cluster = connect(kubeconfig)
    rows: list[dict[str, Any]] = []
    try:
        set_latencies(cluster, cut, ready)
        rtt = measure_rtt(cluster)
        single = config_file(tmp, groups=False, concurrency=args.concurrency)
        for n in args.sizes:
            ns, pvcs = make_namespace(cluster, n)
            r = engine_backup(kubeconfig, single, ns)
            limit = cut + n * rtt / args.concurrency
            rows.append(
                {
                    "strategy": "snapbridge",
                    "n": n,
                    "to_last_cut": r["to_last_cut"],
                    "driver_last_cut": r["driver_last_cut"],
                    "limit": limit,
                    "ratio": r["to_last_cut"] / limit,
                    "req_per_vol": r["requests"] / n,
                    "cpu_ms_per_vol": 1000 * r["cpu"] / n,
                    "requests_by": r["requests_by"],
                }
            )
            if n <= args.baseline_max:
                with count_requests() as wire:
                    cpu0 = time.process_time()
                    b = velero_like_backup(cluster, ns, pvcs, secrets.token_hex(3))
                    cpu = time.process_time() - cpu0
                rows.append(
                    {
                        "strategy": "velero-like",
                        "n": n,
                        "to_last_cut": b["to_last_cut"],
                        "limit": limit,
                        "ratio": b["to_last_cut"] / limit,
                        "req_per_vol": wire.total() / n,
                        "cpu_ms_per_vol": 1000 * cpu / n,
                        "requests_by": wire.by_key(),
                    }
                )
            cluster.delete(NAMESPACE, ns)
        set_latencies(cluster, cut, 10 * cut)
        ns, _ = make_namespace(cluster, args.freeze_pods, pods=args.freeze_pods, freeze=True)
        grouped = config_file(tmp, groups=True, concurrency=args.concurrency)
        fr = engine_backup(kubeconfig, grouped, ns)
        cluster.delete(NAMESPACE, ns)
        rss = None
        if args.rss_volumes:
            set_latencies(cluster, 0.05, 0.1)
            ns, _ = make_namespace(cluster, args.rss_volumes)
            out = subprocess.run(
                [sys.executable, __file__, "--rss-child", kubeconfig, str(single), ns],
                capture_output=True,
                text=True,
                check=True,
            )
            rss = json.loads(out.stdout.strip().splitlines()[-1])["maxrss_kb"] / 1024
            cluster.delete(NAMESPACE, ns)
        helptime = cold_help()
    finally:
        cluster.close()
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "cut_latency": cut,
        "ready_latency": ready,
        "rtt_ms": rtt * 1000,
        "concurrency": args.concurrency,
        "rows": rows,
        "freeze": {
            "pods": args.freeze_pods,
            "ready_latency": 10 * cut,
            "window_s": fr["freeze_window"],
            "ratio_to_L": (fr["freeze_window"] or 0) / cut,
        },
        "peak_rss_mb": rss,
        "rss_volumes": args.rss_volumes,
        "help_s": helptime,
    }
    print_report(report)
    return report


def print_report(rep: dict[str, Any]) -> None:
    t = Table(
        title=f"snapshot phase, L={rep['cut_latency']}s R={rep['ready_latency']}s, "
        f"rtt={rep['rtt_ms']:.1f}ms, concurrency={rep['concurrency']}"
    )
    for c in (
        "strategy",
        "N",
        "to last cut (s)",
        "driver's last cut (s)",
        "limit model (s)",
        "ratio",
        "API req/vol",
        "CPU ms/vol",
    ):
        t.add_column(c, justify="right")
    for r in rep["rows"]:
        t.add_row(
            r["strategy"],
            str(r["n"]),
            f"{r['to_last_cut']:.2f}",
            f"{r['driver_last_cut']:.2f}" if r.get("driver_last_cut") is not None else "-",
            f"{r['limit']:.2f}",
            f"{r['ratio']:.2f}",
            f"{r['req_per_vol']:.2f}",
            f"{r['cpu_ms_per_vol']:.2f}",
        )
    console.print(t)
    f = rep["freeze"]
    window = f"{f['window_s']:.3f}s" if f["window_s"] is not None else "n/a"
    console.print(
        f"freeze window, {f['pods']}-pod group, R=10L: {window} (ratio to L {f['ratio_to_L']:.2f}; "
        f"goal <= L + 0.25 s = {rep['cut_latency'] + 0.25:.2f}s)"
    )
    rss = rep["peak_rss_mb"]
    console.print(
        f"peak RSS, {rep['rss_volumes']}-PVC backup: {f'{rss:.0f} MB' if rss else 'skipped'}"
    )
    console.print(
        f"cold `snapbridge --help`: min {rep['help_s']['min']:.3f}s "
        f"median {rep['help_s']['median']:.3f}s"
    )


if __name__ == "__main__":
    main()
