"""When a task runs again: transient failures with backoff, redelivered tasks whose job is held; never
configuration, auth or guard failures."""

from __future__ import annotations

from typing import Any

import pytest

from hub.config.models import WorkersSettings
from hub.scheduling.runner import JobReport
from sandbox.server import Fault
from workers.retry import backoff_seconds, retry_delay
from workers.tasks import TASK_NAME

from .conftest import ORG_SIZE, Hub

SETTINGS = WorkersSettings(
    max_retries=3,
    retry_backoff_seconds=60,
    lock_ttl_seconds=60,
    task_time_limit_seconds=3600,
    visibility_timeout_seconds=4500,
)


def report(status: str, error_type: str | None = None) -> JobReport:
    error: dict[str, Any] | None = {"type": error_type, "message": "x"} if error_type else None
    return JobReport(job="org_sync", status=status, run_id=1, summary="s", error=error)


@pytest.mark.parametrize("error_type", ["TransientError", "RateLimited"])
def test_a_transient_failure_is_retried_with_a_doubling_capped_backoff(error_type: str) -> None:
    failed = report("failed", error_type)
    delays = [retry_delay(failed, redelivered=False, retries=n, settings=SETTINGS) for n in range(4)]
    assert delays == [60.0, 120.0, 240.0, None]  # the fourth attempt was the last (max_retries 3)


def test_the_backoff_stops_doubling_at_ten_times_the_base() -> None:
    assert [backoff_seconds(n, 60) for n in (0, 3, 4, 8)] == [60.0, 480.0, 600.0, 600.0]


def test_the_backoff_stays_below_the_visibility_timeout_minus_the_time_limit() -> None:
    tight = SETTINGS.model_copy(update={"visibility_timeout_seconds": 3700})
    assert (
        retry_delay(report("failed", "TransientError"), redelivered=False, retries=2, settings=tight) == 100.0
    )


@pytest.mark.parametrize(
    "error_type",
    ["ConfigError", "AuthError", "PermissionDenied", "SourceDataError", "StoreError", "RunAbandoned"],
)
def test_failures_that_need_an_admin_are_never_retried(error_type: str) -> None:
    assert retry_delay(report("failed", error_type), redelivered=True, retries=0, settings=SETTINGS) is None


@pytest.mark.parametrize("status", ["succeeded", "guarded"])
def test_finished_runs_are_final_even_when_redelivered(status: str) -> None:
    error = "GuardTripped" if status == "guarded" else None
    assert retry_delay(report(status, error), redelivered=True, retries=0, settings=SETTINGS) is None


def test_a_skip_is_final_unless_the_task_was_redelivered() -> None:
    skipped = report("skipped", "JobAlreadyRunning")
    assert retry_delay(skipped, redelivered=False, retries=0, settings=SETTINGS) is None
    # Its worker died holding the job: wait one lock TTL for the dead holder's lock to lapse.
    assert retry_delay(skipped, redelivered=True, retries=0, settings=SETTINGS) == 61.0
    no_retries = SETTINGS.model_copy(update={"max_retries": 0})
    assert retry_delay(skipped, redelivered=True, retries=0, settings=no_retries) == 61.0
    assert retry_delay(skipped, redelivered=True, retries=4, settings=SETTINGS) is None


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
def test_a_503_is_retried_on_the_worker_and_the_run_completes(hub: Hub) -> None:
    hub.start_worker("flaky")
    # Both of the connector's own attempts fail, so the run fails and the task is retried (after 1 s).
    hub.sandbox.bamboohr.faults.inject(Fault(kind="status", status=503, times=2, path="reports/custom"))

    final = hub.app.send_task(TASK_NAME, args=["org_sync"]).get(timeout=25)

    assert final["status"] == "succeeded", final
    failed, succeeded = hub.runs()
    assert (failed.status, succeeded.status) == ("failed", "succeeded")
    assert (failed.trigger, succeeded.trigger) == ("worker", "worker")
    assert hub.people() == ORG_SIZE


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
def test_rejected_credentials_fail_once_and_are_not_retried(hub: Hub) -> None:
    hub.start_worker("locked-out")
    hub.sandbox.bamboohr.faults.inject(Fault(kind="status", status=401, times=50))

    final = hub.app.send_task(TASK_NAME, args=["org_sync"]).get(timeout=25)

    assert final["status"] == "failed"
    assert final["error"]["type"] == "AuthError"
    assert not final["transient"]
    assert [r.status for r in hub.runs()] == ["failed"]
