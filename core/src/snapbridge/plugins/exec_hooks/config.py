"""Typed hook declarations: one exec hook, a config rule that selects pods, quiesce settings.

Configuration (the ``quiesce`` section of the snapbridge config)::

    quiesce:
      maxHold: 60s                # how long a pod may stay frozen (lease deadline, watchdog)
      hooks:
        - name: postgres
          namespaces: [shop]      # empty: every namespace
          labelSelector: {matchLabels: {app: postgres}}
          order: 1                # lower orders freeze first and thaw last
          maxHold: 20s
          pre:
            - container: db
              command: [psql, -c, "CHECKPOINT"]
              timeout: 30s
              onError: Fail
          post: []

Durations accept Go-style strings (``500ms``, ``30s``, ``1m30s``) or plain seconds.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator

from ...models import Model

__all__ = [
    "ExecHook",
    "HookRule",
    "LabelSelector",
    "LabelSelectorRequirement",
    "OnError",
    "QuiesceSettings",
    "parse_duration",
]

_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")


def parse_duration(value: str | float) -> float:
    """Seconds from ``30``, ``"30"``, ``"30s"``, ``"1m30s"`` or ``"250ms"`` (Go durations)."""
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not a duration (examples: 30s, 1m30s, 500ms, 45)")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


class OnError(StrEnum):
    """What a failing (or timed-out) hook does to the run."""

    FAIL = "Fail"
    CONTINUE = "Continue"

    @classmethod
    def _missing_(cls, value: object) -> OnError | None:
        text = str(value).strip().lower()
        return next((m for m in cls if m.value.lower() == text), None)


class ExecHook(Model):
    """One argv run in a container through ``pods/exec`` (never wrapped in a shell by us).

    ``$(SNAPBRIDGE_MAX_HOLD_SECONDS)`` in an argument is replaced by the pod's maximum hold,
    so a self-thawing freeze can carry the same deadline as the lease (Kubernetes expands
    ``$(VAR)`` in container args the same way).
    """

    container: str | None = Field(default=None, description="Default: the pod's first container.")
    command: list[str] = Field(min_length=1)
    on_error: OnError = OnError.FAIL
    timeout: float = Field(default=30.0, gt=0, description="Seconds; the hook is killed after.")

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: str | float) -> float:
        return parse_duration(value)

    def describe(self) -> str:
        where = f" in {self.container}" if self.container else ""
        return f"{self.command!r}{where} (timeout {self.timeout:g}s, on-error {self.on_error})"


class LabelSelectorRequirement(Model):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)

    def matches(self, labels: dict[str, str]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        inside = labels.get(self.key) in self.values
        return inside if self.operator == "In" else not inside


class LabelSelector(Model):
    """A Kubernetes ``metav1.LabelSelector`` (``matchLabels`` and ``matchExpressions``)."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels.items()) and all(
            e.matches(labels) for e in self.match_expressions
        )


class HookRule(Model):
    """Hooks for every pod a selector matches (like Velero's ``spec.hooks.resources[]``).

    Pod annotations win over rules: a pod with snapbridge.io or Velero hook annotations is
    never given a rule's hooks. The first matching rule wins.
    """

    name: str
    namespaces: list[str] = Field(default_factory=list, description="Empty: all namespaces.")
    label_selector: LabelSelector | None = None
    pre: list[ExecHook] = Field(default_factory=list)
    post: list[ExecHook] = Field(default_factory=list)
    order: int = 0
    max_hold: float | None = Field(default=None, gt=0, description="Seconds; default: global.")

    @field_validator("max_hold", mode="before")
    @classmethod
    def _hold(cls, value: str | float | None) -> float | None:
        return None if value is None else parse_duration(value)

    def selects(self, namespace: str, labels: dict[str, str]) -> bool:
        if self.namespaces and namespace not in self.namespaces:
            return False
        return self.label_selector is None or self.label_selector.matches(labels)


class QuiesceSettings(Model):
    """The ``quiesce`` config section (passed to the plugin in ``ctx.extras["quiesce"]``)."""

    max_hold: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a pod may stay frozen before the watchdog (and, for self-thawing "
        "freezes, the pod itself) thaws it; the lease deadline is derived from it.",
    )
    parallelism: int = Field(default=16, ge=1, le=256, description="Pods frozen at once.")
    hooks: list[HookRule] = Field(default_factory=list)

    @field_validator("max_hold", mode="before")
    @classmethod
    def _hold(cls, value: str | float) -> float:
        return parse_duration(value)
