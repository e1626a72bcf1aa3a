"""Run one scheduled job safely: what the embedded scheduler and the Celery task both call.

1. Take the job's lease (`locks`); if another process holds it, record a `skipped` run and stop.
2. If the lease was taken over from a holder that died, close that holder's run as abandoned.
3. Run the job (`execute`), renewing the lease meanwhile.
4. Read the outcome back from the ledger and note it in `job_state`.

Jobs are idempotent (an org sync or metric update writes in one transaction and only changes;
the write-back goes through its outbox), so a run redelivered after a crash writes nothing twice.

Example:
    ```python
    report = run_job(runtime, catalogue.get("org_sync"), trigger="schedule", locks=[StoreLeases(engine)])
    report.status, report.run_id, report.summary
    ```
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from hub.errors import OkrHubError, RateLimited, TransientError
from hub.runtime import Runtime
from hub.scheduling.catalogue import ScheduledJob
from hub.scheduling.execute import execute
from hub.scheduling.locks import Held, JobLocks, Lease, Owner, current_owner, hold
from hub.scheduling.state import record_outcome, record_start
from hub.store.ledger import RunLedger
from hub.store.models import RunStatus, utcnow

logger = logging.getLogger(__name__)

TRANSIENT_TYPES = frozenset({TransientError.__name__, RateLimited.__name__})
"""Error types a run may be retried for; configuration, auth and guard errors never are."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobReport:
    """How one scheduled run of a job went."""

    job: str
    status: str
    """succeeded, failed, guarded or skipped."""
    run_id: int | None
    summary: str | None
    error: dict[str, Any] | None = None
    api_calls: int = 0
    duration_seconds: float = 0.0
    abandoned_runs: tuple[int, ...] = ()
    """Runs of a holder that died, closed when this run took the job over."""

    @property
    def transient(self) -> bool:
        """True when the run failed for a reason that may pass (worth a retry)."""
        return self.status == RunStatus.FAILED.value and (self.error or {}).get("type") in TRANSIENT_TYPES

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "abandoned_runs": list(self.abandoned_runs), "transient": self.transient}


def run_job(
    runtime: Runtime,
    job: ScheduledJob,
    *,
    trigger: str,
    locks: Sequence[JobLocks],
    owner: Owner | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> JobReport:
    """Run `job` once unless another process is running it; never raises an `OkrHubError`.

    Args:
        runtime: Config, store and connectors.
        job: The job to run.
        trigger: `schedule` (embedded scheduler), `worker` (Celery) or `cli`.
        locks: Leases to take, in order (workers: Redis, then the store; embedded: the store).
        owner: Who takes the leases; a fresh owner for this process when None.
        clock: The aware current time.
    """
    owner = owner or current_owner()
    ledger = RunLedger(runtime.engine, clock=clock)
    started = time.monotonic()
    try:
        with _hold_all(locks, job.name, owner) as taken:
            if isinstance(taken, Held):
                return _skipped(ledger, job, trigger, taken)
            abandoned = _close_abandoned(ledger, job, taken)
            record_start(runtime.engine, job.name, at=clock())
            try:
                run_id = execute(runtime, job, trigger=trigger)
            except OkrHubError as exc:
                run_id = _record_failure(ledger, job, trigger, exc)
            except BaseException:
                # Stopped by a signal or a time limit: the job's transaction rolled back; say so.
                ledger.close_runs_of(
                    job=job.ledger_job,
                    host=owner.host,
                    pid=owner.pid,
                    reason="the process was stopped (a signal or a time limit) before the run finished; "
                    "its writes were rolled back",
                )
                record_outcome(
                    runtime.engine,
                    job.name,
                    run_id=None,
                    status=RunStatus.FAILED.value,
                    summary="stopped before it finished",
                    at=clock(),
                )
                raise
            report = _report(ledger, job, run_id, abandoned, time.monotonic() - started)
            record_outcome(
                runtime.engine,
                job.name,
                run_id=run_id,
                status=report.status,
                summary=report.summary,
                at=clock(),
            )
            return report
    except OkrHubError as exc:
        # The lock or the store itself failed: nothing ran.
        logger.error("job `%s` could not run: %s", job.name, exc)  # noqa: TRY400 - the report carries it
        return JobReport(
            job=job.name,
            status=RunStatus.FAILED.value,
            run_id=None,
            summary=f"could not run: {exc}",
            error=exc.attrs(),
            duration_seconds=time.monotonic() - started,
        )


@contextmanager
def _hold_all(locks: Sequence[JobLocks], job: str, owner: Owner) -> Iterator[Lease | Held]:
    """Hold every lock in order; the first one held by someone else is the answer.

    Of the leases taken, the last one that replaced a dead holder says who died (the store
    lease, listed last, outlives a lapsed Redis key).
    """
    with ExitStack() as stack:
        leases: list[Lease] = []
        for locks_ in locks:
            taken = stack.enter_context(hold(locks_, job, owner))
            if isinstance(taken, Held):
                yield taken
                return
            leases.append(taken)
        replaced = [lease for lease in leases if lease.previous_owner is not None]
        yield replaced[-1] if replaced else (leases[-1] if leases else Lease(job=job, owner=owner))


def _close_abandoned(ledger: RunLedger, job: ScheduledJob, lease: Lease) -> tuple[int, ...]:
    if lease.previous_owner is None:
        return ()
    previous = Owner.parse(lease.previous_owner)
    if previous is None:
        return ()
    closed = ledger.close_runs_of(
        job=job.ledger_job,
        host=previous.host,
        pid=previous.pid,
        reason=(
            f"its process ({previous.host} pid {previous.pid}) stopped renewing the lease of "
            f"`{job.name}` before recording an outcome; this run took the job over"
        ),
    )
    return tuple(closed)


def _skipped(ledger: RunLedger, job: ScheduledJob, trigger: str, held: Held) -> JobReport:
    summary = f"skipped: {held.describe()}"
    error = {
        "type": "JobAlreadyRunning",
        "message": summary,
        "scheduled_job": job.name,
        "holder": held.holder,
    }
    run_id = _record_unrun(ledger, job, trigger, status=RunStatus.SKIPPED.value, summary=summary, error=error)
    logger.info("job `%s` %s", job.name, summary)
    return JobReport(job=job.name, status=RunStatus.SKIPPED.value, run_id=run_id, summary=summary)


def _record_failure(ledger: RunLedger, job: ScheduledJob, trigger: str, exc: OkrHubError) -> int:
    logger.error("job `%s` could not start: %s", job.name, exc)
    summary = f"could not start: {str(exc).splitlines()[0]}"
    return _record_unrun(
        ledger, job, trigger, status=RunStatus.FAILED.value, summary=summary, error=exc.attrs()
    )


def _record_unrun(
    ledger: RunLedger, job: ScheduledJob, trigger: str, *, status: str, summary: str, error: dict[str, Any]
) -> int:
    """A ledger run for a job that did not run (skipped, or could not start), so the ledger tells."""
    run_id = ledger.start(job=job.ledger_job, connection=None, trigger=trigger)
    ledger.finish(run_id, status=status, counts={}, api_calls=0, retries=0, error=error, summary=summary)
    return run_id


def _report(
    ledger: RunLedger, job: ScheduledJob, run_id: int, abandoned: tuple[int, ...], seconds: float
) -> JobReport:
    run = ledger.get(run_id, rejections_limit=0)
    return JobReport(
        job=job.name,
        status=run.status,
        run_id=run_id,
        summary=run.summary,
        error=run.error,
        api_calls=run.api_calls,
        duration_seconds=seconds,
        abandoned_runs=abandoned,
    )
