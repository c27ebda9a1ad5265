"""What an adapter registers: :class:`AdapterSpec` and its config base :class:`BackendConfig`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from .models import Capability

__all__ = ["SPEC_VERSION", "AdapterSpec", "BackendConfig"]

#: The contract version adapters target: (major, minor). A different major is rejected.
SPEC_VERSION: tuple[int, int] = (1, 0)

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}$")


class BackendConfig(BaseModel):
    """Base of every backend's config section. Subclasses pin ``name`` with a ``Literal``.

    Example::

        class KastenConfig(BackendConfig):
            name: Literal["kasten"] = "kasten"
            namespace: str = "kasten-io"
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    name: str


@dataclass(frozen=True)
class AdapterSpec:
    """A backend adapter, as registered through ``snapbridge_adapters``.

    ``distribution`` is filled in by the plugin manager from the entry point's metadata.
    """

    name: str
    version: str
    capabilities: frozenset[Capability]
    config_model: type[BackendConfig]
    description: str = ""
    spec_version: tuple[int, int] = SPEC_VERSION
    distribution: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"adapter name {self.name!r} must be lower-case letters, digits and '-', "
                "2-31 characters, starting with a letter"
            )
        if self.spec_version[0] != SPEC_VERSION[0]:
            raise ValueError(
                f"adapter {self.name!r} targets contract {self.spec_version[0]}.x but this "
                f"snapbridge speaks {SPEC_VERSION[0]}.x; install a matching adapter release"
            )
        field_info = self.config_model.model_fields.get("name")
        if field_info is None or field_info.default != self.name:
            raise ValueError(
                f"adapter {self.name!r}: its config model {self.config_model.__name__} must "
                f'declare name: Literal["{self.name}"] = "{self.name}"'
            )
