"""The simulated cluster-side components of the sandbox: CSI driver, snapshot controllers, node.

:func:`serve` runs them all against a real kube-apiserver (+ kube-controller-manager), acting
only through the Kubernetes API:

* **CSI provisioner** for ``sandbox.csi.snapbridge.io``: PVC -> PV ``pvc-<pvc uid>`` (volume
  handle = PV name) backed by ``<state_dir>/volumes/<handle>/``; restores from a VolumeSnapshot
  or clones a PVC given as ``dataSource``/``dataSourceRef``.
* **snapshot controller + CSI snapshotter**: VolumeSnapshot -> ``snapcontent-<vs uid>``; bytes
  copied at the cut into ``<state_dir>/snapshots/<snapshotHandle>/`` (+ ``<handle>.json``);
  status only through ``/status``; the upstream bound-protection finalizers; pre-provisioned
  contents bind and become ready when their handle's bytes exist.
* **group snapshots** (``groupsnapshot.storage.k8s.io``, the CRD's storage version): one cut
  instant for all members; members get ``snapshot-<sha256(vgs uid + volume handle)>`` /
  ``snapcontent-<same>`` (see ``_groups``).
* **node + kubelet**: Node ``sim-node`` (InternalIP 127.0.0.1, kubelet port, Lease renewed),
  a scheduler that binds pending pods through ``pods/binding`` once their claims are bound,
  pods marked Running (images never pulled), graceful deletions finalized; HTTPS ``/exec``
  (websocket v4/v5, stdin included) running argv in a bubblewrap sandbox with the pod's volumes
  at their mount paths, killed when the client goes away (see ``_kubelet``, ``_bwrap``).

Times: content ``status.creationTime`` is int64 nanoseconds (the cut instant); snapshot and
group ``status.creationTime`` are RFC 3339 seconds, as metav1.Time serialises. A snapshot
without a class gets the driver's default class (annotation ``is-default-class``), or its only
class. Claims are pre-bound (PV ``claimRef`` + PVC ``volumeName``); kube-controller-manager
completes the binding, or the provisioner does after 3 s when no controller manager runs.

Knobs (ConfigMap ``snapbridge-system/sandbox-driver``, created with the defaults when
missing, read at each snapshot, so tests or other processes change them through the API):

* ``cutLatencySeconds`` (default 0.2): from a content's creation to its cut.
* ``readyLatencySeconds`` (default 0.5): from the cut to ``readyToUse: true``.

Per-object annotations (on the PVC, the VolumeSnapshot or the VolumeGroupSnapshot):

* ``sandbox.snapbridge.io/snapshot-error: "<message>"`` -> ``status.error`` {message, time} on
  the content and the snapshot; never ready, no bytes.
* ``sandbox.snapbridge.io/never-ready: "true"`` -> cut, but never ``readyToUse``.
* ``sandbox.snapbridge.io/cut-latency-seconds: "<n>"`` -> a slower cut (max with the default).

Observations written by the driver:

* On each VolumeSnapshotContent / VolumeGroupSnapshotContent cut:
  ``sandbox.snapbridge.io/frozen-at-cut: "true"|"false"`` (group: all members frozen),
  ``sandbox.snapbridge.io/cut-at: <RFC 3339, microseconds>``; group contents also
  ``sandbox.snapbridge.io/frozen-volumes: <handle,...>``.
* ConfigMap ``snapbridge-system/sandbox-freeze-log`` (and ``<state_dir>/metrics.json``):
  ``freezes.json`` (per freeze: volumeHandle, pod, mountPath, frozenAt, thawDeadline,
  thawedAt, thawReason ``unfreeze|deadline|volume-deleted``), ``cuts.json`` (per cut:
  content, snapshot or group, volumeHandle, snapshotHandle, cutAt, frozen, bytes) and
  ``summary.json`` (``snapshotsCut``, ``freezes``).

fsfreeze (interpreted by the kubelet, never executed): ``fsfreeze --freeze|-f <path>``,
``fsfreeze --unfreeze|-u <path>``, and the self-thawing form :func:`auto_thaw_argv` (a real
``sh -c`` script that leaves a background thaw; the kubelet enforces its deadline itself).
While a volume is frozen, new execs in pods mounting it wait for the thaw and running ones are
stopped (SIGSTOP/SIGCONT), as writers block on a frozen filesystem.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import urllib3

from ._bwrap import bwrap_path
from ._config import run_recorder
from ._fsfreeze import AUTO_THAW_SCRIPT, auto_thaw_argv
from ._groups import GroupController
from ._groupsnapshotter import GroupSnapshotter, wait_group_api
from ._kube import Kube, log
from ._kubelet import Kubelet
from ._model import DRIVER, NODE_NAME, Cluster, Layout
from ._node import Scheduler, run_heartbeat
from ._pods import PodManager
from ._provisioner import Provisioner
from ._queue import WorkQueue
from ._snapshots import SnapshotController
from ._snapshotter import Snapshotter

__all__ = ["AUTO_THAW_SCRIPT", "DRIVER", "NODE_NAME", "auto_thaw_argv", "bwrap_path", "serve"]


def serve(kubeconfig: Path, state_dir: Path, kubelet_port: int, stop: threading.Event) -> None:
    """Run every simulated component until ``stop`` is set."""
    # The sandbox kubeconfig skips TLS verification of the loopback apiserver on purpose.
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    cluster = Cluster(Layout(state_dir))
    threads: list[threading.Thread] = []
    queues: list[WorkQueue] = []
    kubelet = Kubelet(cluster, kubelet_port)
    threads.append(kubelet.start(stop))
    threads.append(run_heartbeat(kubeconfig, kubelet_port, stop))
    threads.append(run_recorder(kubeconfig, cluster.log, stop))
    for component in (
        PodManager(kubeconfig, cluster, stop),
        Scheduler(kubeconfig, cluster, stop),
        Provisioner(kubeconfig, cluster, stop),
        SnapshotController(kubeconfig, cluster, stop),
        Snapshotter(kubeconfig, cluster, stop),
    ):
        threads += component.start()
        queues.append(component.queue)

    def start_groups() -> None:
        kube = Kube(kubeconfig)
        try:
            api = wait_group_api(kube, stop)
        finally:
            kube.close()
        if api is None:
            return
        log.info("group snapshots served at %s", api.base)
        for group in (
            GroupController(kubeconfig, cluster, api, stop),
            GroupSnapshotter(kubeconfig, cluster, api, stop),
        ):
            group.start()
            queues.append(group.queue)
            if stop.is_set():
                group.queue.close()

    threads.append(threading.Thread(target=start_groups, name="groups", daemon=True))
    threads[-1].start()
    stop.wait()
    for queue in list(queues):
        queue.close()
    deadline = time.monotonic() + 2.0  # watches end on their own; don't hold the daemon up
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
