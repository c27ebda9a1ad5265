"""`Sandbox`: a real etcd + kube-apiserver (+ kube-controller-manager) and the simulator daemon.

`up()` starts everything on loopback ports chosen at start, installs the snapshot CRDs and the
default classes, and records the processes in `state.json`; `down()` stops them and deletes the
state directory. An *attached* sandbox (the default, used by tests) dies with its owner; a
*detached* one (`snapbridge sandbox up`) outlives it until `down()`.

"Owner" is the thread that called `up()` (the kernel's parent-death signal follows the thread):
call `up()` of an attached sandbox from the main thread or another long-lived one.
"""

from __future__ import annotations

import atexit
import fcntl
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from subprocess import Popen
from typing import Self

from pydantic import BaseModel
from rich.console import Console

from snapbridge.sandbox import _commands as commands
from snapbridge.sandbox import _state
from snapbridge.sandbox._assets import Assets, cache_dir, ensure_assets, find_assets
from snapbridge.sandbox._credentials import create_credentials, write_kubeconfig
from snapbridge.sandbox._defaults import create_defaults, install_crds
from snapbridge.sandbox._kubeapi import KubeApi
from snapbridge.sandbox._processes import ProcessRecord, free_port, is_alive, log_tail, spawn, stop
from snapbridge.sandbox._state import SandboxState

APISERVER_READY_TIMEOUT = 60.0
CONTROLLER_MANAGER_READY_TIMEOUT = 30.0


class SandboxError(RuntimeError):
    """The sandbox could not start (the message names the log file to read)."""


class ProcessStatus(BaseModel):
    name: str
    pid: int
    alive: bool
    log: Path


class SandboxStatus(BaseModel):
    """A snapshot of a sandbox's health; `state` is None when it is not up."""

    state_dir: Path
    running: bool
    api_ready: bool
    processes: list[ProcessStatus]
    simulator: str
    state: SandboxState | None


