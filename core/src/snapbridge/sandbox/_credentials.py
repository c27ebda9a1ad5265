"""Credentials of one sandbox: the admin token, the ServiceAccount signing keys, the kubeconfig.

Everything is throw-away and lives in the sandbox's state directory (mode 0700). The
ServiceAccount key pair is made with the `openssl` CLI (the venv has no `cryptography`).
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

ADMIN_USER = "sandbox-admin"
CONTEXT = "snapbridge-sandbox"


@dataclass(frozen=True)
class Credentials:
    token: str
    token_file: Path
    sa_private_key: Path
    sa_public_key: Path


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def create_credentials(directory: Path) -> Credentials:
    """A fresh admin token (group `system:masters`) and ServiceAccount key pair in `directory`."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError(
            "the sandbox needs the `openssl` command to make its ServiceAccount keys"
        )
    token = secrets.token_hex(16)
    token_file = directory / "tokens.csv"
    _write_private(token_file, f'{token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
    private, public = directory / "sa.key", directory / "sa.pub"
    # An EC P-256 key (ES256 tokens): instant to generate, unlike RSA-2048 (~0.3 s).
    subprocess.run(
        [openssl, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(private)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [openssl, "ec", "-in", str(private), "-pubout", "-out", str(public)],
        check=True,
        capture_output=True,
    )
    private.chmod(0o600)
    return Credentials(token, token_file, private, public)


def write_kubeconfig(path: Path, server: str, token: str, ca_file: Path | None = None) -> None:
    """An admin kubeconfig for `server` (token auth).

    Until the apiserver has generated its self-signed serving certificate the cluster entry
    skips verification; once ``ca_file`` (the apiserver's cert-dir chain) exists, it is
    embedded as ``certificate-authority-data`` and TLS is verified.
    """
    cluster: dict[str, object] = {"server": server, "insecure-skip-tls-verify": True}
    if ca_file is not None and ca_file.is_file():
        cluster = {
            "server": server,
            "certificate-authority-data": base64.b64encode(ca_file.read_bytes()).decode(),
        }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": cluster}],
        "users": [{"name": ADMIN_USER, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": ADMIN_USER}}],
        "current-context": CONTEXT,
        "preferences": {},
    }
    _write_private(path, yaml.safe_dump(config, sort_keys=False))
