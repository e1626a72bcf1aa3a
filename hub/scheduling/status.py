"""`okrhub status`: every scheduled job's next run and last outcome, from the store.

Example:
    ```python
    for row in job_status(runtime.engine, catalogue, now=utcnow()):
        print(row.job, row.next_run_at, row.last_status)
    ```
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from hub.scheduling.catalogue import Catalogue
from hub.scheduling.cron import next_fire
from hub.scheduling.state import LastOutcome, last_outcomes
from hub.store.ledger import RunLedger


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStatus:
    """One job as `okrhub status` shows it."""

    job: str
    description: str
    cron: str
    timezone: str
    enabled: bool
    next_run_at: datetime | None
    running: bool
    running_on: str | None
    last_run_id: int | None
    last_status: str | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    last_summary: str | None
    last_skipped_at: datetime | None
    """The latest run skipped because another process held the job (from the ledger)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (times as ISO 8601)."""
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in asdict(self).items()
        }


@dataclass(frozen=True, slots=True)
class _Last:
    run_id: int | None = None
    status: str | None = None
    finished_at: datetime | None = None
    success_at: datetime | None = None
    summary: str | None = None


def job_status(engine: Engine, catalogue: Catalogue, *, now: datetime) -> list[JobStatus]:
    """The status of every job in `catalogue` at `now`.

    The org sync and the write-back own their ledger job name, so their last outcome is read
    from the ledger (runs started by hand count too); a metric group shares `kr_updates` with the
    other groups, so its last outcome is the one its scheduled runs noted in `job_state`.
    """
    outcomes = last_outcomes(engine)
    ledger = RunLedger(engine)
    rows: list[JobStatus] = []
    for job in catalogue:
        state = outcomes.get(job.name)
        running = bool(
            state is not None
            and state.lease_owner is not None
            and state.lease_expires_at is not None
            and state.lease_expires_at > now
        )
        last = _from_ledger(ledger, job.ledger_job) if job.kind != "metrics" else _from_state(state)
        rows.append(
            JobStatus(
                job=job.name,
                description=job.description,
                cron=job.schedule.cron,
                timezone=job.schedule.timezone,
                enabled=job.schedule.enabled,
                next_run_at=next_fire(job.schedule, now) if job.schedule.enabled else None,
                running=running,
                running_on=state.lease_owner if running and state is not None else None,
                last_run_id=last.run_id,
                last_status=last.status,
                last_finished_at=last.finished_at,
                last_success_at=last.success_at,
                last_summary=last.summary,
                last_skipped_at=_last_skip(ledger, job.ledger_job, job.name),
            )
        )
    return rows


def _from_ledger(ledger: RunLedger, ledger_job: str) -> _Last:
    finished = [
        run
        for run in ledger.recent(limit=50, job=ledger_job)
        if not run.dry_run and run.status not in ("running", "skipped")
    ]
    success = ledger.last_success(ledger_job)
    if not finished:
        return _Last(success_at=success.finished_at if success else None)
    run = finished[0]
    return _Last(
        run_id=run.id,
        status=run.status,
        finished_at=run.finished_at,
        success_at=success.finished_at if success else None,
        summary=run.summary,
    )


def _from_state(state: LastOutcome | None) -> _Last:
    if state is None or state.status in (None, "running"):
        return _Last(success_at=state.last_success_at if state else None)
    return _Last(
        run_id=state.run_id,
        status=state.status,
        finished_at=state.finished_at,
        success_at=state.last_success_at,
        summary=state.summary,
    )


def _last_skip(ledger: RunLedger, ledger_job: str, name: str) -> datetime | None:
    for run in ledger.recent(limit=20, job=ledger_job, status="skipped"):
        if f"`{name}`" in (run.summary or ""):
            return run.started_at
    return None