class Sandbox:
    """One sandbox control plane, identified by its state directory."""

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        detached: bool = False,
        console: Console | None = None,
    ) -> None:
        self.state_dir = (state_dir or _state.default_state_dir()).expanduser().absolute()
        self.detached = detached
        self.reused = False
        """True when the last `up()` found this sandbox already running."""
        self._console = console or Console(stderr=True)
        self._children: dict[str, Popen[bytes]] = {}
        self._records: list[ProcessRecord] = []

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    def env(self) -> dict[str, str]:
        """Environment variables that point clients (kubectl, snapbridge) at this sandbox."""
        return {"KUBECONFIG": str(self.kubeconfig)}

    def state(self) -> SandboxState | None:
        """The recorded state (None when the sandbox is not up); see `status()` for liveness."""
        return _state.read_state(self.state_dir)

    def status(self) -> SandboxStatus:
        """Which processes run (pid, log), whether the apiserver is ready, what the sim reports."""
        state = _state.read_state(self.state_dir)
        processes = [
            ProcessStatus(name=r.name, pid=r.pid, alive=is_alive(r), log=r.log)
            for r in (state.processes if state else [])
        ]
        api_ready = False
        if state is not None and (self.state_dir / "tokens.csv").is_file():
            with KubeApi(state.server, read_token(state)) as api:
                api_ready = api.is_ready()
        return SandboxStatus(
            state_dir=self.state_dir,
            running=api_ready and all(p.alive for p in processes),
            api_ready=api_ready,
            processes=processes,
            simulator=_state.read_sim_status(self.state_dir) if state else "not started",
            state=state,
        )

    def __enter__(self) -> Self:
        self.up()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.down()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.state_dir.parent / f".{self.state_dir.name}.lock"
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def up(self, *, build: bool = True) -> SandboxState:
        """Start the sandbox, or return it if it already runs and is healthy (idempotent)."""
        with self._locked():
            state = _state.read_state(self.state_dir)
            if state is not None and is_healthy(state):
                self.reused = True
                return state
            self.reused = False
            self._stop_processes(state.processes if state else [])
            assets = ensure_assets(self._console) if build else find_assets()
            if assets is None:
                raise SandboxError(
                    f"no Kubernetes binaries in {cache_dir()} and building is off; run "
                    "`snapbridge sandbox build` or set KUBEBUILDER_ASSETS"
                )
            return self._start(assets)

    def down(self) -> None:
        """Stop every process of this sandbox and delete its state directory."""
        with self._locked():
            state = _state.read_state(self.state_dir)
            self._stop_processes(state.processes if state else [])
            _state.remove_state_dir(self.state_dir)
        atexit.unregister(self.down)

    def _stop_processes(self, recorded: list[ProcessRecord]) -> None:
        known = {(r.pid, r.start_ticks) for r in self._records}
        everything = self._records + [r for r in recorded if (r.pid, r.start_ticks) not in known]
        for record in reversed(everything):
            stop(record, self._children.get(record.name))
        self._children.clear()
        self._records = []

    def _spawn(self, name: str, argv: list[str]) -> None:
        # The daemon gets SIGTERM to stop the simulator cleanly; the binaries are killed outright.
        death_signal = signal.SIGTERM if name == "daemon" else signal.SIGKILL
        log = self.state_dir / f"{name}.log"
        process, record = spawn(
            name, argv, log, attached=not self.detached, death_signal=death_signal
        )
        self._children[name] = process
        self._records.append(record)

    def _wait_for(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for record in self._records:
                code = self._children[record.name].poll()
                if code is not None:
                    raise SandboxError(
                        f"{record.name} exited with code {code} while starting; log: "
                        f"{record.log}\n--- last lines ---\n{log_tail(record.log)}"
                    )
            if time.monotonic() > deadline:
                record = self._records[-1]
                raise SandboxError(
                    f"{what} not ready after {timeout:.0f} s; log: {record.log}\n"
                    f"--- last lines ---\n{log_tail(record.log)}"
                )
            time.sleep(0.05)

    def _start(self, assets: Assets) -> SandboxState:
        started = time.monotonic()
        _state.create_state_dir(self.state_dir)
        credentials = create_credentials(self.state_dir)
        ports = commands.Ports(*(free_port() for _ in range(5)))
        versions = {"kube-apiserver": assets.version(assets.kube_apiserver)}
        versions["etcd"] = assets.version(assets.etcd)
        minor = commands.kube_minor(versions["kube-apiserver"])
        server = f"https://127.0.0.1:{ports.apiserver}"
        write_kubeconfig(self.kubeconfig, server, credentials.token)
        kcm = assets.kube_controller_manager
        try:
            self._spawn("etcd", commands.etcd_argv(assets.etcd, self.state_dir, ports))
            self._spawn(
                "kube-apiserver",
                commands.apiserver_argv(
                    assets.kube_apiserver, self.state_dir, ports, credentials, minor
                ),
            )
            with KubeApi(server, credentials.token) as api:
                self._wait_for("kube-apiserver", api.is_ready, APISERVER_READY_TIMEOUT)
                ca_file = self.state_dir / "apiserver-certs" / "apiserver.crt"
                write_kubeconfig(self.kubeconfig, server, credentials.token, ca_file)
                if kcm is not None:
                    versions["kube-controller-manager"] = assets.version(kcm)
                    argv = commands.controller_manager_argv(
                        kcm, self.state_dir, self.kubeconfig, ports, credentials, minor
                    )
                    self._spawn("kube-controller-manager", argv)
                install_crds(api)
                create_defaults(api)
            self._spawn("daemon", commands.daemon_argv(self.state_dir, self.kubeconfig, ports))
            if kcm is not None:
                kcm_url = f"https://127.0.0.1:{ports.controller_manager}"
                with KubeApi(kcm_url, credentials.token) as kcm_api:
                    self._wait_for(
                        "kube-controller-manager",
                        lambda: kcm_api.is_ready("/healthz"),
                        CONTROLLER_MANAGER_READY_TIMEOUT,
                    )
        except BaseException:
            self._stop_processes([])
            raise
        state = SandboxState(
            state_dir=self.state_dir,
            kubeconfig=self.kubeconfig,
            server=server,
            ports=vars(ports),
            processes=list(self._records),
            versions=versions,
            controller_manager=kcm is not None,
            detached=self.detached,
            assets=assets.bin_dir,
            started_at=datetime.now(UTC),
            ready_seconds=round(time.monotonic() - started, 2),
        )
        _state.write_state(state)
        if not self.detached:
            atexit.register(self.down)
        return state


def is_healthy(state: SandboxState) -> bool:
    """Every recorded process runs and the apiserver answers /readyz."""
    if not all(is_alive(record) for record in state.processes):
        return False
    token = read_token(state)
    with KubeApi(state.server, token) as api:
        return api.is_ready()


def read_token(state: SandboxState) -> str:
    """The admin bearer token of a sandbox (first field of its static token file)."""
    return (state.state_dir / "tokens.csv").read_text().split(",", 1)[0]
