"""Hook declarations: snapbridge.io annotations, Velero annotations, config rules."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from snapbridge.plugins.exec_hooks.config import (
    ExecHook,
    HookRule,
    LabelSelector,
    OnError,
    QuiesceSettings,
    parse_duration,
)
from snapbridge.plugins.exec_hooks.spec import (
    ANNOTATIONS,
    AUTO_THAW_SCRIPT,
    HookSpecError,
    resolve,
)

from .conftest import fsfreeze, pod_ref

DEFAULTS = QuiesceSettings()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30.0), (12, 12.0), ("1.5", 1.5), ("30s", 30.0), ("1m30s", 90.0), ("250ms", 0.25)],
)
def test_durations(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "30x", "s", "1m 30s", "-5s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_annotation_names_are_the_documented_ones() -> None:
    assert set(ANNOTATIONS) == {
        *(
            f"snapbridge.io/{p}-hook-{f}"
            for p in ("pre", "post")
            for f in ("container", "command", "timeout", "on-error")
        ),
        "snapbridge.io/fsfreeze",
        "snapbridge.io/quiesce-order",
        "snapbridge.io/quiesce-max-hold",
    }


def test_our_annotations_with_defaults_and_overrides() -> None:
    pod = pod_ref(
        "db",
        ["data"],
        {
            "snapbridge.io/pre-hook-command": json.dumps(["psql", "-c", "CHECKPOINT"]),
            "snapbridge.io/pre-hook-container": "sidecar",
            "snapbridge.io/pre-hook-timeout": "1m",
            "snapbridge.io/pre-hook-on-error": "continue",
            "snapbridge.io/post-hook-command": '["true"]',
            "snapbridge.io/quiesce-order": "2",
        },
    )
    hooks = resolve(pod, DEFAULTS)
    assert hooks is not None
    assert hooks.source == "snapbridge.io annotations"
    assert hooks.pre == [
        ExecHook(
            container="sidecar",
            command=["psql", "-c", "CHECKPOINT"],
            timeout=60,
            on_error=OnError.CONTINUE,
        )
    ]
    # defaults: first container, Fail, 30s
    assert hooks.post == [ExecHook(container="main", command=["true"])]
    assert hooks.post[0].on_error is OnError.FAIL and hooks.post[0].timeout == 30
    assert (hooks.order, hooks.max_hold) == (2, 60)


def test_fsfreeze_shorthand_is_self_thawing_with_the_max_hold() -> None:
    pod = pod_ref(
        "db", ["data"], fsfreeze("/data, /wal", **{"snapbridge.io/quiesce-max-hold": "45s"})
    )
    hooks = resolve(pod, DEFAULTS)
    assert hooks is not None and hooks.max_hold == 45
    assert [h.command for h in hooks.pre] == [
        ["sh", "-c", AUTO_THAW_SCRIPT, "fsfreeze-auto-thaw", "/data", "45"],
        ["sh", "-c", AUTO_THAW_SCRIPT, "fsfreeze-auto-thaw", "/wal", "45"],
    ]
    assert [h.command for h in hooks.post] == [
        ["fsfreeze", "--unfreeze", "/data"],
        ["fsfreeze", "--unfreeze", "/wal"],
    ]


def test_app_hook_runs_before_fsfreeze_and_after_unfreeze() -> None:
    pod = pod_ref(
        "db",
        ["data"],
        fsfreeze(
            "/data",
            **{
                "snapbridge.io/pre-hook-command": '["lock", "$(SNAPBRIDGE_MAX_HOLD_SECONDS)"]',
                "snapbridge.io/post-hook-command": '["unlock"]',
            },
        ),
    )
    hooks = resolve(pod, DEFAULTS)
    assert hooks is not None
    assert [h.command[0] for h in hooks.pre] == ["lock", "sh"]
    assert hooks.pre[0].command == ["lock", "60"]
    assert [h.command[0] for h in hooks.post] == ["fsfreeze", "unlock"]


def test_the_sandbox_recognises_our_self_thawing_script() -> None:
    from snapbridge.sandbox._sim import AUTO_THAW_SCRIPT as SANDBOX_SCRIPT

    assert AUTO_THAW_SCRIPT == SANDBOX_SCRIPT


@pytest.mark.parametrize(
    ("annotation", "value", "message"),
    [
        ("snapbridge.io/pre-hook-command", "fsfreeze --freeze /data", "JSON array"),
        ("snapbridge.io/pre-hook-command", "[]", "JSON array"),
        ("snapbridge.io/pre-hook-command", "[1, 2]", "JSON array"),
        ("snapbridge.io/pre-hook-on-error", "Ignore", "invalid"),
        ("snapbridge.io/pre-hook-timeout", "soon", "invalid"),
        ("snapbridge.io/quiesce-order", "first", "quiesce-order"),
        ("snapbridge.io/quiesce-max-hold", "long", "quiesce-max-hold"),
    ],
)
def test_bad_annotations_are_errors_naming_the_pod(
    annotation: str, value: str, message: str
) -> None:
    ann = {"snapbridge.io/pre-hook-command": '["true"]', annotation: value}
    with pytest.raises(HookSpecError, match=message) as info:
        resolve(pod_ref("db", ["data"], ann), DEFAULTS)
    assert "app/db" in info.value.message


def test_velero_annotations_are_read_as_velero_reads_them() -> None:
    pod = pod_ref(
        "db",
        ["data"],
        {
            "pre.hook.backup.velero.io/container": "sidecar",
            "pre.hook.backup.velero.io/command": '["/sbin/fsfreeze", "--freeze", "/data"]',
            "pre.hook.backup.velero.io/on-error": "Continue",
            "pre.hook.backup.velero.io/timeout": "2m",
            "post.hook.backup.velero.io/command": "/bin/thaw-everything",
        },
    )
    hooks = resolve(pod, DEFAULTS)
    assert hooks is not None and hooks.source == "velero annotations"
    assert hooks.pre == [
        ExecHook(
            container="sidecar",
            command=["/sbin/fsfreeze", "--freeze", "/data"],
            on_error=OnError.CONTINUE,
            timeout=120,
        )
    ]
    # a command that is not a JSON array is one argv element, never split or shelled
    assert hooks.post == [ExecHook(container="main", command=["/bin/thaw-everything"])]


def test_our_annotations_win_over_velero_and_rules() -> None:
    rule = HookRule(name="all", pre=[ExecHook(command=["rule"])])
    settings = QuiesceSettings(hooks=[rule])
    both = {
        "snapbridge.io/pre-hook-command": '["ours"]',
        "pre.hook.backup.velero.io/command": '["velero"]',
    }
    ours = resolve(pod_ref("a", ["data"], both), settings)
    velero = resolve(
        pod_ref("b", ["data"], {"pre.hook.backup.velero.io/command": "velero"}), settings
    )
    plain = resolve(pod_ref("c", ["data"]), settings)
    assert ours is not None and ours.pre[0].command == ["ours"]
    assert velero is not None and velero.pre[0].command == ["velero"]
    assert plain is not None and plain.source == "config rule all"
    assert plain.pre[0].command == ["rule"] and plain.pre[0].container == "main"


def test_rules_select_by_namespace_and_labels_first_match_wins() -> None:
    settings = QuiesceSettings.model_validate(
        {
            "maxHold": "2m",
            "hooks": [
                {
                    "name": "pg",
                    "namespaces": ["shop"],
                    "labelSelector": {
                        "matchLabels": {"app": "pg"},
                        "matchExpressions": [
                            {"key": "tier", "operator": "In", "values": ["db", "cache"]},
                            {"key": "skip", "operator": "DoesNotExist"},
                        ],
                    },
                    "order": 3,
                    "maxHold": "10s",
                    "pre": [{"command": ["pg-freeze"], "timeout": "5s", "onError": "Fail"}],
                    "post": [{"command": ["pg-thaw"]}],
                },
                {"name": "fallback", "pre": [{"command": ["sync"]}]},
            ],
        }
    )
    labels = {"app": "pg", "tier": "db"}
    pg = resolve(pod_ref("p", ["d"], namespace="shop", labels=labels), settings)
    assert pg is not None and pg.source == "config rule pg"
    assert (pg.order, pg.max_hold, pg.pre[0].timeout) == (3, 10, 5)
    for namespace, lbls in [
        ("other", labels),
        ("shop", {**labels, "skip": "1"}),
        ("shop", {"app": "pg"}),
    ]:
        other = resolve(pod_ref("p", ["d"], namespace=namespace, labels=lbls), settings)
        assert other is not None and other.source == "config rule fallback"
        assert other.max_hold == 120


def test_label_selector_operators() -> None:
    sel = LabelSelector.model_validate(
        {
            "matchExpressions": [
                {"key": "a", "operator": "NotIn", "values": ["x"]},
                {"key": "b", "operator": "Exists"},
            ]
        }
    )
    assert sel.matches({"a": "y", "b": ""})
    assert sel.matches({"b": "1"})
    assert not sel.matches({"a": "x", "b": "1"})
    assert not sel.matches({"a": "y"})


def test_pods_without_declarations_have_no_hooks() -> None:
    assert resolve(pod_ref("plain", ["data"], {"unrelated": "x"}), DEFAULTS) is None


def test_config_models_reject_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValidationError):
        QuiesceSettings.model_validate({"hooks": [{"name": "x", "pre": [{"command": []}]}]})
    with pytest.raises(ValidationError):
        QuiesceSettings.model_validate({"maxhold": 5})
    with pytest.raises(ValidationError):
        ExecHook.model_validate({"command": ["x"], "onError": "Retry"})
