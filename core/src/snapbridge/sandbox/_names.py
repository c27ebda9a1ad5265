"""Names of the objects every sandbox starts with; code and tests should use these, not literals."""

from __future__ import annotations

SANDBOX_DRIVER = "sandbox.csi.snapbridge.io"
"""CSI driver name the simulated storage answers to (provisioner and snapshot driver)."""

STORAGE_CLASS = "sandbox-csi"
SNAPSHOT_CLASS = "sandbox-snapclass"
GROUP_SNAPSHOT_CLASS = "sandbox-groupclass"
SYSTEM_NAMESPACE = "snapbridge-system"

SNAPSHOT_GROUP = "snapshot.storage.k8s.io"
GROUP_SNAPSHOT_GROUP = "groupsnapshot.storage.k8s.io"

STATE_DIR_ENV = "SNAPBRIDGE_SANDBOX_DIR"
"""State directory override; default `${XDG_STATE_HOME:-~/.local/state}/snapbridge/sandbox`."""

KUBECONFIG_ENV = "SNAPBRIDGE_SANDBOX_KUBECONFIG"
"""Makes the pytest fixture use an already running sandbox instead of starting one."""
