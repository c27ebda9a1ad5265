"""Build kube-apiserver and kube-controller-manager from Debian's `kubernetes` source package.

Everything comes from the Debian archive the machine already uses, through apt with private
directories; nothing is installed system-wide. The result lands in the asset cache atomically: the
build happens in a scratch directory next to the cache and is renamed into place only when complete.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from snapbridge.sandbox import _apt
from snapbridge.sandbox._commands import binary_version

SUITE = "bookworm"
SOURCE_PACKAGE = "kubernetes"
SOURCE_VERSION = "1.20.5+really1.20.2-1.1+deb12u1"
GO_VERSION = "1.19"
TOOLCHAIN_DEBS = (
    f"golang-{GO_VERSION}-go",
    f"golang-{GO_VERSION}-src",
    "rsync",
    "libpopt0",
    "etcd-server",
    "golang-github-modern-go-reflect2-dev",
    "bubblewrap",
)
BUILT_COMMANDS = ("kube-apiserver", "kube-controller-manager")
REFLECT2 = Path("github.com/modern-go/reflect2")
FREE_SPACE_NEEDED = 3 * 1024**3
FALLBACK_HINT = (
    "Alternatively point KUBEBUILDER_ASSETS (or SNAPBRIDGE_K8S_ASSETS) at a directory holding "
    "`kube-apiserver` and `etcd` (and optionally `kube-controller-manager`), e.g. one made by "
    "`setup-envtest use -p path`."
)


class BuildError(RuntimeError):
    """The asset build cannot run here, or one of its steps failed."""


def _preflight(cache_root: Path) -> _apt.AptSource:
    if not Path("/etc/debian_version").is_file() or shutil.which("apt-get") is None:
        raise BuildError(f"Building the Kubernetes binaries needs Debian with apt. {FALLBACK_HINT}")
    for tool in ("dpkg-deb", "patch", "make", "tar"):
        if shutil.which(tool) is None:
            raise BuildError(f"The Kubernetes build needs `{tool}` on PATH. {FALLBACK_HINT}")
    if os.geteuid() != 0:
        raise BuildError(f"The Kubernetes build runs apt-get and needs root. {FALLBACK_HINT}")
    source = _apt.source_for_suite(SUITE)
    if source is None:
        raise BuildError(
            f"No apt source for Debian {SUITE} is configured on this machine (checked "
            f"{_apt.SYSTEM_SOURCES_LIST} and {_apt.SYSTEM_SOURCES_DIR}). {FALLBACK_HINT}"
        )
    cache_root.mkdir(parents=True, exist_ok=True)
    if shutil.disk_usage(cache_root).free < FREE_SPACE_NEEDED:
        raise BuildError(f"The build needs about 3 GB free under {cache_root}.")
    return source


class _Steps:
    """Runs build commands with their output in one log file; shows each step and its time."""

    def __init__(self, console: Console, log_path: Path) -> None:
        self.log_path = log_path
        self._console = console
        self._log = log_path.open("w")

    def close(self) -> None:
        self._log.close()

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self._log.write(f"\n===== {title}\n")
        self._log.flush()
        started = time.monotonic()
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        progress.add_task(title)
        try:
            with progress:
                yield
        except BaseException:
            self._console.print(f"[red]✗[/] {title} ({time.monotonic() - started:.0f} s)")
            raise
        self._console.print(f"[green]✓[/] {title} ({time.monotonic() - started:.0f} s)")

    def run(self, argv: Sequence[str | Path], cwd: Path, env: dict[str, str] | None = None) -> None:
        self._log.write(f"$ {' '.join(map(str, argv))}\n")
        self._log.flush()
        result = subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if result.returncode != 0:
            raise BuildError(f"`{' '.join(map(str, argv))}` exited with {result.returncode}")


def _go_env(sysroot: Path, home: Path) -> dict[str, str]:
    goroot = sysroot / "usr" / "lib" / f"go-{GO_VERSION}"
    libdirs = [str(p) for p in sorted((sysroot / "usr" / "lib").glob("*-linux-gnu"))]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(
        GOROOT=str(goroot),
        PATH=os.pathsep.join([str(goroot / "bin"), str(sysroot / "usr" / "bin"), env["PATH"]]),
        LD_LIBRARY_PATH=os.pathsep.join(libdirs),
        HOME=str(home),
        CGO_ENABLED="0",
        GOPROXY="off",
    )
    return env


def _unpack_and_patch(steps: _Steps, work: Path) -> Path:
    src = work / "src"
    src.mkdir()
    (orig,) = work.glob(f"{SOURCE_PACKAGE}_*.orig.tar.*")
    (debian,) = work.glob(f"{SOURCE_PACKAGE}_*.debian.tar.*")
    steps.run(["tar", "-xf", orig, "-C", src], cwd=work)
    (tree,) = (p for p in src.iterdir() if p.is_dir())
    steps.run(["tar", "-xf", debian, "-C", work], cwd=work)
    patches = work / "debian" / "patches"
    series = patches / "series"
    for line in series.read_text().splitlines() if series.is_file() else []:
        words = line.split("#", 1)[0].split()
        if words:
            steps.run(["patch", "-p1", "--forward", "-i", patches / words[0]], cwd=tree)
    return tree


def _swap_reflect2(tree: Path, sysroot: Path) -> None:
    """The vendored reflect2 1.0.1 crashes under Go >= 1.18; use Debian's 1.0.2 instead."""
    vendored = tree / "vendor" / REFLECT2
    shutil.rmtree(vendored)
    shutil.copytree(sysroot / "usr" / "share" / "gocode" / "src" / REFLECT2, vendored)
    for path in [*vendored.rglob("*_test.go"), *vendored.rglob("go.mod")]:
        path.unlink()


