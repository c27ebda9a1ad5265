"""Run as a child process by the crash tests (not a test module).

python child.py freeze KUBECONFIG GROUP_JSON   # quiesce, print FROZEN, wait to be killed
python child.py engine KUBECONFIG GROUP_JSON   # a real engine run whose cut never comes,
                                               # under sigterm_as_interrupt; prints CUTTING
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from snapbridge import RunContext, hookimpl
from snapbridge._internal.engine import BackupEngine
from snapbridge._internal.k8s import connect
from snapbridge._internal.plugins import create_plugin_host
from snapbridge._internal.signals import sigterm_as_interrupt
from snapbridge.models import BackupRequest, ConsistencyGroup, Inventory
from snapbridge.plugins import exec_hooks


class NeverCut:
    def __init__(self, group: ConsistencyGroup) -> None:
        self.group = group

    @hookimpl
    def snapbridge_discover(self, ctx: RunContext, request: BackupRequest) -> Inventory:
        return Inventory(volumes=self.group.volumes, groups=[self.group], pods=self.group.pods)

    @hookimpl
    def snapbridge_snapshot(self, ctx: RunContext, group: ConsistencyGroup) -> None:
        print("CUTTING", flush=True)
        time.sleep(600)


def main() -> int:
    mode, kubeconfig, group_file = sys.argv[1:4]
    group = ConsistencyGroup.model_validate_json(Path(group_file).read_text())
    cluster = connect(kubeconfig)
    ctx = RunContext(run_id=f"child-{mode}", backend="csi", cluster=cluster)
    if mode == "freeze":
        exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
        print("FROZEN", flush=True)
        time.sleep(600)
        return 0
    host = create_plugin_host(
        builtins=("snapbridge.plugins.exec_hooks",),
        eps=[],
        extra_plugins=[("never", NeverCut(group))],
    )
    try:
        with sigterm_as_interrupt():
            BackupEngine(host, ctx).run(
                BackupRequest(run_id=ctx.run_id, namespaces=[group.namespace])
            )
    except KeyboardInterrupt:
        print("INTERRUPTED", flush=True)
        return 130
    finally:
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
