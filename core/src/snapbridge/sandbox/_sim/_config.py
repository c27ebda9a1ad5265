"""Knobs read through the API (ConfigMap + annotations) and the freeze-log ConfigMap writer."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._kube import ApiException, Kube, log, meta
from ._model import ANN, SYSTEM_NS, FreezeLog

DRIVER_CONFIGMAP = "sandbox-driver"
FREEZE_LOG_CONFIGMAP = "sandbox-freeze-log"
DEFAULT_CUT_LATENCY = 0.2
DEFAULT_READY_LATENCY = 0.5

ANN_ERROR = ANN + "snapshot-error"
ANN_NEVER_READY = ANN + "never-ready"
ANN_CUT_LATENCY = ANN + "cut-latency-seconds"
ANN_FROZEN_AT_CUT = ANN + "frozen-at-cut"
ANN_CUT_AT = ANN + "cut-at"
ANN_FROZEN_VOLUMES = ANN + "frozen-volumes"
ANN_SOURCE_PVC = ANN + "source-pvc"


@dataclass(frozen=True)
class Knobs:
    cut_latency: float
    ready_latency: float
    error: str | None
    never_ready: bool


def _float(value: Any, default: float) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if out >= 0 else default


def read_knobs(kube: Kube, *objs: Mapping[str, Any] | None) -> Knobs:
    """The driver ConfigMap's latencies, overridden by annotations on ``objs`` (PVC, snapshot…)."""
    cm = kube.get(f"/api/v1/namespaces/{SYSTEM_NS}/configmaps/{DRIVER_CONFIGMAP}") or {}
    data = cm.get("data") or {}
    cut = _float(data.get("cutLatencySeconds"), DEFAULT_CUT_LATENCY)
    ready = _float(data.get("readyLatencySeconds"), DEFAULT_READY_LATENCY)
    error: str | None = None
    never_ready = False
    for obj in objs:
        if not obj:
            continue
        ann = meta(obj).get("annotations") or {}
        if ANN_CUT_LATENCY in ann:
            cut = max(cut, _float(ann[ANN_CUT_LATENCY], cut))
        if error is None and ann.get(ANN_ERROR):
            error = str(ann[ANN_ERROR])
        if str(ann.get(ANN_NEVER_READY, "")).lower() == "true":
            never_ready = True
    return Knobs(cut, ready, error, never_ready)


def run_recorder(kubeconfig: Path, flog: FreezeLog, stop: threading.Event) -> threading.Thread:
    """Mirror the freeze log into ``snapbridge-system/sandbox-freeze-log`` (debounced)."""
    path = f"/api/v1/namespaces/{SYSTEM_NS}/configmaps"

    def run() -> None:
        kube = Kube(kubeconfig)
        written = -1
        defaults = {
            "metadata": {"name": DRIVER_CONFIGMAP},
            "data": {
                "cutLatencySeconds": str(DEFAULT_CUT_LATENCY),
                "readyLatencySeconds": str(DEFAULT_READY_LATENCY),
            },
        }
        flog.changed.set()
        try:
            while not stop.is_set():
                try:  # publish the knobs with their defaults (an existing one is kept)
                    if defaults and kube.get(f"{path}/{DRIVER_CONFIGMAP}") is None:
                        kube.create(path, defaults)
                    defaults = {}
                except ApiException as exc:
                    log.warning("knobs ConfigMap not created: %s", exc.status)
                flog.changed.wait(2.0)
                flog.changed.clear()
                if flog.version == written:
                    continue
                version = flog.version
                data = flog.render()
                try:
                    body = {"data": data}
                    if kube.patch(f"{path}/{FREEZE_LOG_CONFIGMAP}", body) is None:
                        cm = {"metadata": {"name": FREEZE_LOG_CONFIGMAP}, "data": data}
                        kube.create(path, cm)
                    written = version
                except ApiException as exc:
                    log.warning("freeze log not written: %s", exc.status)
                    flog.changed.set()
                    stop.wait(1.0)
                stop.wait(0.05)
        finally:
            kube.close()

    thread = threading.Thread(target=run, name="freeze-log", daemon=True)
    thread.start()
    return thread
