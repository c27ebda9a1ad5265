"""Mapping Kubernetes API errors to snapbridge errors (the only place that knows the codes)."""

from __future__ import annotations

from kubernetes.client.exceptions import ApiException

from ...errors import ClusterAPIError, RetryableError, SnapbridgeError

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def _retry_after(exc: ApiException) -> float | None:
    headers = getattr(exc, "headers", None) or {}
    raw = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def map_api_error(exc: ApiException, what: str) -> SnapbridgeError:
    status = int(exc.status or 0)
    reason = (exc.reason or "").strip()
    body = (exc.body or "")[:300] if isinstance(exc.body, str) else ""
    if status in RETRYABLE_STATUSES or status == 0:
        return RetryableError(
            f"{what}: the API server answered {status} {reason}",
            hint="transient; retried automatically",
            retry_after=_retry_after(exc),
        )
    hints = {
        401: "the credentials in the kubeconfig were refused; refresh them",
        403: "the user lacks RBAC permission for this; grant the ClusterRole snapbridge needs",
        404: "the object or API does not exist; check names and that the CRDs are installed",
        409: "someone changed the object meanwhile; rerun",
        422: "the server rejected the object as invalid; this is a bug or a bad input",
    }
    return ClusterAPIError(
        f"{what}: {status} {reason} {body}".strip(),
        status=status,
        hint=hints.get(status, "see the API server's message above"),
    )
