"""The scheduled jobs a config defines: the org sync, metric mappings grouped by schedule, write-back.

Mappings that share a schedule (cron and time zone) run as one job, so the compiler can coalesce
their queries into the fewest API calls; a mapping without a schedule uses `jobs.metrics`.

Example:
    ```python
    for job in load_catalogue(runtime.loaded):
        print(job.name, job.schedule.cron, job.schedule.timezone)
    # org_sync 0 2 * * * UTC
    # metrics:closed_won_by_owner,win_rate_by_owner 0 6 * * * Europe/London
    # writeback:ratings 0 6 * * 1 UTC
    ```
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hub.config.loader import LoadedConfig
from hub.config.models import Schedule
from hub.errors import ConfigError
from hub.jobs.kr_updates.loading import load_mapping_set
from hub.jobs.writeback.settings import load_writeback_settings

JobKind = Literal["org_sync", "metrics", "writeback"]

LEDGER_JOBS: dict[JobKind, str] = {"org_sync": "org_sync", "metrics": "kr_updates", "writeback": "writeback"}
"""The job name each kind's runs carry in the run ledger."""

_MAX_NAME = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledJob:
    """One job the schedulers know: what it runs, and when."""

    name: str
    """Unique and stable: `org_sync`, `metrics:<mapping ids>`, `writeback:<file stem>`."""
    kind: JobKind
    schedule: Schedule
    mapping_ids: tuple[str, ...] = ()
    """The mappings a `metrics` job runs."""
    settings_path: Path | None = None
    """The write-back config a `writeback` job runs."""

    @property
    def ledger_job(self) -> str:
        """The job name of this job's runs in the ledger."""
        return LEDGER_JOBS[self.kind]

    @property
    def description(self) -> str:
        """One line for people."""
        if self.kind == "metrics":
            return f"metric update: {', '.join(self.mapping_ids)}"
        if self.kind == "writeback":
            return f"ratings write-back ({self.settings_path})"
        return "org sync"


class Catalogue(Sequence[ScheduledJob]):
    """The scheduled jobs, in a stable order, looked up by name."""

    def __init__(self, jobs: Sequence[ScheduledJob]) -> None:
        """Keep `jobs`; names must be unique."""
        self._jobs = tuple(jobs)
        self._by_name = {job.name: job for job in self._jobs}
        if len(self._by_name) != len(self._jobs):
            raise ValueError("scheduled job names must be unique")

    def __getitem__(self, index: int) -> ScheduledJob:  # type: ignore[override]
        return self._jobs[index]

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[ScheduledJob]:
        return iter(self._jobs)

    @property
    def enabled(self) -> list[ScheduledJob]:
        """The jobs whose schedule is enabled."""
        return [job for job in self._jobs if job.schedule.enabled]

    def get(self, name: str) -> ScheduledJob:
        """The job called `name`.

        Raises:
            ConfigError: No job has that name; the message lists the names there are.
        """
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name) or "none"
            raise ConfigError(f"no scheduled job `{name}`; jobs: {known}") from None


def writeback_settings_path(loaded: LoadedConfig) -> Path:
    """Where the write-back config lives: `writeback/ratings.yaml` beside the config file."""
    return loaded.path.parent / "writeback" / "ratings.yaml"


def writeback_job_name(settings_path: Path) -> str:
    """The scheduled job (and lease) name of the write-back a settings file describes."""
    return f"writeback:{settings_path.stem}"


def load_catalogue(loaded: LoadedConfig) -> Catalogue:
    """Every scheduled job of this config, its mapping files and its write-back file.

    Raises:
        ConfigErrors: A mapping or the write-back file is wrong (file, line and field named).
    """
    config = loaded.config
    jobs: list[ScheduledJob] = []
    if config.org_sync is not None:
        jobs.append(ScheduledJob(name="org_sync", kind="org_sync", schedule=config.jobs.org_sync))
    groups: dict[Schedule, list[str]] = {}
    for mapping in load_mapping_set(loaded):
        groups.setdefault(mapping.schedule or config.jobs.metrics, []).append(mapping.id)
    for schedule, ids in groups.items():
        jobs.append(
            ScheduledJob(name=_metrics_name(ids), kind="metrics", schedule=schedule, mapping_ids=tuple(ids))
        )
    path = writeback_settings_path(loaded)
    if path.exists():
        settings = load_writeback_settings(path)
        if settings.schedule is not None:
            jobs.append(
                ScheduledJob(
                    name=writeback_job_name(path),
                    kind="writeback",
                    schedule=settings.schedule,
                    settings_path=path,
                )
            )
    return Catalogue(jobs)


def _metrics_name(ids: Sequence[str]) -> str:
    name = "metrics:" + ",".join(ids)
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: _MAX_NAME - 30]}…+{len(ids)} #{digest}"
