"""The single retry policy of snapbridge (tenacity).

Only :class:`~snapbridge.errors.RetryableError` is retried; its ``retry_after`` (from an HTTP
``Retry-After`` header) wins over the exponential backoff. Permanent errors pass straight
through. The cluster facade and the engine both take their retries from here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from ..errors import RetryableError
from .config import RetrySettings

log = logging.getLogger(__name__)
T = TypeVar("T")


class RetryPolicy:
    """Runs callables under the configured policy."""

    def __init__(self, settings: RetrySettings | None = None) -> None:
        self.settings = settings or RetrySettings()
        self._backoff = wait_exponential_jitter(
            multiplier=self.settings.initial_wait_seconds,
            max=self.settings.max_wait_seconds,
            jitter=self.settings.initial_wait_seconds,
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            return min(exc.retry_after, self.settings.max_wait_seconds)
        return float(self._backoff(state))

    def _log(self, what: str) -> Callable[[RetryCallState], None]:
        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.info("retrying %s (attempt %d): %s", what, state.attempt_number, exc)

        return before_sleep

    def call(self, fn: Callable[[], T], what: str = "call") -> T:
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            wait=self._wait,
            stop=stop_after_attempt(self.settings.attempts),
            reraise=True,
            before_sleep=self._log(what),
        )
        return retrying(fn)
