"""In-process state shared by the simulated components: disk layout, freezes, pods."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._kube import log, rfc3339_micro

DRIVER = "sandbox.csi.snapbridge.io"
NODE_NAME = "sim-node"
SYSTEM_NS = "snapbridge-system"
ANN = "sandbox.snapbridge.io/"


class Layout:
    """Where the simulated storage keeps its bytes under the state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir
        self.volumes = state_dir / "volumes"
        self.snapshots = state_dir / "snapshots"
        self.pods = state_dir / "pods"
        for d in (self.volumes, self.snapshots, self.pods):
            d.mkdir(parents=True, exist_ok=True)

    def volume(self, handle: str) -> Path:
        return self.volumes / handle

    def snapshot(self, handle: str) -> Path:
        return self.snapshots / handle

    def snapshot_meta(self, handle: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.snapshots / f"{handle}.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and self.snapshot(handle).is_dir() else None

    def write_snapshot_meta(self, handle: str, data: dict[str, Any]) -> None:
        tmp = self.snapshots / f".{handle}.json.tmp"
        tmp.write_text(json.dumps(data))
        tmp.replace(self.snapshots / f"{handle}.json")

    def remove_snapshot(self, handle: str) -> None:
        (self.snapshots / f"{handle}.json").unlink(missing_ok=True)
        shutil.rmtree(self.snapshot(handle), ignore_errors=True)

    def copy_tree(self, src: Path, dest: Path) -> int:
        """Copy ``src`` into a fresh ``dest`` (atomically renamed); return the bytes copied."""
        tmp = dest.with_name(f".tmp-{dest.name}-{os.getpid()}-{threading.get_ident()}")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp, symlinks=True)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.replace(dest)
        return sum(p.stat().st_size for p in dest.rglob("*") if p.is_file() and not p.is_symlink())


@dataclass
class Freeze:
    volume: str
    pod: str
    mount_path: str
    since: float
    deadline: float | None
    epoch: int


@dataclass
class Mount:
    path: str
    host_dir: Path
    read_only: bool
    volume: str | None  # the PV's volumeHandle, for volumes of the sandbox driver


@dataclass
class Container:
    image: str
    env: dict[str, str]
    working_dir: str | None
    mounts: list[Mount]


@dataclass
class PodRuntime:
    uid: str
    containers: dict[str, Container]
    hostname: str
    procs: set[int] = field(default_factory=set)  # process-group ids of running execs


Listener = Callable[[], None]


class Cluster:
    """The node-local truth: which pods run, which volumes are frozen, what was cut when."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.lock = threading.RLock()
        self.pods: dict[tuple[str, str], PodRuntime] = {}
        self.frozen: dict[str, Freeze] = {}
        self.listeners: list[Listener] = []
        self.log = FreezeLog(layout.root / "metrics.json")
        self._epoch = 0

    # -- pods ------------------------------------------------------------------------
    def pod(self, ns: str, name: str) -> PodRuntime | None:
        with self.lock:
            return self.pods.get((ns, name))

    def set_pod(self, ns: str, name: str, runtime: PodRuntime | None) -> None:
        with self.lock:
            old = self.pods.pop((ns, name), None)
            if runtime is not None:
                self.pods[(ns, name)] = runtime
                if old is not None and old.uid == runtime.uid:
                    runtime.procs = old.procs
                    old = None
        if old is not None:
            for pgid in list(old.procs):
                _signal_group(pgid, signal.SIGKILL)

    # -- freezes ---------------------------------------------------------------------
    def freeze(self, volume: str, pod: str, path: str, thaw_after: float | None) -> bool:
        with self.lock:
            if volume in self.frozen:
                return False
            self._epoch += 1
            now = time.time()
            deadline = None if thaw_after is None else now + thaw_after
            fr = Freeze(volume, pod, path, now, deadline, self._epoch)
            self.frozen[volume] = fr
            self.log.freeze(fr)
            self._signal_pods(volume, signal.SIGSTOP)
        if thaw_after is not None:
            timer = threading.Timer(thaw_after, self.thaw, (volume, fr.epoch, "deadline"))
            timer.daemon = True
            timer.start()
        self._notify()
        return True

    def thaw(self, volume: str, epoch: int | None = None, reason: str = "unfreeze") -> bool:
        with self.lock:
            fr = self.frozen.get(volume)
            if fr is None or (epoch is not None and fr.epoch != epoch):
                return False
            del self.frozen[volume]
            self.log.thaw(fr, reason)
            self._signal_pods(volume, signal.SIGCONT)
        self._notify()
        return True

    def is_frozen(self, volume: str) -> bool:
        with self.lock:
            return volume in self.frozen

    def any_frozen(self, volumes: list[str]) -> bool:
        with self.lock:
            return any(v in self.frozen for v in volumes)

    def _signal_pods(self, volume: str, sig: signal.Signals) -> None:
        for rt in self.pods.values():
            vols = {m.volume for c in rt.containers.values() for m in c.mounts}
            if volume not in vols:
                continue
            if sig == signal.SIGCONT and any(v in self.frozen for v in vols if v):
                continue
            for pgid in list(rt.procs):
                _signal_group(pgid, sig)

    def _notify(self) -> None:
        for cb in list(self.listeners):
            cb()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class FreezeLog:
    """Freeze intervals and cut instants, mirrored to a JSON file and a ConfigMap."""

    LIMIT = 2000

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.freezes: list[dict[str, Any]] = []
        self.cuts: list[dict[str, Any]] = []
        self.version = 0
        self.changed = threading.Event()

    def _bump(self) -> None:
        self.version += 1
        del self.freezes[: -self.LIMIT]
        del self.cuts[: -self.LIMIT]
        self.changed.set()

    def freeze(self, fr: Freeze) -> None:
        with self.lock:
            self.freezes.append(
                {
                    "volumeHandle": fr.volume,
                    "pod": fr.pod,
                    "mountPath": fr.mount_path,
                    "frozenAt": rfc3339_micro(fr.since),
                    "thawDeadline": None if fr.deadline is None else rfc3339_micro(fr.deadline),
                    "thawedAt": None,
                    "thawReason": None,
                    "epoch": fr.epoch,
                }
            )
            self._bump()

    def thaw(self, fr: Freeze, reason: str) -> None:
        with self.lock:
            for entry in reversed(self.freezes):
                if entry["epoch"] == fr.epoch:
                    entry["thawedAt"] = rfc3339_micro(time.time())
                    entry["thawReason"] = reason
                    break
            self._bump()

    def cut(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.cuts.append(entry)
            self._bump()

    def render(self) -> dict[str, str]:
        with self.lock:
            summary = {"snapshotsCut": len(self.cuts), "freezes": len(self.freezes)}
            data = {
                "freezes.json": json.dumps(self.freezes),
                "cuts.json": json.dumps(self.cuts),
                "summary.json": json.dumps(summary),
            }
        try:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({k: json.loads(v) for k, v in data.items()}, indent=1))
            tmp.replace(self.path)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.path, exc)
        return data
