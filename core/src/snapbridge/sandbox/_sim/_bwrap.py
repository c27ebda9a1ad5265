"""Per-exec sandboxes (bubblewrap) and the kubelet's serving certificate.

An exec runs as ``bwrap --unshare-all --die-with-parent`` with a read-only ``/usr`` (plus the
usual ``/bin``, ``/lib``… symlinks), fresh ``/proc``, ``/dev``, ``/tmp``, a per-pod ``/etc``
(hostname, hosts, passwd, group), the pod's volumes bound at their ``mountPath`` and no
network. The argv is executed as given, never wrapped in a shell.
"""

from __future__ import annotations

import glob
import importlib
import os
import shutil
import subprocess
from pathlib import Path

from ._model import Container, PodRuntime

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_FSFREEZE_SHIM = """#!/bin/sh
echo "fsfreeze: the sandbox interprets fsfreeze only as a direct exec argv" >&2
exit 1
"""


def bwrap_path() -> Path:
    """Locate bwrap: $SNAPBRIDGE_BWRAP, the sandbox assets, the asset cache, then PATH."""
    env = os.environ.get("SNAPBRIDGE_BWRAP")
    if env:
        return Path(env)
    try:
        assets = importlib.import_module("snapbridge.sandbox._assets")
    except ImportError:
        assets = None
    for attr in ("bwrap_path", "find_bwrap", "bwrap"):
        fn = getattr(assets, attr, None)
        if callable(fn):
            try:
                found = fn()
            except Exception:  # their resolver failed: fall back to ours
                found = None
            if found:
                return Path(found)
    cached = sorted(
        glob.glob(str(Path.home() / ".cache/snapbridge/k8s/*/bin/bwrap")),
        key=os.path.getmtime,
    )
    if cached:
        return Path(cached[-1])
    which = shutil.which("bwrap")
    if which:
        return Path(which)
    raise FileNotFoundError("bwrap not found (set SNAPBRIDGE_BWRAP)")


def prepare_support(root: Path) -> Path:
    """Write the fsfreeze shim once; return its path."""
    root.mkdir(parents=True, exist_ok=True)
    shim = root / "fsfreeze-shim"
    if not shim.exists():
        shim.write_text(_FSFREEZE_SHIM)
        shim.chmod(0o755)
    return shim


def pod_etc(pod_dir: Path, hostname: str) -> Path:
    etc = pod_dir / "etc"
    if not (etc / "hostname").exists():
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hostname").write_text(f"{hostname}\n")
        (etc / "hosts").write_text(f"127.0.0.1\tlocalhost\n127.0.0.1\t{hostname}\n")
        (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (etc / "group").write_text("root:x:0:\n")
        (etc / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files\n")
    return etc


def sandbox_argv(
    bwrap: Path, pod_dir: Path, pod: PodRuntime, container: Container, argv: list[str], shim: Path
) -> list[str]:
    args = [
        str(bwrap),
        "--unshare-all",
        "--die-with-parent",
        "--ro-bind", "/usr", "/usr",
        "--symlink", "usr/bin", "/bin",
        "--symlink", "usr/lib", "/lib",
        "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/sbin", "/sbin",
        "--proc", "/proc",
        "--dev", "/dev",
        "--tmpfs", "/tmp",  # noqa: S108 - inside the sandbox
        "--dir", "/root",
        "--dir", "/var/tmp",  # noqa: S108
        "--ro-bind", str(pod_etc(pod_dir, pod.hostname)), "/etc",
        "--hostname", pod.hostname,
        "--clearenv",
        "--setenv", "PATH", PATH,
        "--setenv", "HOME", "/root",
        "--setenv", "HOSTNAME", pod.hostname,
    ]  # fmt: skip
    for key, value in container.env.items():
        args += ["--setenv", key, value]
    if Path("/usr/sbin/fsfreeze").exists():
        args += ["--ro-bind", str(shim), "/usr/sbin/fsfreeze"]
    for mount in sorted(container.mounts, key=lambda m: m.path.count("/")):
        mount.host_dir.mkdir(parents=True, exist_ok=True)
        flag = "--ro-bind" if mount.read_only else "--bind"
        args += [flag, str(mount.host_dir), mount.path]
    args += ["--chdir", container.working_dir or "/", "--", *argv]
    return args


def resolve_executable(argv0: str) -> bool:
    """Whether argv0 is found on the sandbox's PATH (which only reaches into the read-only /usr)."""
    if "/" in argv0:
        return True  # an explicit path: let the sandbox report it
    for d in PATH.split(":"):
        host = Path(d if d.startswith("/usr/") else "/usr" + d) / argv0
        if host.is_file() and os.access(host, os.X_OK):
            return True
    return False


def ensure_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed serving certificate for 127.0.0.1 (generated once with openssl)."""
    directory.mkdir(parents=True, exist_ok=True)
    crt, key = directory / "kubelet.crt", directory / "kubelet.key"
    if not (crt.exists() and key.exists()):
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", str(key), "-out", str(crt), "-days", "3650",
                "-subj", "/CN=sim-node",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:sim-node,DNS:localhost",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    return crt, key
