"""Hooks declared in the config file reach the plugin (``ctx.extras["quiesce"]``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapbridge._internal.config import load_settings
from snapbridge._internal.plugins import create_plugin_host
from snapbridge.context import RunContext
from snapbridge.errors import ConfigError
from snapbridge.plugins import exec_hooks

from .conftest import FakeCluster, group_of, pod_ref

CONFIG = """
quiesce:
  maxHold: 45s
  hooks:
    - name: pg
      namespaces: [app]
      labelSelector: {matchLabels: {app: pg}}
      pre: [{container: sidecar, command: [pg-freeze, --hold, "$(SNAPBRIDGE_MAX_HOLD_SECONDS)"]}]
      post: [{command: [pg-thaw], onError: Continue}]
"""


def settings(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return load_settings(create_plugin_host(eps=[]).adapters, path)


def test_rules_from_the_config_file_drive_the_hooks(
    tmp_path: Path, ctx: RunContext, cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SNAPBRIDGE_CONFIG", raising=False)
    ctx.extras[exec_hooks.SETTINGS_KEY] = getattr(settings(tmp_path, CONFIG), "quiesce")  # noqa: B009
    group = group_of(pod_ref("db", ["data"], labels={"app": "pg"}), pod_ref("web", ["www"]))
    records = exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=records)
    assert [(c.pod, c.container, c.argv) for c in cluster.calls] == [
        ("app/db", "sidecar", ["pg-freeze", "--hold", "45"]),
        ("app/db", "main", ["pg-thaw"]),
    ]


def test_a_bad_rule_is_a_config_error_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SNAPBRIDGE_CONFIG", raising=False)
    with pytest.raises(ConfigError, match=r"quiesce\.hooks\.0\.pre\.0\.onError"):
        settings(
            tmp_path, "quiesce:\n  hooks:\n    - {name: x, pre: [{command: [a], onError: Retry}]}\n"
        )
