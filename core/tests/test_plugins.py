"""The plugin manager factory: loading, skipping, blocking, conflicts, backend selection."""

from __future__ import annotations

import pytest

from snapbridge._internal.plugins import PluginState, create_plugin_host
from snapbridge.errors import ConfigError, PluginConflictError
from snapbridge.testing import ADAPTER_SOURCE, FakeSite


def _by_name(host, name):  # type: ignore[no-untyped-def]
    return next(r for r in host.records if r.name == name)


def test_builtin_and_workspace_adapters_are_listed() -> None:
    host = create_plugin_host(disabled=[])
    names = {r.name: r for r in host.records}
    for name, dist in [
        ("csi", "snapbridge"),
        ("trilio", "snapbridge-trilio"),
        ("spectrum", "snapbridge-spectrum"),
        ("kasten", "snapbridge-kasten"),
    ]:
        assert names[name].distribution == dist
        assert names[name].state is PluginState.ACTIVE
        assert names[name].version
        assert names[name].capabilities
    assert set(host.adapters) >= {"csi", "trilio", "spectrum", "kasten"}


def test_plugin_raising_on_import_is_skipped_and_others_work(fake_site: FakeSite) -> None:
    fake_site.add(
        "snapbridge-broken", "1.0", {"broken": "raise RuntimeError('vendor SDK missing')"}
    )
    fake_site.add("snapbridge-good", "2.0", {"good": ADAPTER_SOURCE.format(name="good")})
    host = create_plugin_host(eps=fake_site.entry_points(), disabled=[])
    broken = _by_name(host, "broken")
    assert broken.state is PluginState.SKIPPED
    assert "vendor SDK missing" in broken.reason
    assert "SNAPBRIDGE_DISABLED_PLUGINS=broken" in broken.reason
    assert broken.distribution == "snapbridge-broken"
    good = _by_name(host, "good")
    assert good.state is PluginState.ACTIVE
    assert host.adapters["good"].distribution == "snapbridge-good"
    assert host.select_backend("good").name == "good"


def test_misspelled_hook_is_rejected_by_check_pending(fake_site: FakeSite) -> None:
    src = (
        "from snapbridge import hookimpl\n"
        "@hookimpl\ndef snapbridge_snapshott(ctx, group):\n    pass\n"
    )
    fake_site.add("snapbridge-typo", "1.0", {"typo": src})
    host = create_plugin_host(eps=fake_site.entry_points(), disabled=[])
    rec = _by_name(host, "typo")
    assert rec.state is PluginState.SKIPPED
    assert "snapbridge_snapshott" in rec.reason
    assert host.pm.get_plugin("typo") is None


def test_block_list_from_environment(fake_site: FakeSite, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_site.add("snapbridge-good", "2.0", {"good": ADAPTER_SOURCE.format(name="good")})
    monkeypatch.setenv("SNAPBRIDGE_DISABLED_PLUGINS", "good, kasten")
    host = create_plugin_host(eps=fake_site.entry_points())
    assert _by_name(host, "good").state is PluginState.BLOCKED
    assert "good" not in host.adapters
    assert host.pm.is_blocked("good")


def test_two_adapters_with_one_name_name_both_distributions(fake_site: FakeSite) -> None:
    fake_site.add("snapbridge-one", "1.0", {"one": ADAPTER_SOURCE.format(name="twin")})
    fake_site.add("snapbridge-two", "1.0", {"two": ADAPTER_SOURCE.format(name="twin")})
    host = create_plugin_host(eps=fake_site.entry_points(), disabled=[])
    with pytest.raises(PluginConflictError) as info:
        host.select_backend("twin")
    assert "snapbridge-one" in str(info.value)
    assert "snapbridge-two" in str(info.value)


def test_only_selected_backend_takes_part() -> None:
    host = create_plugin_host(disabled=[])
    host.select_backend("kasten")
    assert _by_name(host, "kasten").state is PluginState.ACTIVE
    for other in ("trilio", "spectrum"):
        rec = _by_name(host, other)
        assert rec.state is PluginState.INERT
        assert host.pm.get_plugin(other) is None
    assert _by_name(host, "csi").state is PluginState.ACTIVE


def test_unknown_backend_lists_installed() -> None:
    host = create_plugin_host(disabled=[])
    with pytest.raises(ConfigError) as info:
        host.select_backend("netbackup")
    assert "csi" in str(info.value)
    assert "kasten" in str(info.value)


def test_bad_adapter_spec_is_skipped(fake_site: FakeSite) -> None:
    src = ADAPTER_SOURCE.format(name="Bad_Name")
    fake_site.add("snapbridge-bad", "1.0", {"bad": src})
    host = create_plugin_host(eps=fake_site.entry_points(), disabled=[])
    rec = _by_name(host, "bad")
    assert rec.state is PluginState.SKIPPED
    assert "lower-case" in rec.reason
