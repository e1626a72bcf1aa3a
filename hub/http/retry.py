"""The one retry policy: tenacity, transient errors only, honouring `Retry-After`.

No connector sleeps in a loop of its own: every HTTP call goes through `build_retrying`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay

from hub.errors import RateLimited, TransientError
from hub.http.stats import CallStats

logger = logging.getLogger(__name__)


class RetrySettings(BaseModel):
    """How hard to retry transient failures (429, 5xx, timeouts, resets)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    max_attempts: int = Field(default=5, ge=1, le=20)
    """Attempts in all, the first included."""
    max_wait_seconds: float = Field(default=60.0, ge=0)
    """Longest single wait, even when the vendor's Retry-After asks for more."""
    max_total_seconds: float = Field(default=300.0, ge=0)
    """Give up once this long has passed since the first attempt."""
    backoff_base_seconds: float = Field(default=0.5, ge=0)
    """First wait of the exponential backoff when the vendor gives no Retry-After."""


def compute_wait(attempt: int, error: BaseException | None, settings: RetrySettings) -> float:
    """Seconds to wait before attempt `attempt + 1`: Retry-After if given, else jittered exponential."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return min(error.retry_after, settings.max_wait_seconds)
    exponential = settings.backoff_base_seconds * 2.0 ** max(0, attempt - 1)
    jitter = random.uniform(0, settings.backoff_base_seconds)  # noqa: S311 - jitter, not crypto
    return min(exponential + jitter, settings.max_wait_seconds)


def build_retrying(
    settings: RetrySettings,
    stats: CallStats | None = None,
    *,
    sleep: Callable[[float], None] | None = None,
    describe: str = "request",
) -> Retrying:
    """A tenacity `Retrying` that retries `TransientError` (and `RateLimited`) within the settings' bounds."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return compute_wait(state.attempt_number, error, settings)

    def before_sleep(state: RetryCallState) -> None:
        if stats is not None:
            stats.record_retry()
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "%s failed (%s); retry %d of %d in %.1fs",
            describe,
            error,
            state.attempt_number,
            settings.max_attempts - 1,
            state.upcoming_sleep,
        )

    kwargs: dict[str, object] = {}
    if sleep is not None:
        kwargs["sleep"] = sleep
    return Retrying(
        retry=retry_if_exception_type(TransientError),
        wait=wait,
        stop=stop_after_attempt(settings.max_attempts) | stop_after_delay(settings.max_total_seconds),
        before_sleep=before_sleep,
        reraise=True,
        **kwargs,  # type: ignore[arg-type]
    )
