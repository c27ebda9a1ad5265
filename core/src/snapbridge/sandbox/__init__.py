"""A local Kubernetes to test snapbridge against: real etcd + kube-apiserver (+ controller manager)
on loopback, the snapshot CRDs, and simulated CSI storage and kubelet.

    with Sandbox() as sandbox:            # or: `snapbridge sandbox up`, then `down`
        use(sandbox.kubeconfig)

Tests get a session-wide one from the `sandbox` pytest fixture (marker `sandbox`).
"""

from snapbridge.sandbox._assets import AssetsError, bwrap_path
from snapbridge.sandbox._controlplane import Sandbox, SandboxError, SandboxStatus
from snapbridge.sandbox._names import (
    GROUP_SNAPSHOT_CLASS,
    SANDBOX_DRIVER,
    SNAPSHOT_CLASS,
    STORAGE_CLASS,
    SYSTEM_NAMESPACE,
)
from snapbridge.sandbox._state import SandboxState

__all__ = [
    "GROUP_SNAPSHOT_CLASS",
    "SANDBOX_DRIVER",
    "SNAPSHOT_CLASS",
    "STORAGE_CLASS",
    "SYSTEM_NAMESPACE",
    "AssetsError",
    "Sandbox",
    "SandboxError",
    "SandboxState",
    "SandboxStatus",
    "bwrap_path",
]
