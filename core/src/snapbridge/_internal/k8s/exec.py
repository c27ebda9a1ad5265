"""pods/exec through the API server, with a dedicated ApiClient per call.

``kubernetes.stream.stream`` swaps ``call_api`` on the client it is given, so sharing one
client between exec and REST calls breaks concurrent REST calls; each exec gets its own.
"""

from __future__ import annotations

import time

from kubernetes import client as k8s_client

# CoreV1Api and its models load lazily and take ~1 s: pay that with the facade, not inside the
# first freeze hook (where it would stretch the measured freeze window)
from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from ...cluster import ExecResult
from .errors import map_api_error


def run_exec(
    configuration: k8s_client.Configuration,
    namespace: str,
    pod: str,
    container: str | None,
    argv: list[str],
    timeout: float,
) -> ExecResult:
    api_client = k8s_client.ApiClient(configuration)
    try:
        core = CoreV1Api(api_client)
        kwargs: dict[str, object] = {
            "command": argv,
            "stderr": True,
            "stdin": False,
            "stdout": True,
            "tty": False,
            "_preload_content": False,
        }
        if container:
            kwargs["container"] = container
        try:
            resp = stream(core.connect_get_namespaced_pod_exec, pod, namespace, **kwargs)
        except ApiException as exc:
            raise map_api_error(exc, f"exec in {namespace}/{pod}") from exc
        out: list[str] = []
        err: list[str] = []
        deadline = time.monotonic() + timeout
        try:
            while resp.is_open():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return ExecResult("".join(out), "".join(err), -1, timed_out=True)
                resp.update(timeout=min(remaining, 1.0))
                if resp.peek_stdout():
                    out.append(resp.read_stdout())
                if resp.peek_stderr():
                    err.append(resp.read_stderr())
            out.append(resp.read_stdout() or "")
            err.append(resp.read_stderr() or "")
            code = resp.returncode
        finally:
            resp.close()
            # after the server's close frame websocket-client's close() is a no-op that
            # leaves the TLS socket open; shutdown() closes it
            sock = getattr(resp, "sock", None)
            if sock is not None:
                sock.shutdown()
        return ExecResult("".join(out), "".join(err), int(code if code is not None else -1))
    finally:
        api_client.close()
