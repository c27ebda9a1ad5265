"""The ``csi`` backend's export: the RestorePoint and PVC manifests into a ``file://`` target."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import yaml

from ...errors import ConfigError
from ...models import ExportResult, RestorePoint


def target_dir(target: str) -> Path:
    parsed = urlparse(target)
    if parsed.scheme != "file":
        raise ConfigError(
            f"export target {target!r} is not a file:// URL",
            hint="set backend.exportTarget to file:///some/dir",
            location="backend.exportTarget",
        )
    return Path((parsed.netloc or "") + parsed.path).expanduser()


def export_to_directory(rp: RestorePoint, target: str) -> ExportResult:
    root = target_dir(target) / rp.name
    (root / "manifests").mkdir(parents=True, exist_ok=True)
    artifacts = []
    record = root / "restore-point.json"
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps(rp.model_dump(mode="json", by_alias=True), indent=2))
    tmp.replace(record)
    artifacts.append(str(record))
    for key, manifest in rp.manifests.items():
        ns, name = key.split("/", 1)
        path = root / "manifests" / ns / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        artifacts.append(str(path))
    return ExportResult(location=root.resolve().as_uri(), artifacts=artifacts, exported_by="csi")
