"""Prometheus metrics read from the run ledger on each scrape, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Engine, create_engine

from hub.scheduling.metrics import LedgerCollector
from hub.store.ledger import RunLedger
from hub.store.models import utcnow


class Clock:
    def __init__(self) -> None:
        self.now = utcnow().replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def run(
    ledger: RunLedger,
    clock: Clock,
    job: str,
    status: str,
    *,
    seconds: float,
    calls: int = 0,
    retries: int = 0,
    dry_run: bool = False,
    error: dict[str, Any] | None = None,
) -> int:
    run_id = ledger.start(job=job, connection="hr", dry_run=dry_run, trigger="worker")
    clock.now += timedelta(seconds=seconds)
    ledger.finish(run_id, status=status, counts={}, api_calls=calls, retries=retries, error=error)
    return run_id


def scrape(engine: Engine) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(LedgerCollector(engine))
    return registry


def test_runs_failures_calls_durations_and_last_success_per_job(store_engine: Engine) -> None:
    clock = Clock()
    ledger = RunLedger(store_engine, clock=clock)
    run(ledger, clock, "org_sync", "succeeded", seconds=40, calls=12, retries=2)
    success_at = clock.now
    run(ledger, clock, "org_sync", "succeeded", seconds=5, calls=3, dry_run=True)
    run(
        ledger, clock, "org_sync", "failed", seconds=2, calls=1, error={"type": "AuthError", "message": "401"}
    )
    run(ledger, clock, "org_sync", "skipped", seconds=0)
    run(
        ledger,
        clock,
        "kr_updates",
        "failed",
        seconds=8,
        calls=7,
        error={"type": "TransientError", "message": "5xx"},
    )
    run(ledger, clock, "kr_updates", "failed", seconds=1, error={"type": "TransientError", "message": "5xx"})
    ledger.start(job="writeback", connection="hr", trigger="schedule")

    registry = scrape(store_engine)
    value = registry.get_sample_value

    assert value("okrhub_runs_total", {"job": "org_sync", "status": "succeeded"}) == 2
    assert value("okrhub_runs_total", {"job": "org_sync", "status": "failed"}) == 1
    assert value("okrhub_runs_total", {"job": "org_sync", "status": "skipped"}) == 1
    assert value("okrhub_runs_total", {"job": "kr_updates", "status": "failed"}) == 2
    assert value("okrhub_runs_total", {"job": "writeback", "status": "running"}) is None
    assert value("okrhub_runs_running", {"job": "writeback"}) == 1
    assert value("okrhub_run_failures_total", {"job": "org_sync", "error_type": "AuthError"}) == 1
    assert value("okrhub_run_failures_total", {"job": "kr_updates", "error_type": "TransientError"}) == 2
    assert value("okrhub_api_calls_total", {"job": "org_sync"}) == 16
    assert value("okrhub_api_retries_total", {"job": "org_sync"}) == 2
    assert value("okrhub_api_calls_total", {"job": "kr_updates"}) == 7
    # Durations of runs that ran: the skip is left out.
    assert value("okrhub_run_duration_seconds_count", {"job": "org_sync"}) == 3
    assert value("okrhub_run_duration_seconds_sum", {"job": "org_sync"}) == 47
    assert value("okrhub_last_run_duration_seconds", {"job": "org_sync"}) == 2
    assert value("okrhub_last_run_duration_seconds", {"job": "kr_updates"}) == 1
    # The dry run succeeded later, but changed nothing: the last success is the real one.
    assert value("okrhub_last_success_timestamp_seconds", {"job": "org_sync"}) == success_at.timestamp()
    assert value("okrhub_last_success_timestamp_seconds", {"job": "kr_updates"}) is None
    assert value("okrhub_ledger_up") == 1


def test_every_scrape_reads_the_ledger_afresh(store_engine: Engine) -> None:
    clock = Clock()
    ledger = RunLedger(store_engine, clock=clock)
    registry = scrape(store_engine)
    assert registry.get_sample_value("okrhub_runs_total", {"job": "org_sync", "status": "succeeded"}) is None

    run(ledger, clock, "org_sync", "succeeded", seconds=3)
    assert registry.get_sample_value("okrhub_runs_total", {"job": "org_sync", "status": "succeeded"}) == 1


def test_an_unreadable_store_reports_ledger_down_instead_of_failing_the_scrape(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'okrhub.db'}")
    try:
        registry = scrape(engine)  # registering reads nothing
        text = generate_latest(registry).decode()
    finally:
        engine.dispose()
    assert "okrhub_ledger_up 0.0" in text
    assert "okrhub_runs_total" not in text
