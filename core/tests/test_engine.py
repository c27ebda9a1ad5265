"""The engine skeleton: phase order, guaranteed thaw, one retry policy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from snapbridge import RetryableError, RunContext, hookimpl
from snapbridge._internal.config import RetrySettings
from snapbridge._internal.engine import BackupEngine
from snapbridge._internal.plugins import create_plugin_host
from snapbridge._internal.retry import RetryPolicy
from snapbridge.errors import PermanentError
from snapbridge.models import (
    BackupRequest,
    ConsistencyGroup,
    ExportResult,
    Inventory,
    PhaseStatus,
    QuiesceRecord,
    SnapshotRecord,
    SnapshotSet,
    VolumeRef,
)

VOL = VolumeRef(namespace="app", pvc="data", uid="u1", driver="d", snapshot_class="c")


class FakePlugin:
    """Records the order of calls; can fail in a chosen phase."""

    def __init__(self, fail_in: str | None = None, exc: BaseException | None = None) -> None:
        self.calls: list[str] = []
        self.fail_in = fail_in
        self.exc = exc or PermanentError("boom")
        self.snapshot_attempts = 0
        self.transient_failures = 0
        self.requests_seen: list[BackupRequest | None] = []

    def _maybe_fail(self, phase: str) -> None:
        self.calls.append(phase)
        if self.fail_in == phase:
            raise self.exc

    @hookimpl
    def snapbridge_discover(self, ctx: RunContext, request: BackupRequest) -> Inventory:
        self._maybe_fail("discover")
        return Inventory(
            volumes=[VOL], groups=[ConsistencyGroup(name="g", namespace="app", volumes=[VOL])]
        )

    @hookimpl
    def snapbridge_quiesce(self, ctx: RunContext, group: ConsistencyGroup) -> list[QuiesceRecord]:
        rec = QuiesceRecord(plugin="fake", group=group.name, volumes=[VOL.key])
        ctx.frozen.append(rec)
        self._maybe_fail("quiesce")
        return [rec]

    @hookimpl
    def snapbridge_snapshot(self, ctx: RunContext, group: ConsistencyGroup) -> SnapshotSet:
        self.snapshot_attempts += 1
        if self.snapshot_attempts <= self.transient_failures:
            raise RetryableError("throttled", retry_after=0.01)
        self._maybe_fail("snapshot")
        now = datetime.now(UTC)
        rec = SnapshotRecord(volume=VOL, snapshot_name="s", snapshot_namespace="app", cut_time=now)
        return SnapshotSet(group=group.name, records=[rec], cut_at=now, created_by="fake")

    @hookimpl
    def snapbridge_thaw(
        self, ctx: RunContext, group: ConsistencyGroup, records: list[QuiesceRecord]
    ) -> list[QuiesceRecord]:
        self.calls.append("thaw")
        return list(records)

    @hookimpl
    def snapbridge_wait_ready(self, ctx: RunContext, snapshots: SnapshotSet) -> SnapshotSet:
        self.requests_seen.append(ctx.request)
        self._maybe_fail("ready")
        recs = [
            r.model_copy(update={"ready_time": datetime.now(UTC), "restore_size": "1Gi"})
            for r in snapshots.records
        ]
        return snapshots.model_copy(update={"records": recs})

    @hookimpl
    def snapbridge_export(self, ctx: RunContext, restore_point: Any) -> ExportResult:
        self._maybe_fail("export")
        return ExportResult(location="mem://x", exported_by="fake")


def _engine(plugin: FakePlugin, attempts: int = 3) -> BackupEngine:
    host = create_plugin_host(
        builtins=("snapbridge.plugins.metrics",), eps=[], extra_plugins=[("fake", plugin)]
    )
    ctx = RunContext(run_id="r1", backend="csi", cluster=None)  # type: ignore[arg-type]
    return BackupEngine(
        host, ctx, retry=RetryPolicy(RetrySettings(attempts=attempts, initial_wait_seconds=0.01))
    )


REQ = BackupRequest(run_id="r1", namespaces=["app"])


def test_phases_run_in_order_and_are_recorded() -> None:
    plugin = FakePlugin()
    result = _engine(plugin).run(REQ)
    assert result.ok, result.error
    assert plugin.calls == ["discover", "quiesce", "snapshot", "thaw", "ready", "export"]
    assert [p.phase.value for p in result.phases] == [
        "discover",
        "quiesce",
        "snapshot",
        "thaw",
        "ready",
        "export",
    ]
    assert all(p.status is PhaseStatus.SUCCEEDED for p in result.phases)


@pytest.mark.parametrize("phase", ["quiesce", "snapshot"])
def test_thaw_runs_when_quiesce_or_snapshot_fails(phase: str) -> None:
    plugin = FakePlugin(fail_in=phase)
    result = _engine(plugin).run(REQ)
    assert not result.ok and "boom" in (result.error or "")
    assert "thaw" in plugin.calls
    assert plugin.calls.index("thaw") > plugin.calls.index(phase)


def test_thaw_runs_on_keyboard_interrupt() -> None:
    plugin = FakePlugin(fail_in="snapshot", exc=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        _engine(plugin).run(REQ)
    assert plugin.calls[-1] == "thaw"


def test_retryable_errors_are_retried_honouring_retry_after() -> None:
    plugin = FakePlugin()
    plugin.transient_failures = 2
    result = _engine(plugin, attempts=3).run(REQ)
    assert result.ok
    assert plugin.snapshot_attempts == 3


def test_retry_gives_up_after_the_configured_attempts() -> None:
    plugin = FakePlugin()
    plugin.transient_failures = 5
    result = _engine(plugin, attempts=2).run(REQ)
    assert not result.ok and "throttled" in (result.error or "")
    assert plugin.snapshot_attempts == 2
    assert "thaw" in plugin.calls


def test_permanent_errors_are_not_retried() -> None:
    plugin = FakePlugin(fail_in="snapshot")
    _engine(plugin, attempts=5).run(REQ)
    assert plugin.snapshot_attempts == 1


def test_retry_after_wins_over_backoff() -> None:
    policy = RetryPolicy(RetrySettings(attempts=2, initial_wait_seconds=5, max_wait_seconds=30))
    calls: list[float] = []
    import time

    def flaky() -> str:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RetryableError("429", retry_after=0.05)
        return "ok"

    assert policy.call(flaky, "t") == "ok"
    # backoff alone would wait >= 5 s; Retry-After said 0.05 s
    assert calls[1] - calls[0] < 2


def test_rerun_resumes_after_snapshot_phase() -> None:
    plugin = FakePlugin(fail_in="ready")
    engine = _engine(plugin)
    assert not engine.run(REQ).ok
    plugin.fail_in = None
    plugin.calls.clear()
    result = engine.run(REQ)
    assert result.ok
    assert plugin.calls == ["ready", "export"]
    assert plugin.snapshot_attempts == 1
    assert plugin.requests_seen[-1] is REQ  # the request reaches phases after a resume
