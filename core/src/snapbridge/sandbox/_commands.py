"""Command lines of the sandbox processes: etcd, kube-apiserver, controller manager, daemon."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from snapbridge.sandbox._credentials import Credentials

SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
# Everything except the controllers that need real nodes (pod CIDRs, node health / eviction).
CONTROLLERS = "*,-nodeipam,-nodelifecycle"
# kube-controller-manager's defaults (20/30) throttle namespace deletion's discovery calls.
KCM_API_QPS, KCM_API_BURST = 200, 400
_LAST_MINOR_WITH_INSECURE_PORT = 23


@dataclass(frozen=True)
class Ports:
    etcd: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    kubelet: int


def binary_version(binary: Path) -> str:
    """First line of `binary --version` (e.g. `Kubernetes v1.20.2`, `etcd Version: 3.4.23`)."""
    result = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def kube_minor(version: str) -> int:
    """The minor version of a `Kubernetes v1.N.x` string (0 when it cannot be parsed)."""
    match = re.search(r"v1\.(\d+)", version)
    return int(match.group(1)) if match else 0


def etcd_argv(etcd: Path, state_dir: Path, ports: Ports) -> list[str]:
    client = f"http://127.0.0.1:{ports.etcd}"
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    return [
        str(etcd),
        "--name=default",
        f"--data-dir={state_dir / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=default={peer}",
        "--unsafe-no-fsync=true",
    ]


def apiserver_argv(
    apiserver: Path, state_dir: Path, ports: Ports, credentials: Credentials, minor: int
) -> list[str]:
    argv = [
        str(apiserver),
        f"--etcd-servers=http://127.0.0.1:{ports.etcd}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={ports.apiserver}",
        f"--cert-dir={state_dir / 'apiserver-certs'}",
        f"--token-auth-file={credentials.token_file}",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc",
        f"--service-account-key-file={credentials.sa_public_key}",
        f"--service-account-signing-key-file={credentials.sa_private_key}",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        # Default ServiceAccounts appear only once the controller manager runs; don't require them.
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
        # The simulated kubelet registers its Node with InternalIP 127.0.0.1.
        "--kubelet-preferred-address-types=InternalIP",
        # The `kubernetes` Service cannot point at a loopback address; don't maintain it.
        "--endpoint-reconciler-type=none",
    ]
    if minor <= _LAST_MINOR_WITH_INSECURE_PORT:
        argv.append("--insecure-port=0")
    return argv


def controller_manager_argv(
    kcm: Path, state_dir: Path, kubeconfig: Path, ports: Ports, credentials: Credentials, minor: int
) -> list[str]:
    argv = [
        str(kcm),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        # No client CA is configured, so there is no extension-apiserver-authentication ConfigMap.
        "--authentication-skip-lookup=true",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports.controller_manager}",
        f"--cert-dir={state_dir / 'controller-manager-certs'}",
        f"--service-account-private-key-file={credentials.sa_private_key}",
        f"--controllers={CONTROLLERS}",
        f"--kube-api-qps={KCM_API_QPS}",
        f"--kube-api-burst={KCM_API_BURST}",
    ]
    apiserver_ca = state_dir / "apiserver-certs" / "apiserver.crt"
    if apiserver_ca.is_file():
        argv.append(f"--root-ca-file={apiserver_ca}")
    if minor <= _LAST_MINOR_WITH_INSECURE_PORT:
        argv.append("--port=0")
    return argv


def daemon_argv(state_dir: Path, kubeconfig: Path, ports: Ports) -> list[str]:
    return [
        sys.executable,
        "-m",
        "snapbridge.sandbox._daemon",
        "--state-dir",
        str(state_dir),
        "--kubeconfig",
        str(kubeconfig),
        "--kubelet-port",
        str(ports.kubelet),
    ]
