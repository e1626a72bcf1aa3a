"""Each scheduled job's last outcome in the store (`job_state`), written by every mode's runner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from hub.store.engine import begin_write
from hub.store.models import JobState, RunStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class LastOutcome:
    """How a job's latest run went (skipped runs do not count; the ledger keeps those)."""

    job: str
    run_id: int | None
    status: str | None
    started_at: datetime | None
    finished_at: datetime | None
    last_success_at: datetime | None
    summary: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None


def record_start(engine: Engine, job: str, *, at: datetime) -> None:
    """Note that `job` started at `at` (its run id is not known yet)."""
    _upsert(engine, job, last_status=RunStatus.RUNNING.value, last_started_at=at, last_finished_at=None)


def record_outcome(
    engine: Engine, job: str, *, run_id: int | None, status: str, summary: str | None, at: datetime
) -> None:
    """Note how `job`'s run `run_id` ended."""
    values: dict[str, object] = {
        "last_run_id": run_id,
        "last_status": status,
        "last_summary": summary,
        "last_finished_at": at,
    }
    if status == RunStatus.SUCCEEDED.value:
        values["last_success_at"] = at
    _upsert(engine, job, **values)


def last_outcomes(engine: Engine) -> dict[str, LastOutcome]:
    """Every job's row, by job name."""
    with engine.connect() as conn:
        rows = conn.execute(select(JobState)).mappings().all()
    return {
        row["name"]: LastOutcome(
            job=row["name"],
            run_id=row["last_run_id"],
            status=row["last_status"],
            started_at=row["last_started_at"],
            finished_at=row["last_finished_at"],
            last_success_at=row["last_success_at"],
            summary=row["last_summary"],
            lease_owner=row["lease_owner"],
            lease_expires_at=row["lease_expires_at"],
        )
        for row in rows
    }


def _upsert(engine: Engine, job: str, **values: object) -> None:
    with begin_write(engine) as conn:
        updated = conn.execute(update(JobState).where(JobState.name == job).values(**values))
        if not updated.rowcount:
            conn.execute(insert(JobState).values(name=job, **values))
