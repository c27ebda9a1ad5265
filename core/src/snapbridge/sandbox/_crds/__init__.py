"""The snapshot CRDs the sandbox installs (written for it from the upstream field lists)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml


def load_crds() -> list[dict[str, Any]]:
    """Every CRD manifest in this package, parsed (YAML anchors resolved), in file-name order."""
    files = sorted(
        (entry for entry in resources.files(__name__).iterdir() if entry.name.endswith(".yaml")),
        key=lambda entry: entry.name,
    )
    crds: list[dict[str, Any]] = []
    for entry in files:
        manifest = yaml.safe_load(entry.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or manifest.get("kind") != "CustomResourceDefinition":
            raise ValueError(f"{entry.name} is not a CustomResourceDefinition manifest")
        crds.append(manifest)
    return crds
