"""The group barrier on a fake cluster: lease first, waves, ledger, Fail/Continue, watchdog."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from snapbridge.cluster import ExecResult
from snapbridge.context import RunContext
from snapbridge.plugins import exec_hooks
from snapbridge.plugins.exec_hooks.barrier import QuiesceHookError
from snapbridge.plugins.exec_hooks.lease import DATA_KEY, QuiesceLease

from .conftest import FakeCluster, group_of, pod_ref


def slow(seconds: float) -> exec_hooks.runner.Callable[..., ExecResult | None]:  # type: ignore[name-defined]
    def handler(pod: str, arg0: str, argv: list[str], timeout: float) -> ExecResult | None:
        time.sleep(seconds)
        return None

    return handler


def hooks(
    pre: list[str], post: list[str] | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    ann = {"snapbridge.io/pre-hook-command": json.dumps(pre), **(extra or {})}
    if post is not None:
        ann["snapbridge.io/post-hook-command"] = json.dumps(post)
    return ann


def test_pods_of_a_wave_freeze_in_parallel_and_the_lease_comes_first(
    ctx: RunContext, cluster: FakeCluster
) -> None:
    cluster.handler = slow(0.3)
    group = group_of(
        *(pod_ref(f"p{i}", [f"d{i}"], {"snapbridge.io/fsfreeze": f"/d{i}"}) for i in range(3))
    )
    records = exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    assert len(records) == 3 and list(ctx.frozen) == list(records)
    freezes = [c for c in cluster.calls if c.argv[0] == "sh"]
    assert len(freezes) == 3
    assert all(c.lease_present for c in freezes), "the lease must exist before any freeze"
    # every freeze started before any other finished: one wave, in parallel
    assert max(c.start for c in freezes) < min(c.end for c in freezes)
    assert set(cluster.frozen) == {f"app/p{i}:/d{i}" for i in range(3)}
    lease = QuiesceLease.model_validate_json(cluster.leases()[0]["data"][DATA_KEY])
    assert {e.pod for e in lease.entries} == {"p0", "p1", "p2"}
    assert lease.entries[0].thaw[0].command == ["fsfreeze", "--unfreeze", "/d0"]
    assert lease.deadline > lease.acquired_at

    thawed = exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=records)
    assert not cluster.frozen and not cluster.leases()
    assert len(thawed) == 3
    for rec in thawed:
        assert rec.frozen is not None and rec.frozen.seconds > 0
        assert rec.degraded_reason is None and rec.thaw_error is None
        assert rec.volumes == [f"app/{rec.pod.name.replace('p', 'd')}"] if rec.pod else False


def test_declared_order_freezes_low_first_and_thaws_it_last(
    ctx: RunContext, cluster: FakeCluster
) -> None:
    cluster.handler = slow(0.05)
    group = group_of(
        pod_ref(
            "web",
            ["w"],
            hooks(["web-freeze"], ["web-thaw"], {"snapbridge.io/quiesce-order": "2"}),
        ),
        pod_ref(
            "db", ["d"], hooks(["db-freeze"], ["db-thaw"], {"snapbridge.io/quiesce-order": "1"})
        ),
        pod_ref(
            "cache",
            ["c"],
            hooks(["cache-freeze"], ["cache-thaw"], {"snapbridge.io/quiesce-order": "2"}),
        ),
    )
    records = exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=records)
    call = {c.argv[0]: c for c in cluster.calls}
    assert call["db-freeze"].end <= min(call["web-freeze"].start, call["cache-freeze"].start)
    assert call["web-freeze"].start < call["cache-freeze"].end  # same wave: parallel
    assert max(call["web-thaw"].end, call["cache-thaw"].end) <= call["db-thaw"].start


def test_fail_stops_the_barrier_and_the_ledger_still_holds_what_was_tried(
    ctx: RunContext, cluster: FakeCluster
) -> None:
    def handler(pod: str, arg0: str, argv: list[str], timeout: float) -> ExecResult | None:
        return ExecResult("", "cannot lock", 2) if arg0 == "lock" else None

    cluster.handler = handler
    group = group_of(
        pod_ref("a", ["da"], {"snapbridge.io/fsfreeze": "/da"}),
        pod_ref("b", ["db"], hooks(["lock"], ["unlock"])),
        pod_ref(
            "late", ["dl"], hooks(["never"], ["never-thaw"], {"snapbridge.io/quiesce-order": "9"})
        ),
    )
    with pytest.raises(
        QuiesceHookError, match=r"pre hook 'lock' in app/b: exit code 2.*cannot lock"
    ):
        exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    # the wave that failed is in the ledger; the later wave never started
    assert {r.pod.name for r in ctx.frozen if r.pod} == {"a", "b"}
    assert "app/a:/da" in cluster.frozen
    # the engine's finally hands the ledger to thaw
    thawed = exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=list(ctx.frozen))
    assert {r.pod.name for r in thawed if r.pod} == {"a", "b"}
    argv0s = [c.argv[0] for c in cluster.calls]
    assert "unlock" in argv0s and "never" not in argv0s and "never-thaw" not in argv0s
    assert not cluster.frozen and not cluster.leases()


def test_continue_degrades_the_pod_and_goes_on(ctx: RunContext, cluster: FakeCluster) -> None:
    def handler(pod: str, arg0: str, argv: list[str], timeout: float) -> ExecResult | None:
        return ExecResult("", "", -1, timed_out=True) if arg0 == "flush" else None

    cluster.handler = handler
    ann = hooks(
        ["flush"],
        None,
        {"snapbridge.io/pre-hook-on-error": "Continue", "snapbridge.io/pre-hook-timeout": "2s"},
    )
    group = group_of(
        pod_ref("a", ["da"], ann), pod_ref("b", ["db"], {"snapbridge.io/fsfreeze": "/db"})
    )
    records = exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    by_pod = {r.pod.name: r for r in records if r.pod}
    assert (
        by_pod["a"].degraded_reason
        == "pre hook 'flush' in app/a: timed out after 2s and was killed"
    )
    assert by_pod["b"].degraded_reason is None
    thawed = {
        r.pod.name: r
        for r in exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=records)
        if r.pod
    }
    assert thawed["a"].degraded_reason == by_pod["a"].degraded_reason


def test_a_failed_thaw_is_reported_and_the_lease_is_kept(
    ctx: RunContext, cluster: FakeCluster
) -> None:
    def handler(pod: str, arg0: str, argv: list[str], timeout: float) -> ExecResult | None:
        return ExecResult("", "no", 1) if arg0 in ("bad-thaw", "soft-thaw") else None

    cluster.handler = handler
    soft = hooks(["ok"], ["soft-thaw"], {"snapbridge.io/post-hook-on-error": "Continue"})
    group = group_of(pod_ref("a", ["da"], hooks(["ok"], ["bad-thaw"])), pod_ref("b", ["db"], soft))
    records = exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    thawed = {
        r.pod.name: r
        for r in exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=records)
        if r.pod
    }
    error = thawed["a"].thaw_error or ""
    assert re.fullmatch(r"post hook 'bad-thaw' in app/a: exit code 1 after \d+\.\d\ds: no", error)
    assert thawed["b"].thaw_error is None and thawed["b"].state["thawWarnings"]
    (lease,) = cluster.leases()
    kept = QuiesceLease.model_validate_json(lease["data"][DATA_KEY])
    assert "bad-thaw" in (kept.last_error or "")


def test_watchdog_thaws_at_the_deadline_and_the_late_thaw_degrades(
    ctx: RunContext, cluster: FakeCluster
) -> None:
    ann = hooks(
        ["freeze"],
        ["thaw"],
        {"snapbridge.io/quiesce-max-hold": "300ms", "snapbridge.io/pre-hook-timeout": "100ms"},
    )
    group = group_of(pod_ref("a", ["da"], ann))
    records = exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    deadline = time.monotonic() + 5
    while not any(c.argv[0] == "thaw" for c in cluster.calls) and time.monotonic() < deadline:
        time.sleep(0.02)
    thaw_call = next(c for c in cluster.calls if c.argv[0] == "thaw")
    freeze_call = next(c for c in cluster.calls if c.argv[0] == "freeze")
    # never before the deadline: pre-hook timeouts (0.1 s) + max hold (0.3 s)
    assert thaw_call.start - freeze_call.start >= 0.35
    assert not cluster.leases()
    (rec,) = exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=records)
    assert [c.argv[0] for c in cluster.calls].count("thaw") == 1, "thawed exactly once"
    assert rec.degraded_reason is not None and "thawed by the watchdog" in rec.degraded_reason


def test_thaw_after_the_max_hold_degrades_even_without_the_watchdog(
    ctx: RunContext, cluster: FakeCluster
) -> None:
    ann = hooks(
        ["freeze"],
        ["thaw"],
        {"snapbridge.io/quiesce-max-hold": "100ms", "snapbridge.io/pre-hook-timeout": "10s"},
    )
    group = group_of(pod_ref("a", ["da"], ann))
    records = exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    time.sleep(0.2)  # beyond the pod's max hold, long before the lease deadline (10.1 s)
    (rec,) = exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=records)
    assert (
        rec.degraded_reason is not None
        and "beyond its max hold of 0.1s (thawed by the engine)" in rec.degraded_reason
    )


def test_an_interrupt_during_the_barrier_still_thaws_what_froze(
    ctx: RunContext, cluster: FakeCluster
) -> None:
    started = threading.Event()

    def handler(pod: str, arg0: str, argv: list[str], timeout: float) -> ExecResult | None:
        if arg0 == "boom":
            started.wait(2)
            raise KeyboardInterrupt
        if arg0 == "lock":
            started.set()
        return None

    cluster.handler = handler
    group = group_of(
        pod_ref("a", ["da"], hooks(["lock"], ["unlock"])),
        pod_ref("b", ["db"], hooks(["boom"], ["unboom"])),
    )
    with pytest.raises(KeyboardInterrupt):
        exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=list(ctx.frozen))
    argv0s = [c.argv[0] for c in cluster.calls]
    assert "unlock" in argv0s and "unboom" in argv0s
    assert not cluster.leases()


def test_nothing_happens_without_hooks_or_in_a_dry_run(
    ctx: RunContext, cluster: FakeCluster
) -> None:
    group = group_of(pod_ref("a", ["da"]))
    assert exec_hooks.snapbridge_quiesce(ctx=ctx, group=group) == []
    ctx.dry_run = True
    hooked = group_of(pod_ref("a", ["da"], {"snapbridge.io/fsfreeze": "/da"}))
    assert exec_hooks.snapbridge_quiesce(ctx=ctx, group=hooked) == []
    assert not cluster.calls and not cluster.leases()


def test_a_bad_declaration_fails_before_anything_is_frozen(
    ctx: RunContext, cluster: FakeCluster
) -> None:
    group = group_of(
        pod_ref("a", ["da"], {"snapbridge.io/fsfreeze": "/da"}),
        pod_ref("b", ["db"], {"snapbridge.io/pre-hook-command": "not json"}),
    )
    with pytest.raises(exec_hooks.HookSpecError):
        exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    assert not cluster.calls and not ctx.frozen and not cluster.leases()


def test_a_missing_container_is_a_hook_failure(ctx: RunContext, cluster: FakeCluster) -> None:
    ann = hooks(
        ["x"],
        None,
        {
            "snapbridge.io/pre-hook-container": "nope",
            "snapbridge.io/pre-hook-on-error": "Continue",
        },
    )
    group = group_of(pod_ref("a", ["da"], ann))
    (rec,) = exec_hooks.snapbridge_quiesce(ctx=ctx, group=group)
    assert (
        rec.degraded_reason is not None and "container 'nope' not in the pod" in rec.degraded_reason
    )
    assert not cluster.calls
    exec_hooks.snapbridge_thaw(ctx=ctx, group=group, records=[rec])
