"""Configuration: pydantic-settings with a backend section typed by the installed adapters.

Sources, highest first: explicit values, environment (``SNAPBRIDGE_`` prefix, ``__`` as the
nested delimiter, e.g. ``SNAPBRIDGE_BACKEND__NAME=kasten``), the YAML file given with
``--config`` or ``SNAPBRIDGE_CONFIG``, defaults. The ``backend`` section is a discriminated
union (on ``name``) of every installed adapter's own config model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.alias_generators import to_camel
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from ..adapter import AdapterSpec
from ..errors import ConfigError
from ..plugins.exec_hooks.config import QuiesceSettings

CONFIG_ENV = "SNAPBRIDGE_CONFIG"


class RetrySettings(BaseModel):
    """The one retry policy (tenacity): transient errors only, honouring Retry-After."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    attempts: int = Field(default=6, ge=1, le=50)
    initial_wait_seconds: float = Field(default=0.2, gt=0)
    max_wait_seconds: float = Field(default=30, gt=0)


class SnapshotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    concurrency: int = Field(default=16, ge=1, le=256)
    classes: dict[str, str] = Field(
        default_factory=dict, description="CSI driver -> VolumeSnapshotClass."
    )
    group_by: str = "namespace"
    use_group_snapshots: bool = True
    cut_deadline_seconds: float = Field(default=120, gt=0)
    deadline_seconds: float = Field(default=600, gt=0)


class SettingsBase(BaseSettings):
    """Fields every configuration has; ``backend`` is added per installed adapter set."""

    model_config = SettingsConfigDict(
        env_prefix="SNAPBRIDGE_",
        env_nested_delimiter="__",
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
    )

    kubeconfig: str | None = None
    context: str | None = None
    system_namespace: str = "snapbridge-system"
    retry: RetrySettings = Field(default_factory=RetrySettings)
    snapshot: SnapshotSettings = Field(default_factory=SnapshotSettings)
    quiesce: QuiesceSettings = Field(default_factory=QuiesceSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        yaml_file = settings_cls.model_config.get("yaml_file")
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls))
        return (*sources, file_secret_settings)


def build_settings_model(
    adapters: Mapping[str, AdapterSpec], yaml_file: Path | None = None
) -> type[SettingsBase]:
    """The settings class for this installation (and, optionally, this YAML file)."""
    models = [spec.config_model for spec in sorted(adapters.values(), key=lambda s: s.name)]
    if not models:
        raise ConfigError("no backend adapter is installed", hint="reinstall snapbridge")
    union: Any = models[0] if len(models) == 1 else Union[tuple(models)]  # noqa: UP007
    backend_type = Annotated[union, Field(discriminator="name")]
    default_name = "csi" if "csi" in adapters else models[0].model_fields["name"].default
    cfg = SettingsConfigDict(**SettingsBase.model_config)
    if yaml_file is not None:
        cfg["yaml_file"] = str(yaml_file)
    model: type[SettingsBase] = create_model(
        "SnapbridgeSettings",
        __base__=SettingsBase,
        backend=(backend_type, Field(default_factory=lambda: {"name": default_name})),
    )
    model.model_config = cfg
    return model


def _yaml_problem(path: Path) -> ConfigError | None:
    if not path.is_file():
        return ConfigError(f"config file {path} does not exist", hint="check the path")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        return ConfigError(f"{path} is not valid YAML: {exc}", hint="fix the YAML syntax")
    if data is not None and not isinstance(data, dict):
        return ConfigError(f"{path} must hold a mapping at the top level", hint="see config schema")
    return None


def describe_validation_error(
    exc: ValidationError, adapters: Mapping[str, AdapterSpec]
) -> list[ConfigError]:
    """One :class:`ConfigError` per bad field, naming the field and why."""
    problems: list[ConfigError] = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "union_tag_invalid":
            tag = err.get("input", {}).get("name") if isinstance(err.get("input"), dict) else None
            problems.append(
                ConfigError(
                    f"{loc}.name: backend {tag!r} is not installed",
                    hint=f"installed backends: {', '.join(sorted(adapters))}",
                    location=f"{loc}.name",
                )
            )
            continue
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; `snapbridge config schema` lists the fields)"
        problems.append(
            ConfigError(f"{loc}: {msg}", location=loc, hint="see `snapbridge config schema`")
        )
    return problems


def load_settings(adapters: Mapping[str, AdapterSpec], path: Path | None = None) -> SettingsBase:
    """Load and validate the configuration; raises :class:`ConfigError` naming the bad field."""
    if path is None and os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    if path is not None and (problem := _yaml_problem(path)):
        raise problem
    model = build_settings_model(adapters, path)
    try:
        return model()
    except ValidationError as exc:
        problems = describe_validation_error(exc, adapters)
        first = problems[0]
        raise ConfigError(
            "; ".join(p.message for p in problems), hint=first.hint, location=first.location
        ) from exc


def check_config_file(adapters: Mapping[str, AdapterSpec], path: Path) -> list[ConfigError]:
    """Validate a YAML file on its own (environment ignored)."""
    if problem := _yaml_problem(path):
        return [problem]
    data = yaml.safe_load(path.read_text()) or {}
    model = build_settings_model(adapters)
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return describe_validation_error(exc, adapters)
    return []


def config_schema(adapters: Mapping[str, AdapterSpec]) -> dict[str, Any]:
    return build_settings_model(adapters).model_json_schema(by_alias=True)
