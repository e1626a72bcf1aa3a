"""The org sync the config describes: what `okrhub sync org`, the scheduler and the workers run."""

from __future__ import annotations

from collections.abc import Callable

from hub.contracts import Capability
from hub.errors import ConfigError
from hub.http.stats import CallStats
from hub.jobs.org_sync.run import OrgSyncOptions, OrgSyncResult, run_org_sync
from hub.runtime import Runtime


def run_configured_org_sync(
    runtime: Runtime,
    options: OrgSyncOptions | None = None,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> OrgSyncResult:
    """Sync from the `org_sync` section's connection, with its settings; records the run.

    Raises:
        ConfigError: The config has no `org_sync` section, or its connection cannot be built.
    """
    settings = runtime.loaded.config.org_sync
    if settings is None:
        raise ConfigError(
            "no `org_sync` section: add one naming the HCM connection to sync from",
            file=str(runtime.loaded.path),
        )
    options = options or OrgSyncOptions()
    stats = CallStats()
    with runtime.connector(settings.connection, stats, capability=Capability.ORG_SOURCE) as source:
        return run_org_sync(
            runtime.engine,
            connection=settings.connection,
            source=source,
            settings=settings,
            stats=stats,
            options=options,
            on_progress=on_progress,
        )
