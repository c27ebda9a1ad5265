"""The kubelet's HTTPS endpoint: ``/exec`` over the websocket channel protocol (v4/v5).

The apiserver proxies ``pods/exec`` here. Frames are one channel byte + payload: 0 stdin,
1 stdout, 2 stderr, 3 the final ``Status`` (exit code), 255 (v5) close a channel. fsfreeze argv
are interpreted (see ``_fsfreeze``); any other argv runs in a bubblewrap sandbox after every
volume its container mounts is thawed. When the websocket closes first, the process group is
killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import ssl
import threading
from typing import Any

from aiohttp import WSMsgType, web

from . import _fsfreeze
from ._bwrap import (
    bwrap_path,
    ensure_certificate,
    prepare_support,
    resolve_executable,
    sandbox_argv,
)
from ._kube import log
from ._model import Cluster, Container, PodRuntime

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, CLOSE = 0, 1, 2, 3, 255


def exit_status(rc: int) -> dict[str, Any]:
    if rc == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "reason": "NonZeroExitCode",
        "message": f"command terminated with non-zero exit code: {rc}",
        "details": {"causes": [{"reason": "ExitCode", "message": str(rc)}]},
    }


class Kubelet:
    def __init__(self, cluster: Cluster, port: int) -> None:
        self.cluster = cluster
        self.port = port
        self.root = cluster.layout.root / "kubelet"
        self.shim = prepare_support(self.root)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiters: set[asyncio.Future[None]] = set()
        self.ready = threading.Event()
        cluster.listeners.append(self._on_freeze_change)

    # -- lifecycle -------------------------------------------------------------------
    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self._run, args=(stop,), name="kubelet", daemon=True)
        thread.start()
        if not self.ready.wait(30):
            raise RuntimeError("simulated kubelet did not start")
        return thread

    def _run(self, stop: threading.Event) -> None:
        asyncio.run(self._main(stop))

    async def _main(self, stop: threading.Event) -> None:
        self.loop = asyncio.get_running_loop()
        crt, key = ensure_certificate(self.root)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(crt), str(key))
        app = web.Application()
        app.router.add_route("*", "/exec/{ns}/{pod}/{container}", self.exec)
        app.router.add_route("*", "/exec/{ns}/{pod}/{uid}/{container}", self.exec)
        app.router.add_get("/containerLogs/{ns}/{pod}/{container}", self.logs)
        app.router.add_get("/healthz", self.healthz)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=ctx).start()
        self.ready.set()
        try:
            await asyncio.to_thread(stop.wait)
        finally:
            await runner.cleanup()

    def _on_freeze_change(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for fut in list(self.waiters):
            if not fut.done():
                fut.set_result(None)

    # -- handlers --------------------------------------------------------------------
    async def healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def logs(self, request: web.Request) -> web.Response:
        if self.cluster.pod(request.match_info["ns"], request.match_info["pod"]) is None:
            raise web.HTTPNotFound(text="pod not found")
        return web.Response(text="")

    async def exec(self, request: web.Request) -> web.StreamResponse:
        ns, name = request.match_info["ns"], request.match_info["pod"]
        pod = self.cluster.pod(ns, name)
        if pod is None:
            raise web.HTTPNotFound(text=f"pod {ns}/{name} is not running on this node")
        cname = request.match_info["container"]
        container = pod.containers.get(cname)
        if container is None:
            raise web.HTTPNotFound(text=f"container {cname} not found in pod {ns}/{name}")
        argv = request.query.getall("command", [])
        if not argv:
            raise web.HTTPBadRequest(text="you must specify at least one command for the container")
        # The apiserver renames stdin/stdout/stderr to input/output/error on the way here.
        flags = {k: request.query.get(k, "") in ("1", "true") for k in ("input", "stdin")}
        with_stdin = flags["input"] or flags["stdin"]
        ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0, autoping=True)
        await ws.prepare(request)
        session = _Session(ws, ws.ws_protocol == PROTOCOLS[0], with_stdin)
        reader = asyncio.create_task(session.read())
        try:
            rc = await self._execute(session, f"{ns}/{name}", pod, container, argv)
            if rc is not None and not ws.closed:
                await session.send(ERROR, json.dumps(exit_status(rc)).encode())
        except ConnectionError:
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            if not ws.closed:
                await ws.close()
        return ws

    async def _execute(
        self, session: _Session, pod_key: str, pod: PodRuntime, c: Container, argv: list[str]
    ) -> int | None:
        result = _fsfreeze.interpret(self.cluster, pod_key, c, argv)
        if result is not None:
            out, err, rc = result
            await session.send(STDOUT, out)
            await session.send(STDERR, err)
            return rc
        volumes = [m.volume for m in c.mounts if m.volume]
        if not await self._thawed(volumes, session.closed):
            return None
        if not resolve_executable(argv[0]):
            msg = f'exec: "{argv[0]}": executable file not found in $PATH\n'
            await session.send(STDERR, msg.encode())
            return 127
        pod_dir = self.cluster.layout.pods / pod.uid
        cmd = sandbox_argv(bwrap_path(), pod_dir, pod, c, argv, self.shim)
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.PIPE if session.with_stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        with self.cluster.lock:
            pod.procs.add(proc.pid)
            if self.cluster.any_frozen(volumes):  # frozen while we were starting
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGSTOP)
        try:
            return await session.pump(proc)
        finally:
            with self.cluster.lock:
                pod.procs.discard(proc.pid)

    async def _thawed(self, volumes: list[str], closed: asyncio.Event) -> bool:
        """Wait until none of ``volumes`` is frozen; False if the client went away first."""
        closed_task = asyncio.create_task(closed.wait())
        try:
            while self.cluster.any_frozen(volumes):
                fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self.waiters.add(fut)
                try:
                    if not self.cluster.any_frozen(volumes):
                        break
                    pending: set[asyncio.Future[Any]] = {fut, closed_task}
                    await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    self.waiters.discard(fut)
                if closed.is_set():
                    return False
            return not closed.is_set()
        finally:
            closed_task.cancel()


class _Session:
    """One exec websocket: frames out, stdin in, and 'the client went away'."""

    def __init__(self, ws: web.WebSocketResponse, v5: bool, with_stdin: bool) -> None:
        self.ws, self.v5, self.with_stdin = ws, v5, with_stdin
        self.closed = asyncio.Event()
        self.stdin: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def send(self, channel: int, data: bytes) -> None:
        if data and not self.ws.closed:
            await self.ws.send_bytes(bytes([channel]) + data)

    async def read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.TEXT:  # clients send str payloads as text frames
                    raw = msg.data.encode("utf-8")
                elif msg.type == WSMsgType.BINARY:
                    raw = msg.data
                else:
                    continue
                if not raw:
                    continue
                channel, payload = raw[0], raw[1:]
                if channel == STDIN and payload:
                    self.stdin.put_nowait(bytes(payload))
                elif channel == CLOSE and self.v5 and payload[:1] == bytes([STDIN]):
                    self.stdin.put_nowait(None)
        finally:
            self.closed.set()

    async def _feed(self, proc: asyncio.subprocess.Process) -> None:
        if proc.stdin is None:
            return
        while (chunk := await self.stdin.get()) is not None:
            proc.stdin.write(chunk)
            await proc.stdin.drain()
        proc.stdin.close()

    async def _copy(self, stream: asyncio.StreamReader | None, channel: int) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            await self.send(channel, chunk)

    async def pump(self, proc: asyncio.subprocess.Process) -> int | None:
        """Stream the process's output; its exit code, or None if the client left first."""
        copies = [
            asyncio.create_task(self._copy(proc.stdout, STDOUT)),
            asyncio.create_task(self._copy(proc.stderr, STDERR)),
        ]
        feeder = asyncio.create_task(self._feed(proc)) if self.with_stdin else None
        waiter = asyncio.create_task(proc.wait())
        closed = asyncio.create_task(self.closed.wait())
        try:
            await asyncio.wait({waiter, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await waiter
                return None
            await asyncio.gather(*copies, return_exceptions=True)
            rc = waiter.result()
            return 128 - rc if rc < 0 else rc
        except BaseException:  # includes cancellation when the kubelet shuts down
            log.debug("exec ended abnormally; killing its process group", exc_info=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            for task in (*copies, closed, *([feeder] if feeder else [])):
                task.cancel()
