"""The only package that imports ``kubernetes``: client factory, facade, exec, journal."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from ...errors import ConfigError
from ..retry import RetryPolicy
from .client import KubeCluster

__all__ = ["KubeCluster", "connect"]

log = logging.getLogger(__name__)


def connect(
    kubeconfig: str | Path | None, context: str | None = None, *, retry: RetryPolicy | None = None
) -> KubeCluster:
    """A facade for the cluster named by a kubeconfig (no global client state)."""
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(
            config_file=str(kubeconfig) if kubeconfig else None,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except (k8s_config.ConfigException, FileNotFoundError, OSError) as exc:
        raise ConfigError(
            f"cannot load kubeconfig {kubeconfig or '(default)'}: {exc}",
            hint="pass --kubeconfig PATH (and --context NAME), or start the sandbox",
        ) from exc
    if not configuration.verify_ssl:
        # the user's kubeconfig asked for insecure-skip-tls-verify; say it once, not per request
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        log.warning("TLS verification is off for %s (insecure-skip-tls-verify)", configuration.host)
    return KubeCluster(configuration, retry=retry)
