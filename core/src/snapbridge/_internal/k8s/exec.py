"""pods/exec through the API server, over the websocket channel protocol.

The websocket is opened directly with the client's ``ws_client`` (no ``CoreV1Api``: importing
it builds every core model and costs ~100 MB and ~1 s), on its own connection per call, so
exec never interferes with concurrent REST calls.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import ws_client

from ...cluster import ExecResult
from .errors import map_api_error


def _auth_headers(configuration: k8s_client.Configuration) -> dict[str, str]:
    headers: dict[str, str] = {}
    settings: dict[str, Any] = dict(configuration.auth_settings())
    for setting in settings.values():
        if setting.get("in") == "header" and setting.get("value"):
            headers[str(setting["key"]).lower()] = str(setting["value"])
    return headers


def run_exec(
    configuration: k8s_client.Configuration,
    namespace: str,
    pod: str,
    container: str | None,
    argv: list[str],
    timeout: float,
) -> ExecResult:
    url = f"{configuration.host}/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}/exec"
    query: list[tuple[str, object]] = [
        ("command", argv),
        ("stdin", "false"),
        ("stdout", "true"),
        ("stderr", "true"),
        ("tty", "false"),
    ]
    if container:
        query.append(("container", container))
    try:
        resp = ws_client.websocket_call(
            configuration,
            "GET",
            url,
            headers=_auth_headers(configuration),
            query_params=query,
            _preload_content=False,
            _request_timeout=timeout,
        )
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
