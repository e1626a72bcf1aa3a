"""The embedded scheduler of `okrhub run`: the workers' schedule and jobs, in one process, no broker.

It sleeps until the next job is due, runs due jobs one after another through `run_job` (with a
store lease, so a second `okrhub run` or a worker cannot run the same job at once), and computes
each job's next fire time from its cron and time zone. A fire time missed because another job
ran long is not made up: the job runs once, then follows its schedule from now on.

`stop()` (the CLI calls it on SIGTERM) lets the job in progress finish and returns; the clock and
the wait are injected, so tests drive the schedule without sleeping.

Example:
    ```python
    scheduler = EmbeddedScheduler(runtime, load_catalogue(runtime.loaded))
    signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
    scheduler.run()
    ```
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from hub.runtime import Runtime
from hub.scheduling.catalogue import Catalogue, ScheduledJob
from hub.scheduling.cron import next_fire
from hub.scheduling.locks import JobLocks, StoreLeases, current_owner
from hub.scheduling.runner import JobReport, run_job
from hub.store.models import RunTrigger, utcnow

logger = logging.getLogger(__name__)

Wait = Callable[[float], bool]
"""Wait up to this many seconds; True when a stop was asked for meanwhile."""


class EmbeddedScheduler:
    """Runs the catalogue's enabled jobs on their schedules until stopped."""

    def __init__(
        self,
        runtime: Runtime,
        catalogue: Catalogue,
        *,
        clock: Callable[[], datetime] = utcnow,
        wait: Wait | None = None,
        locks: Sequence[JobLocks] | None = None,
        on_report: Callable[[JobReport], None] | None = None,
    ) -> None:
        """Schedule `catalogue` on `runtime`.

        Args:
            runtime: Config, store and connectors.
            catalogue: The jobs; disabled ones are not run.
            clock: The aware current time.
            wait: Sleeps; by default waits on the stop event, so `stop()` wakes it at once.
            locks: Leases each run takes; a store lease by default.
            on_report: Called after each run (the CLI prints it).
        """
        self._runtime = runtime
        self._jobs = catalogue.enabled
        self._clock = clock
        self._stopping = threading.Event()
        self._wait = wait or self._stopping.wait
        self._locks = list(locks) if locks is not None else [StoreLeases(runtime.engine, clock=clock)]
        self._on_report = on_report
        self._owner = current_owner()

    def stop(self) -> None:
        """Finish the job in progress (if any), then return from `run`."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """True once `stop()` was called."""
        return self._stopping.is_set()

    def next_runs(self, after: datetime) -> dict[str, datetime]:
        """Each enabled job's first fire time after `after`."""
        return {job.name: next_fire(job.schedule, after) for job in self._jobs}

    def run(self) -> list[JobReport]:
        """Run jobs as they fall due until `stop()`; return the reports of the runs made."""
        reports: list[JobReport] = []
        if not self._jobs:
            logger.warning("no scheduled jobs are enabled; nothing to run")
            return reports
        due = self.next_runs(self._clock())
        logger.info("scheduler started with %d job(s)", len(self._jobs))
        while not self._stopping.is_set():
            now = self._clock()
            ready = [job for job in self._jobs if due[job.name] <= now]
            if not ready:
                delay = (min(due.values()) - now).total_seconds()
                if self._wait(max(delay, 0.0)):
                    break
                continue
            for job in sorted(ready, key=lambda j: due[j.name]):
                if self._stopping.is_set():
                    break
                reports.append(self._run(job, due[job.name]))
                due[job.name] = self._after(job, due[job.name])
        logger.info("scheduler stopped")
        return reports

    def _run(self, job: ScheduledJob, fire_time: datetime) -> JobReport:
        logger.info("running `%s` (due %s)", job.name, fire_time.isoformat())
        report = run_job(
            self._runtime,
            job,
            trigger=RunTrigger.SCHEDULE.value,
            locks=self._locks,
            owner=self._owner,
            clock=self._clock,
        )
        if self._on_report is not None:
            self._on_report(report)
        return report

    def _after(self, job: ScheduledJob, fired: datetime) -> datetime:
        following = next_fire(job.schedule, fired)
        now = self._clock()
        if following <= now:
            missed = next_fire(job.schedule, now)
            logger.warning(
                "`%s` ran past its next fire time %s; its next run is %s",
                job.name,
                following.isoformat(),
                missed.isoformat(),
            )
            return missed
        return following
