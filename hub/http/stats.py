"""Counting what a run costs at the vendor: API calls and retries, for the run ledger."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class CallStats:
    """Thread-safe counters a connector's HTTP client feeds for one run.

    `api_calls` counts every request sent (retries included); `retries` counts the requests
    that were repeats of an earlier failed one.
    """

    api_calls: int = 0
    retries: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_call(self, status: int | None) -> None:
        """Count one request and the status it got (None when no response came back)."""
        with self._lock:
            self.api_calls += 1
            if status is not None:
                self.by_status[status] += 1

    def record_retry(self) -> None:
        """Count one retry."""
        with self._lock:
            self.retries += 1
