"""Celery beat's schedule, built from the job catalogue: one entry per enabled job.

Each entry sends `okrhub.run_job` with the job's name when its cron expression fires in the
job's own time zone (`hub.scheduling.cron.next_fire`), whatever Celery's global timezone is.
`CatalogueScheduler` is the app's `beat_scheduler`, so `okrhub beat` and `celery -A workers.app
beat` both read the catalogue; there is no schedule file to keep. Each entry's last run comes
from the store (`job_state`), so a fire missed while beat was down is sent once when it starts.

Example:
    ```python
    scheduler = CatalogueScheduler(app=app, catalogue=load_catalogue(loaded))
    scheduler.tick()   # sends what is due, returns the seconds to sleep
    ```
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from celery.beat import Scheduler
from celery.schedules import BaseSchedule, schedstate

from hub.config.loader import load_config
from hub.config.models import Schedule
from hub.config.paths import default_config_path
from hub.errors import OkrHubError
from hub.scheduling.catalogue import Catalogue, load_catalogue
from hub.scheduling.cron import next_fire
from hub.scheduling.state import last_outcomes
from hub.store.migrate import open_store
from workers.settings import CONFIG_PATH_KEY
from workers.tasks import TASK_NAME

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CronSchedule(BaseSchedule):  # type: ignore[misc]  # celery ships no types
    """A job's `Schedule` (cron and time zone) as a Celery schedule.

    Example:
        ```python
        every_night = CronSchedule(Schedule(cron="0 2 * * *", timezone="Europe/Berlin"))
        every_night.is_due(last_run_at)   # (False, 3600.0): due in an hour
        ```
    """

    def __init__(self, cron: Schedule, *, nowfun: Clock | None = None) -> None:
        """Fire on `cron`; `nowfun` is the aware current time (tests move it)."""
        super().__init__(nowfun=nowfun)
        self.cron = cron

    def now(self) -> datetime:
        """The aware current time (UTC unless `nowfun` says otherwise)."""
        return (self.nowfun or _utcnow)()

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        """Time left until the first fire after `last_run_at` (negative when overdue)."""
        return next_fire(self.cron, _aware(last_run_at)) - self.now()

    def is_due(self, last_run_at: datetime) -> schedstate:
        """Whether a fire time has passed since `last_run_at`, and the seconds to the next check.

        A beat that was down over several fire times sends the job once, not once per fire.
        """
        now = self.now()
        due_at = next_fire(self.cron, _aware(last_run_at))
        if due_at <= now:
            return schedstate(True, (next_fire(self.cron, now) - now).total_seconds())
        return schedstate(False, (due_at - now).total_seconds())

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.cron,))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CronSchedule):
            return self.cron == other.cron
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<cron {self.cron.cron} {self.cron.timezone}>"


def beat_schedule(
    catalogue: Catalogue,
    *,
    last_runs: Mapping[str, datetime] | None = None,
    nowfun: Clock | None = None,
) -> dict[str, dict[str, Any]]:
    """Beat entries for the enabled jobs of `catalogue`, keyed by job name.

    Args:
        catalogue: The jobs.
        last_runs: When each job last started, by name; a job missing here starts counting now.
        nowfun: The aware current time, for every entry's schedule.
    """
    entries: dict[str, dict[str, Any]] = {}
    for job in catalogue.enabled:
        entry: dict[str, Any] = {
            "task": TASK_NAME,
            "schedule": CronSchedule(job.schedule, nowfun=nowfun),
            "args": (job.name,),
        }
        if last_runs and job.name in last_runs:
            entry["last_run_at"] = _aware(last_runs[job.name])
        entries[job.name] = entry
    return entries


class CatalogueScheduler(Scheduler):  # type: ignore[misc]  # celery ships no types
    """Beat's scheduler: entries from the config's job catalogue, last runs from the store.

    Example:
        ```python
        app.conf.beat_scheduler = "workers.beat:CatalogueScheduler"   # what create_app sets
        ```
    """

    def __init__(
        self,
        app: Any,
        *args: Any,
        catalogue: Catalogue | None = None,
        last_runs: Mapping[str, datetime] | None = None,
        nowfun: Clock | None = None,
        **kwargs: Any,
    ) -> None:
        """Schedule `catalogue` (default: the app's config), seeded with `last_runs` (default: the store).

        Celery also passes `schedule_filename`, which a scheduler without a file ignores.
        """
        self._catalogue = catalogue
        self._last_runs = last_runs
        self._nowfun = nowfun
        super().__init__(app, *args, **kwargs)

    def setup_schedule(self) -> None:
        """Build the entries (Celery calls this once, unless the scheduler is lazy)."""
        self.install_default_entries(self.data)
        catalogue, last_runs = self._catalogue, self._last_runs
        if catalogue is None or last_runs is None:
            loaded = load_config(self._config_path())
            catalogue = catalogue if catalogue is not None else load_catalogue(loaded)
            last_runs = last_runs if last_runs is not None else _last_starts(loaded.config.store.url)
        self.merge_inplace(beat_schedule(catalogue, last_runs=last_runs, nowfun=self._nowfun))
        for name, entry in sorted(self.schedule.items()):
            logger.info("beat: %s on %r", name, entry.schedule)

    @property
    def info(self) -> str:
        """The banner line under `celery beat`'s start-up message."""
        return f"    . jobs -> {', '.join(sorted(self.schedule)) or 'none enabled'}"

    def _config_path(self) -> Path:
        configured = self.app.conf.get(CONFIG_PATH_KEY)
        return Path(configured) if configured else default_config_path()


def _last_starts(store_url: str | None) -> dict[str, datetime]:
    """When each job last started, from `job_state`; empty (start counting now) if the store fails."""
    try:
        engine = open_store(store_url)
    except OkrHubError as exc:
        logger.warning("beat: cannot read the jobs' last runs (%s); every schedule starts counting now", exc)
        return {}
    try:
        return {
            name: outcome.started_at
            for name, outcome in last_outcomes(engine).items()
            if outcome.started_at is not None
        }
    finally:
        engine.dispose()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
