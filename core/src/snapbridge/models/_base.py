"""Base classes for every model that crosses a snapbridge boundary."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Model(BaseModel):
    """Frozen, strict-about-unknown-fields model with camelCase aliases.

    camelCase aliases keep the wire and YAML shapes Kubernetes-like (``restoreSize``); Python
    code uses snake_case names. Both spellings are accepted on input.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        use_enum_values=False,
    )

    def to_wire(self) -> dict[str, object]:
        """JSON-safe dict with camelCase keys, ``None`` fields dropped."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
