"""When a finished task is tried again, and after how long: a pure function of its report.

- A run that failed for a transient reason (5xx, timeout, 429, Redis unreachable for the lock)
  is retried up to `max_retries` times, after `retry_backoff_seconds` doubled each time and
  capped at ten times that. Configuration, auth, permission and guard failures never are: the
  same run would fail the same way until an admin acts.
- A *redelivered* task (its worker died, or lost Redis, before acknowledging it) that finds its
  job held is postponed by one lock TTL instead of being dropped: the holder is most likely the
  dead worker, whose lock lapses within one TTL. The postponed copy is a new message, not a
  redelivery, so if the job is still held then (its holder is alive and will finish the work),
  it is skipped for good.

Backoffs stay below the visibility timeout minus the time limit: a countdown is a message a
worker holds unacknowledged, and Redis would hand a message held too long to a second worker.

Example:
    ```python
    delay = retry_delay(report, redelivered=False, retries=0, settings=settings)
    if delay is not None:
        raise task.retry(countdown=delay)
    ```
"""

from __future__ import annotations

from hub.config.models import WorkersSettings
from hub.scheduling.runner import JobReport
from hub.store.models import RunStatus

BACKOFF_CAP_FACTOR = 10
"""The backoff stops doubling at this many times `retry_backoff_seconds`."""


def retry_delay(
    report: JobReport, *, redelivered: bool, retries: int, settings: WorkersSettings
) -> float | None:
    """Seconds to wait before running the job again, or None when this attempt is final.

    Args:
        report: How this attempt went.
        redelivered: Redis handed this message out before (a worker took it and died).
        retries: How many times the task was retried already.
        settings: The workers' settings.
    """
    if report.transient:
        if retries >= settings.max_retries:
            return None
        return _capped(settings, backoff_seconds(retries, settings.retry_backoff_seconds))
    if report.status == RunStatus.SKIPPED.value and redelivered:
        # One postponement even with max_retries 0: it recovers a run, it does not repeat one.
        if retries > settings.max_retries:
            return None
        return float(settings.lock_ttl_seconds + 1)
    return None


def backoff_seconds(retries: int, base_seconds: int) -> float:
    """`base_seconds` doubled `retries` times, at most `BACKOFF_CAP_FACTOR` times `base_seconds`."""
    return float(min(base_seconds * 2**retries, base_seconds * BACKOFF_CAP_FACTOR))


def _capped(settings: WorkersSettings, seconds: float) -> float:
    headroom = settings.visibility_timeout_seconds - settings.task_time_limit_seconds
    return max(1.0, min(seconds, float(headroom)))
