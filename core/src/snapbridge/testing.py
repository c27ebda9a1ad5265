"""Public test kit for plugin authors and snapbridge's own tests.

:class:`FakeSite` fakes installed distributions (dist-info + entry points) in a directory, so
plugin loading can be tested without installing anything.
"""

from __future__ import annotations

import textwrap
from importlib.metadata import EntryPoint, distributions
from pathlib import Path

__all__ = ["ADAPTER_SOURCE", "FakeSite"]


class FakeSite:
    """A directory that looks like site-packages: modules plus *.dist-info with entry points."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def add(self, dist: str, version: str, plugins: dict[str, str]) -> None:
        """plugins: entry-point name -> module source."""
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = ["[snapbridge]"]
        for ep_name, source in plugins.items():
            module = f"fake_{dist.replace('-', '_')}_{ep_name}"
            (self.root / f"{module}.py").write_text(textwrap.dedent(source))
            lines.append(f"{ep_name} = {module}")
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")

    def entry_points(self) -> list[EntryPoint]:
        return [
            ep
            for d in distributions(path=[str(self.root)])
            for ep in d.entry_points
            if ep.group == "snapbridge"
        ]


#: Source of a minimal adapter plugin module; format with ``name``.
ADAPTER_SOURCE = """
from typing import Literal
from snapbridge import AdapterSpec, BackendConfig, Capability, hookimpl

class Cfg(BackendConfig):
    name: Literal["{name}"] = "{name}"
    endpoint: str = "http://localhost"

@hookimpl
def snapbridge_adapters():
    return [AdapterSpec(name="{name}", version="9.9", capabilities=frozenset({{Capability.EXPORT}}),
                        config_model=Cfg)]
"""
