"""Counting Kubernetes API requests on the wire, from the engine's side.

Every REST call of the official client (and the dynamic client's watches) goes through
``urllib3.PoolManager.urlopen``; exec websockets do not (the benchmark creates no exec).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import urllib3

_RESOURCE = re.compile(r"^/(?:api/v1|apis/[^/]+/[^/]+)(?:/namespaces/[^/]+)?/([^/]+)")


def resource_of(url: str) -> str:
    path = urlparse(url).path
    if path.startswith("/api/v1/namespaces/") and path.count("/") == 4:
        return "namespaces"
    m = _RESOURCE.match(path)
    return m.group(1) if m else path


class WireCounter:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def total(self) -> int:
        return sum(self.counts.values())

    def by_key(self) -> dict[str, int]:
        return {f"{m} {r}": n for (m, r), n in sorted(self.counts.items())}


@contextmanager
def count_requests() -> Iterator[WireCounter]:
    counter = WireCounter()
    original = urllib3.PoolManager.urlopen

    def urlopen(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        query = urlparse(url).query
        verb = "WATCH" if "watch=true" in query.lower() else method.upper()
        with counter._lock:
            counter.counts[(verb, resource_of(url))] += 1
        return original(self, method, url, *args, **kwargs)

    urllib3.PoolManager.urlopen = urlopen  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        urllib3.PoolManager.urlopen = original  # type: ignore[method-assign]
