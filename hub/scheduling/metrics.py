"""Prometheus metrics read from the run ledger on each scrape, so they agree with `okrhub runs`.

The ledger is the one record of what ran, wherever it ran (CLI, embedded scheduler, any worker),
so the numbers survive restarts and need no process to count them. Finished runs only feed the
counters (a `running` row still changes); a scrape that cannot read the store reports
`okrhub_ledger_up 0` instead of failing.

```
okrhub_runs_total{job,status}                     finished runs (succeeded, failed, guarded, skipped)
okrhub_runs_running{job}                          runs started and not finished
okrhub_run_failures_total{job,error_type}         failed runs by error type (AuthError, RunAbandoned...)
okrhub_api_calls_total{job}                       vendor API calls, retries included
okrhub_api_retries_total{job}                     of which retries
okrhub_run_duration_seconds{job}                  summary (_count, _sum) of runs that ran (not skipped)
okrhub_last_run_duration_seconds{job}             the latest such run
okrhub_last_success_timestamp_seconds{job}        end of the latest succeeded run (dry runs excluded)
okrhub_ledger_up                                  1 when this scrape read the ledger
```

Example:
    ```python
    registry = CollectorRegistry()
    registry.register(LedgerCollector(engine))
    start_http_server(9808, registry=registry)
    ```
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from hub.errors import OkrHubError
from hub.store.engine import mask_url, resolve_database_url
from hub.store.models import Run, RunStatus

logger = logging.getLogger(__name__)

_RUNNING = RunStatus.RUNNING.value
_SKIPPED = RunStatus.SKIPPED.value
_SUCCEEDED = RunStatus.SUCCEEDED.value
_FAILED = RunStatus.FAILED.value


@dataclass(slots=True)
class _Snapshot:
    """What one scrape read from the ledger."""

    by_status: dict[tuple[str, str], int] = field(default_factory=dict)
    running: dict[str, int] = field(default_factory=dict)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    durations: dict[str, tuple[int, float]] = field(default_factory=dict)
    last_duration: dict[str, float] = field(default_factory=dict)
    last_success: dict[str, datetime] = field(default_factory=dict)


class LedgerCollector:
    """A prometheus_client collector that reads the run ledger at `engine` on every scrape.

    Example:
        ```python
        registry = CollectorRegistry()
        registry.register(LedgerCollector(engine))
        print(generate_latest(registry).decode())
        ```
    """

    def __init__(self, engine: Engine, *, namespace: str = "okrhub") -> None:
        """Read runs through `engine`; every metric name starts with `namespace`."""
        self._engine = engine
        self._ns = namespace

    def describe(self) -> Iterator[Metric]:
        """The metric families without samples, so registering does not query the store."""
        yield from self._families(_Snapshot())

    def collect(self) -> Iterator[Metric]:
        """Read the ledger and yield every metric; only `ledger_up 0` when the store fails."""
        try:
            snapshot = self._read()
        except SQLAlchemyError as exc:
            logger.warning("metrics: cannot read the run ledger at `%s`: %s", mask_url(self._engine.url), exc)
            yield self._up(False)
            return
        yield from self._families(snapshot)

    def _read(self) -> _Snapshot:
        snap = _Snapshot()
        ran = Run.status.not_in((_RUNNING, _SKIPPED))
        with self._engine.connect() as conn:
            for job, status, count, calls, retries in conn.execute(
                select(
                    Run.job, Run.status, func.count(), func.sum(Run.api_calls), func.sum(Run.retries)
                ).group_by(Run.job, Run.status)
            ):
                if status == _RUNNING:
                    snap.running[job] = int(count)
                else:
                    snap.by_status[(job, status)] = int(count)
                snap.api_calls[job] = snap.api_calls.get(job, 0) + int(calls or 0)
                snap.retries[job] = snap.retries.get(job, 0) + int(retries or 0)
            error_type = Run.error["type"].as_string()
            for job, kind, count in conn.execute(
                select(Run.job, error_type, func.count())
                .where(Run.status == _FAILED)
                .group_by(Run.job, error_type)
            ):
                snap.failures[(job, kind or "unknown")] = int(count)
            for job, count, total_ms in conn.execute(
                select(Run.job, func.count(), func.sum(Run.duration_ms))
                .where(ran, Run.duration_ms.is_not(None))
                .group_by(Run.job)
            ):
                snap.durations[job] = (int(count), int(total_ms or 0) / 1000)
            latest = (
                select(func.max(Run.id).label("id"))
                .where(ran, Run.duration_ms.is_not(None))
                .group_by(Run.job)
                .subquery()
            )
            for job, duration_ms in conn.execute(
                select(Run.job, Run.duration_ms).join(latest, Run.id == latest.c.id)
            ):
                snap.last_duration[job] = (duration_ms or 0) / 1000
            for job, finished in conn.execute(
                select(Run.job, func.max(Run.finished_at))
                .where(Run.status == _SUCCEEDED, Run.dry_run.is_(False))
                .group_by(Run.job)
            ):
                if finished is not None:
                    snap.last_success[job] = finished
        return snap

    def _families(self, snap: _Snapshot) -> Iterator[Metric]:
        ns = self._ns
        runs = CounterMetricFamily(f"{ns}_runs", "Finished job runs in the ledger.", labels=["job", "status"])
        for (job, status), count in sorted(snap.by_status.items()):
            runs.add_metric([job, status], count)
        yield runs
        running = GaugeMetricFamily(f"{ns}_runs_running", "Runs started and not finished.", labels=["job"])
        for job, count in sorted(snap.running.items()):
            running.add_metric([job], count)
        yield running
        failures = CounterMetricFamily(
            f"{ns}_run_failures", "Failed runs by error type.", labels=["job", "error_type"]
        )
        for (job, kind), count in sorted(snap.failures.items()):
            failures.add_metric([job, kind], count)
        yield failures
        calls = CounterMetricFamily(f"{ns}_api_calls", "Vendor API calls, retries included.", labels=["job"])
        retries = CounterMetricFamily(
            f"{ns}_api_retries", "Vendor API calls that were retries.", labels=["job"]
        )
        for job in sorted(snap.api_calls):
            calls.add_metric([job], snap.api_calls[job])
            retries.add_metric([job], snap.retries.get(job, 0))
        yield calls
        yield retries
        durations = SummaryMetricFamily(
            f"{ns}_run_duration_seconds",
            "Duration of finished runs that ran (skipped excluded).",
            labels=["job"],
        )
        for job, (count, total) in sorted(snap.durations.items()):
            durations.add_metric([job], count_value=count, sum_value=total)
        yield durations
        last = GaugeMetricFamily(
            f"{ns}_last_run_duration_seconds", "Duration of the latest finished run that ran.", labels=["job"]
        )
        for job, seconds in sorted(snap.last_duration.items()):
            last.add_metric([job], seconds)
        yield last
        success = GaugeMetricFamily(
            f"{ns}_last_success_timestamp_seconds",
            "When the latest succeeded run (not a dry run) finished, as a Unix time.",
            labels=["job"],
        )
        for job, moment in sorted(snap.last_success.items()):
            success.add_metric([job], moment.timestamp())
        yield success
        yield self._up(True)

    def _up(self, up: bool) -> Metric:
        gauge = GaugeMetricFamily(f"{self._ns}_ledger_up", "1 when the last scrape read the run ledger.")
        gauge.add_metric([], 1.0 if up else 0.0)
        return gauge


class MetricsUnavailable(OkrHubError):
    """The metrics port could not be opened."""


def serve_ledger_metrics(database_url: str | None, port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - scraped from outside
    """Serve the ledger's metrics on `addr:port` from a background thread of this process.

    The store is reached without a connection pool: a Celery worker forks its pool children
    after this, and a pooled connection must never be shared across a fork.

    Raises:
        MetricsUnavailable: The port cannot be opened.
    """
    engine = create_engine(resolve_database_url(database_url), poolclass=NullPool)
    registry = CollectorRegistry()
    registry.register(LedgerCollector(engine))
    try:
        start_http_server(port, addr=addr, registry=registry)
    except OSError as exc:
        raise MetricsUnavailable(
            f"cannot serve metrics on {addr}:{port}: {exc}; pick another --metrics-port"
        ) from exc
