"""Run one scheduled job's hub function once: the same functions the CLI commands call.

Each job records its own run in the ledger and returns its id; what went wrong before a run could
start (a missing connection, a bad write-back file) raises `OkrHubError`, and `runner` records it.
"""

from __future__ import annotations

from hub.errors import ConfigError
from hub.jobs.kr_updates import KrUpdateOptions, run_kr_updates
from hub.jobs.kr_updates.loading import load_mapping_set
from hub.jobs.org_sync import OrgSyncOptions, run_configured_org_sync
from hub.jobs.writeback import load_writeback_settings, run_configured_writeback
from hub.runtime import Runtime
from hub.scheduling.catalogue import ScheduledJob
from mappings.mapping_set import MappingSet


def execute(runtime: Runtime, job: ScheduledJob, *, trigger: str) -> int:
    """Run `job` once and return its run id in the ledger.

    Raises:
        OkrHubError: The job could not start (config, connector construction); no run was recorded.
    """
    if job.kind == "org_sync":
        return _org_sync(runtime, trigger)
    if job.kind == "metrics":
        return _metrics(runtime, job, trigger)
    return _writeback(runtime, job, trigger)


def _org_sync(runtime: Runtime, trigger: str) -> int:
    return run_configured_org_sync(runtime, OrgSyncOptions(trigger=trigger)).run_id


def _metrics(runtime: Runtime, job: ScheduledJob, trigger: str) -> int:
    wanted = set(job.mapping_ids)
    mappings = MappingSet(tuple(m for m in load_mapping_set(runtime.loaded) if m.id in wanted))
    missing = wanted - set(mappings.ids)
    if missing:
        raise ConfigError(
            f"job `{job.name}`: mapping(s) {', '.join(sorted(missing))} no longer exist; restart the "
            "scheduler or workers so they read the mapping files again"
        )
    return run_kr_updates(runtime, mappings, options=KrUpdateOptions(trigger=trigger)).run_id


def _writeback(runtime: Runtime, job: ScheduledJob, trigger: str) -> int:
    if job.settings_path is None:
        raise ConfigError(f"job `{job.name}` names no write-back config")
    settings = load_writeback_settings(job.settings_path)
    return run_configured_writeback(runtime, settings, trigger=trigger).run_id
