"""The peer baseline, labelled as such: a strategy that behaves the way Velero's CSI path does.

One VolumeSnapshot at a time; after creating each, poll it every 5 s until it is ready to use
(Velero waits for readiness per snapshot, sequentially, with a fixed poll interval).
"""

from __future__ import annotations

import time
from typing import Any

from snapbridge._internal.k8s import KubeCluster
from snapbridge.cluster import VOLUME_SNAPSHOT

POLL_SECONDS = 5.0


def velero_like_backup(
    cluster: KubeCluster, ns: str, pvcs: list[str], run_id: str
) -> dict[str, Any]:
    start = time.monotonic()
    last_cut = start
    for pvc in pvcs:
        name = f"vl-{run_id}-{pvc}"[:253]
        cluster.create(
            VOLUME_SNAPSHOT,
            {
                "apiVersion": VOLUME_SNAPSHOT.api_version,
                "kind": "VolumeSnapshot",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"source": {"persistentVolumeClaimName": pvc}},
            },
        )
        while True:
            time.sleep(POLL_SECONDS)
            vs = cluster.get(VOLUME_SNAPSHOT, name, ns) or {}
            status = vs.get("status") or {}
            if status.get("creationTime"):
                last_cut = time.monotonic()
            if status.get("readyToUse"):
                break
    return {"to_last_cut": last_cut - start, "total": time.monotonic() - start}
