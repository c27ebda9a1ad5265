"""Configuration: YAML + environment, backend union from installed adapters, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapbridge._internal.config import check_config_file, config_schema, load_settings
from snapbridge._internal.plugins import create_plugin_host
from snapbridge.errors import ConfigError


@pytest.fixture(scope="module")
def adapters():  # type: ignore[no-untyped-def]
    return create_plugin_host(disabled=[]).adapters


def test_default_backend_is_csi(adapters, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SNAPBRIDGE_CONFIG", raising=False)
    settings = load_settings(adapters)
    assert settings.backend.name == "csi"  # type: ignore[attr-defined]


def test_yaml_selects_typed_backend(adapters, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "c.yaml"
    f.write_text("backend:\n  name: kasten\n  profile: s3-profile\nsnapshot:\n  concurrency: 8\n")
    s = load_settings(adapters, f)
    assert type(s.backend).__name__ == "KastenConfig"  # type: ignore[attr-defined]
    assert s.backend.profile == "s3-profile"  # type: ignore[attr-defined]
    assert s.snapshot.concurrency == 8


def test_environment_overrides_with_nested_delimiter(
    adapters, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SNAPBRIDGE_SNAPSHOT__CONCURRENCY", "3")
    monkeypatch.setenv("SNAPBRIDGE_BACKEND__NAME", "trilio")
    monkeypatch.setenv("SNAPBRIDGE_BACKEND__TARGET", "t1")
    s = load_settings(adapters)
    assert s.snapshot.concurrency == 3
    assert s.backend.target == "t1"  # type: ignore[attr-defined]


def test_check_names_the_wrong_field(adapters, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "c.yaml"
    f.write_text(
        "backend:\n  name: kasten\n  profile: p\n  profil: typo\nsnapshot:\n  concurrency: 0\n"
    )
    problems = check_config_file(adapters, f)
    text = "\n".join(str(p) for p in problems)
    assert "backend.kasten.profil" in text and "unknown field" in text
    assert "snapshot.concurrency" in text and "greater than or equal to 1" in text


def test_unknown_backend_lists_installed(adapters, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "c.yaml"
    f.write_text("backend:\n  name: netbackup\n")
    with pytest.raises(ConfigError) as info:
        load_settings(adapters, f)
    msg = str(info.value)
    assert "netbackup" in msg and "not installed" in msg
    for name in ("csi", "kasten", "spectrum", "trilio"):
        assert name in msg


def test_secret_is_never_printed(adapters, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "c.yaml"
    f.write_text(
        "backend:\n  name: spectrum\n  url: https://spp.invalid\n  username: u\n"
        "  password: hunter2-secret\n  slaPolicy: Gold\n"
    )
    s = load_settings(adapters, f)
    assert "hunter2-secret" not in repr(s) and "hunter2-secret" not in str(s)
    assert "hunter2-secret" not in s.model_dump_json()
    assert s.backend.password.get_secret_value() == "hunter2-secret"  # type: ignore[attr-defined]


def test_schema_has_every_backend(adapters) -> None:  # type: ignore[no-untyped-def]
    schema = config_schema(adapters)
    text = str(schema)
    for model in ("CsiBackendConfig", "KastenConfig", "SpectrumConfig", "TrilioConfig"):
        assert model in text
    assert schema["properties"]["backend"]["discriminator"]["propertyName"] == "name"


def test_invalid_yaml_is_reported(adapters, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "c.yaml"
    f.write_text("backend: [unclosed\n")
    assert "not valid YAML" in str(check_config_file(adapters, f)[0])
