"""Where the sandbox's Kubernetes binaries come from.

Resolution order: the directory in `SNAPBRIDGE_K8S_ASSETS`, then `KUBEBUILDER_ASSETS` (the envtest
layout: `kube-apiserver`, `etcd`, optionally `kube-controller-manager`), then the per-user cache
`${XDG_CACHE_HOME:-~/.cache}/snapbridge/k8s/<VERSION_KEY>/bin`, else a build from Debian packages.

`python -m snapbridge.sandbox._assets` builds the cache (same as `snapbridge sandbox build`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from snapbridge.sandbox import _build
from snapbridge.sandbox._commands import binary_version

ASSETS_ENV = "SNAPBRIDGE_K8S_ASSETS"
ENVTEST_ENV = "KUBEBUILDER_ASSETS"
# Bump the trailing recipe number whenever the build recipe changes what it produces.
VERSION_KEY = "v1.20.2-deb12u1-r1"
REQUIRED_BINARIES = ("kube-apiserver", "etcd")


class AssetsError(RuntimeError):
    """No usable Kubernetes binaries, and none could be built."""


@dataclass(frozen=True)
class Assets:
    """A directory of control-plane binaries and where it was found."""

    bin_dir: Path
    origin: str

    @property
    def kube_apiserver(self) -> Path:
        return self.bin_dir / "kube-apiserver"

    @property
    def etcd(self) -> Path:
        return self.bin_dir / "etcd"

    @property
    def kube_controller_manager(self) -> Path | None:
        path = self.bin_dir / "kube-controller-manager"
        return path if _is_executable(path) else None

    @property
    def bwrap(self) -> Path | None:
        path = self.bin_dir / "bwrap"
        return path if _is_executable(path) else None

    def version(self, binary: Path) -> str:
        """`binary --version`, from the build manifest when the binary is a cached build."""
        manifest = self.bin_dir.parent / "manifest.json"
        if self.origin == "cache" and manifest.is_file():
            recorded = json.loads(manifest.read_text()).get(binary.name)
            if isinstance(recorded, str):
                return recorded
        return binary_version(binary)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def cache_dir() -> Path:
    """The cache directory for this build recipe (holds `bin/` and `manifest.json`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "snapbridge" / "k8s" / VERSION_KEY


def _from_env(variable: str) -> Assets | None:
    value = os.environ.get(variable)
    if not value:
        return None
    assets = Assets(Path(value).expanduser(), variable)
    missing = [name for name in REQUIRED_BINARIES if not _is_executable(assets.bin_dir / name)]
    if missing:
        raise AssetsError(f"{variable}={value} lacks executable {', '.join(missing)}")
    return assets


def find_assets() -> Assets | None:
    """The binaries to use, without building; None when a build is needed."""
    for variable in (ASSETS_ENV, ENVTEST_ENV):
        assets = _from_env(variable)
        if assets is not None:
            return assets
    cached = Assets(cache_dir() / "bin", "cache")
    if (cache_dir() / "manifest.json").is_file() and all(
        _is_executable(cached.bin_dir / name) for name in REQUIRED_BINARIES
    ):
        return cached
    return None


def ensure_assets(console: Console | None = None, *, force_build: bool = False) -> Assets:
    """The binaries to use, building them into the cache first when none are found."""
    if not force_build:
        found = find_assets()
        if found is not None:
            return found
    console = console or Console(stderr=True)
    console.print(f"Building Kubernetes binaries into {cache_dir()} (one-off, several minutes)")
    try:
        _build.build_into(cache_dir(), console, force=force_build)
    except _build.BuildError as exc:
        raise AssetsError(str(exc)) from exc
    found = find_assets()
    if found is None:  # pragma: no cover - the build just produced them
        raise AssetsError(f"the build finished but {cache_dir()} is incomplete")
    return found


def bwrap_path() -> Path | None:
    """bubblewrap for exec sandboxes: from the asset directory, else PATH; None if unavailable."""
    try:
        assets = find_assets()
    except AssetsError:
        assets = None
    candidates = [assets.bwrap] if assets is not None else []
    candidates.append(Assets(cache_dir() / "bin", "cache").bwrap)
    which = shutil.which("bwrap")
    candidates.append(Path(which) if which else None)
    return next((c for c in candidates if c is not None), None)


def main() -> int:
    console = Console(stderr=True)
    try:
        assets = ensure_assets(console, force_build="--force" in sys.argv[1:])
    except AssetsError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 1
    console.print(f"Kubernetes binaries: {assets.bin_dir} (from {assets.origin})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
