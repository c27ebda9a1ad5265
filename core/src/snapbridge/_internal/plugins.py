"""The plugin manager factory: built-ins, entry points, block list, validation.

Nothing happens at import time: :func:`create_plugin_host` does all the work when called.
A plugin that fails to import, to validate, or whose adapter conflicts with another is
logged and recorded as ``skipped`` with the error and how to disable it; the rest go on.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from .. import hookspecs
from ..adapter import AdapterSpec
from ..errors import ConfigError, PluginConflictError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "snapbridge"
DISABLED_ENV = "SNAPBRIDGE_DISABLED_PLUGINS"

#: Built-in plugins, by module, registered in this order (name = last dotted part).
BUILTIN_PLUGINS: tuple[str, ...] = (
    "snapbridge.plugins.csi",
    "snapbridge.plugins.exec_hooks",
    "snapbridge.plugins.metrics",
)


class PluginState(StrEnum):
    ACTIVE = "active"
    SKIPPED = "skipped"
    BLOCKED = "blocked"
    INERT = "inert"


@dataclass
class PluginRecord:
    """One row of ``snapbridge plugins list``."""

    name: str
    distribution: str
    version: str
    state: PluginState
    reason: str = ""
    builtin: bool = False
    hooks: list[str] = field(default_factory=list)
    adapters: list[AdapterSpec] = field(default_factory=list)

    @property
    def capabilities(self) -> list[str]:
        return sorted({c.value for a in self.adapters for c in a.capabilities})

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "state": self.state.value,
            "reason": self.reason,
            "builtin": self.builtin,
            "hooks": self.hooks,
            "adapters": [a.name for a in self.adapters],
            "capabilities": self.capabilities,
        }


def _disable_hint(name: str) -> str:
    return f"set {DISABLED_ENV}={name} to silence this, or fix/uninstall the distribution"


class PluginHost:
    """A pluggy manager plus what we learnt loading it."""

    def __init__(self, pm: pluggy.PluginManager, records: list[PluginRecord]) -> None:
        self.pm = pm
        self.records = records
        self.adapters: dict[str, AdapterSpec] = {}
        self.conflicts: dict[str, PluginConflictError] = {}
        self._collect_adapters()

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def _collect_adapters(self) -> None:
        for record in self.records:
            if record.state is not PluginState.ACTIVE:
                continue
            for spec in record.adapters:
                owner = self.adapters.get(spec.name)
                if owner is None:
                    self.adapters[spec.name] = spec
                    continue
                err = PluginConflictError(
                    f"adapter {spec.name!r} is provided by two distributions: "
                    f"{owner.distribution} and {spec.distribution}",
                    plugin_name=record.name,
                    hint=f"uninstall one of them, or block one with {DISABLED_ENV}",
                )
                self.conflicts[spec.name] = err
                record.state = PluginState.SKIPPED
                record.reason = str(err.message)
                self._unregister(record.name)
                log.warning("%s", err)

    def _unregister(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin, name=name)

    def select_backend(self, backend: str) -> AdapterSpec:
        """Make ``backend`` the only active adapter; other adapter plugins become inert."""
        if backend in self.conflicts:
            raise self.conflicts[backend]
        spec = self.adapters.get(backend)
        if spec is None:
            raise ConfigError(
                f"backend {backend!r} is not installed",
                hint=f"installed backends: {', '.join(sorted(self.adapters)) or 'none'}; "
                f"install the adapter (pip install snapbridge-{backend}) or fix backend.name",
                location="backend.name",
            )
        for record in self.records:
            if record.state is not PluginState.ACTIVE or record.builtin or not record.adapters:
                continue  # observers and other non-adapter plugins always take part
            if all(a.name != backend for a in record.adapters):
                record.state = PluginState.INERT
                record.reason = f"backend {backend!r} is selected"
                self._unregister(record.name)
        return spec


def _disabled_from_env() -> set[str]:
    raw = os.environ.get(DISABLED_ENV, "")
    return {n.strip() for n in raw.split(",") if n.strip()}


def create_plugin_host(
    *,
    builtins: Sequence[str] = BUILTIN_PLUGINS,
    eps: Iterable[EntryPoint] | None = None,
    disabled: Iterable[str] | None = None,
    extra_plugins: Sequence[tuple[str, object]] = (),
) -> PluginHost:
    """Build the plugin manager: hook specs, built-ins, then the ``snapbridge`` entry points."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    blocked = set(_disabled_from_env() if disabled is None else disabled)
    records: list[PluginRecord] = []
    from .. import __version__ as core_version

    for module_name in builtins:
        name = module_name.rsplit(".", 1)[-1]
        rec = PluginRecord(name, "snapbridge", core_version, PluginState.ACTIVE, builtin=True)
        records.append(rec)
        if name in blocked:
            _block(pm, rec)
            continue
        _register(pm, rec, lambda m=module_name: importlib.import_module(m))
    for name, obj in extra_plugins:
        rec = PluginRecord(name, "(in-process)", "", PluginState.ACTIVE)
        records.append(rec)
        _register(pm, rec, lambda o=obj: o)
    for ep in eps if eps is not None else entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        rec = PluginRecord(
            ep.name,
            dist.name if dist else "(unknown)",
            dist.version if dist else "",
            PluginState.ACTIVE,
        )
        records.append(rec)
        if ep.name in blocked:
            _block(pm, rec)
            continue
        if pm.has_plugin(ep.name):
            rec.state, rec.reason = PluginState.SKIPPED, "a plugin of this name is already loaded"
            continue
        _register(pm, rec, ep.load)
    return PluginHost(pm, records)


def _block(pm: pluggy.PluginManager, rec: PluginRecord) -> None:
    pm.set_blocked(rec.name)
    rec.state, rec.reason = PluginState.BLOCKED, f"listed in {DISABLED_ENV}"


def _register(pm: pluggy.PluginManager, rec: PluginRecord, load: Any) -> None:
    try:
        plugin = load()
        pm.register(plugin, name=rec.name)
    except Exception as exc:  # one broken plugin must not take the host down
        _skip(pm, rec, f"failed to load: {type(exc).__name__}: {exc}")
        return
    try:
        pm.check_pending()
        rec.hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        specs = _adapter_specs(pm, plugin, rec)
    except Exception as exc:
        _skip(pm, rec, f"failed validation: {type(exc).__name__}: {exc}")
        return
    rec.adapters = specs


def _adapter_specs(
    pm: pluggy.PluginManager, plugin: object, rec: PluginRecord
) -> list[AdapterSpec]:
    impl = getattr(plugin, "snapbridge_adapters", None)
    if impl is None:
        return []
    specs = list(impl() or [])
    out: list[AdapterSpec] = []
    for spec in specs:
        if not isinstance(spec, AdapterSpec):
            raise TypeError(f"snapbridge_adapters returned {type(spec).__name__}, not AdapterSpec")
        out.append(
            AdapterSpec(
                name=spec.name,
                version=spec.version,
                capabilities=spec.capabilities,
                config_model=spec.config_model,
                description=spec.description,
                spec_version=spec.spec_version,
                distribution=rec.distribution,
            )
        )
    return out


def _skip(pm: pluggy.PluginManager, rec: PluginRecord, reason: str) -> None:
    plugin = pm.get_plugin(rec.name)
    if plugin is not None:
        pm.unregister(plugin, name=rec.name)
    rec.state = PluginState.SKIPPED
    rec.reason = f"{reason} ({_disable_hint(rec.name)})"
    log.warning("plugin %s skipped: %s", rec.name, rec.reason)