def _build(steps: _Steps, work: Path, out: Path, source: _apt.AptSource) -> None:
    debs, sysroot, home = work / "debs", work / "sysroot", work / "home"
    for d in (debs, sysroot, home):
        d.mkdir()
    private = _apt.prepare_private_apt(work / "apt", source, SUITE)
    options = ["-o", "APT::Sandbox::User=root", *private]
    try:
        with steps.step(f"Reading the package lists for Debian {SUITE}"):
            steps.run(["apt-get", *options, "update"], cwd=work)
    except BuildError as exc:
        raise BuildError(
            f"{exc}: is the Debian archive ({', '.join(source.uris)}) reachable? {FALLBACK_HINT}"
        ) from exc
    with steps.step(f"Downloading source package {SOURCE_PACKAGE} {SOURCE_VERSION}"):
        spec = f"{SOURCE_PACKAGE}={SOURCE_VERSION}"
        steps.run(["apt-get", *options, "source", "--download-only", spec], cwd=work)
    with steps.step(f"Downloading Go {GO_VERSION}, etcd and bubblewrap (.deb, not installed)"):
        steps.run(["apt-get", *options, "download", *TOOLCHAIN_DEBS], cwd=debs)
        for deb in sorted(debs.glob("*.deb")):
            steps.run(["dpkg-deb", "-x", deb, sysroot], cwd=work)
    with steps.step("Unpacking and patching the source tree"):
        tree = _unpack_and_patch(steps, work)
        _swap_reflect2(tree, sysroot)
    env = _go_env(sysroot, home)
    for command in BUILT_COMMANDS:
        with steps.step(f"Compiling {command} (a few minutes)"):
            steps.run(["make", f"WHAT=cmd/{command}"], cwd=tree, env=env)
    with steps.step("Collecting binaries"):
        bin_dir = out / "bin"
        bin_dir.mkdir(parents=True)
        for command in BUILT_COMMANDS:
            shutil.copy2(tree / "_output" / "bin" / command, bin_dir / command)
        shutil.copy2(sysroot / "usr" / "bin" / "etcd", bin_dir / "etcd")
        shutil.copy2(sysroot / "usr" / "bin" / "bwrap", bin_dir / "bwrap")
        manifest = {name: binary_version(bin_dir / name) for name in sorted(os.listdir(bin_dir))}
        manifest |= {"debian-source": f"{SOURCE_PACKAGE} {SOURCE_VERSION}", "go": GO_VERSION}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


@contextmanager
def _exclusive(lock_path: Path, console: Console) -> Iterator[None]:
    with lock_path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.print(f"Waiting for another build of the Kubernetes binaries ({lock_path})")
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_into(cache_dir: Path, console: Console, *, force: bool = False) -> None:
    """Build the binaries into `cache_dir` (`bin/` + `manifest.json`) unless another run did."""
    root = cache_dir.parent
    source = _preflight(root)
    with _exclusive(root / f"{cache_dir.name}.lock", console):
        if force and cache_dir.exists():
            shutil.rmtree(cache_dir)
        if (cache_dir / "manifest.json").is_file():
            return
        for stale in root.glob(f".{cache_dir.name}.build-*"):
            shutil.rmtree(stale, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}.build-", dir=root))
        log_path = root / f"{cache_dir.name}.build.log"
        steps = _Steps(console, log_path)
        started = time.monotonic()
        try:
            _build(steps, work, work / "out", source)
            _add_to_manifest(work / "out", build_seconds=round(time.monotonic() - started))
            os.rename(work / "out", cache_dir)
        except Exception as exc:
            steps.close()
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
            raise BuildError(
                f"{exc or type(exc).__name__}\nBuild log: {log_path}\n--- last lines ---\n{tail}"
            ) from exc
        finally:
            steps.close()
            shutil.rmtree(work, ignore_errors=True)
        elapsed = time.monotonic() - started
        console.print(f"Built the Kubernetes binaries in {elapsed:.0f} s: {cache_dir}")


def _add_to_manifest(out: Path, **entries: object) -> None:
    path = out / "manifest.json"
    manifest = json.loads(path.read_text()) | entries
    path.write_text(json.dumps(manifest, indent=2) + "\n")
