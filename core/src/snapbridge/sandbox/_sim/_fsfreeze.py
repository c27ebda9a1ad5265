"""fsfreeze, interpreted by the simulated kubelet instead of executed.

Recognised exec argv:

* ``fsfreeze --freeze|-f <path>`` / ``fsfreeze --unfreeze|-u <path>`` (``/sbin/fsfreeze`` and
  ``/usr/sbin/fsfreeze`` too): freeze/thaw the volume mounted at (or containing) ``<path>``.
* The self-thawing freeze, :func:`auto_thaw_argv`::

      sh -c 'fsfreeze --freeze "$1" || exit $?; (sleep "$2"; fsfreeze --unfreeze "$1") \
>/dev/null 2>&1 </dev/null & exit 0' fsfreeze-auto-thaw <path> <seconds>

  On a real container this freezes, leaves a background thaw behind and returns at once; the
  simulated kubelet recognises exactly this script (:data:`AUTO_THAW_SCRIPT`) and records the
  freeze with a thaw deadline that it enforces itself, even if the caller dies. A deadline
  belongs to the freeze that set it: thawing and re-freezing cancels it (a real background
  ``sleep`` would still fire).

Errors mirror util-linux: a second freeze -> ``freeze failed: Device or resource busy``; thawing
a thawed volume -> ``unfreeze failed: Invalid argument``; a path on no sandbox volume ->
``Operation not permitted`` (an unprivileged container cannot freeze the node's filesystem).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from ._model import Cluster, Container

AUTO_THAW_SCRIPT = (
    'fsfreeze --freeze "$1" || exit $?; '
    '(sleep "$2"; fsfreeze --unfreeze "$1") >/dev/null 2>&1 </dev/null & exit 0'
)
AUTO_THAW_ARG0 = "fsfreeze-auto-thaw"
_SHELLS = {"sh", "/bin/sh", "/usr/bin/sh", "bash", "/bin/bash", "/usr/bin/bash"}
_FSFREEZE = {"fsfreeze", "/sbin/fsfreeze", "/usr/sbin/fsfreeze", "/bin/fsfreeze"}


def auto_thaw_argv(mount_path: str, seconds: float) -> list[str]:
    """The exec argv that freezes ``mount_path`` and thaws it after ``seconds`` regardless."""
    return ["sh", "-c", AUTO_THAW_SCRIPT, AUTO_THAW_ARG0, mount_path, f"{seconds:g}"]


@dataclass(frozen=True)
class FreezeOp:
    freeze: bool
    path: str
    thaw_after: float | None = None


Result = tuple[bytes, bytes, int]


def parse(argv: list[str]) -> FreezeOp | Result | None:  # noqa: PLR0911
    """A freeze operation, a usage error result, or None when argv is not fsfreeze."""
    if len(argv) == 6 and argv[0] in _SHELLS and argv[1] == "-c" and argv[2] == AUTO_THAW_SCRIPT:
        try:
            secs = float(argv[5])
        except ValueError:
            return b"", f"sleep: invalid time interval '{argv[5]}'\n".encode(), 1
        return FreezeOp(True, argv[4], max(secs, 0.0))
    if not argv or argv[0] not in _FSFREEZE:
        return None
    mode: bool | None = None
    paths: list[str] = []
    for arg in argv[1:]:
        if arg in ("-f", "--freeze", "-u", "--unfreeze"):
            if mode is not None:
                return b"", b"fsfreeze: mutually exclusive arguments: --freeze --unfreeze\n", 1
            mode = arg in ("-f", "--freeze")
        elif arg.startswith("-"):
            return b"", f"fsfreeze: unrecognized option '{arg}'\n".encode(), 1
        else:
            paths.append(arg)
    if mode is None:
        return b"", b"fsfreeze: neither --freeze or --unfreeze specified\n", 1
    if len(paths) != 1:
        return b"", b"fsfreeze: no filename specified\n", 1
    return FreezeOp(mode, paths[0])


def interpret(  # noqa: PLR0911
    cluster: Cluster, pod: str, container: Container, argv: list[str]
) -> Result | None:
    """Run argv as fsfreeze against the freeze model; None when argv is not fsfreeze."""
    op = parse(argv)
    if op is None or isinstance(op, tuple):
        return op
    path = posixpath.normpath(op.path if op.path.startswith("/") else "/" + op.path)
    mounts = [m for m in container.mounts if _within(path, m.path)]
    if not mounts:
        return _fail(op, path, "Operation not permitted")
    mount = max(mounts, key=lambda m: len(m.path))
    rel = posixpath.relpath(path, mount.path)
    if not (mount.host_dir / rel).is_dir():
        return b"", f"fsfreeze: cannot open {op.path}: No such file or directory\n".encode(), 1
    if mount.volume is None:
        return _fail(op, path, "Operation not permitted")
    if op.freeze:
        if not cluster.freeze(mount.volume, pod, mount.path, op.thaw_after):
            return _fail(op, op.path, "Device or resource busy")
    elif not cluster.thaw(mount.volume):
        return _fail(op, op.path, "Invalid argument")
    return b"", b"", 0


def _fail(op: FreezeOp, path: str, reason: str) -> Result:
    verb = "freeze" if op.freeze else "unfreeze"
    return b"", f"fsfreeze: {path}: {verb} failed: {reason}\n".encode(), 1


def _within(path: str, mount_path: str) -> bool:
    root = posixpath.normpath(mount_path)
    return path == root or path.startswith(root.rstrip("/") + "/")
