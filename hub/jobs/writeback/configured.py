"""The write-back a settings file describes, on its connection: what the CLI and schedulers run."""

from __future__ import annotations

from hub.contracts import Capability
from hub.http.stats import CallStats
from hub.jobs.writeback.run import WritebackResult, run_writeback
from hub.jobs.writeback.settings import WritebackSettings
from hub.runtime import Runtime


def run_configured_writeback(
    runtime: Runtime, settings: WritebackSettings, *, dry_run: bool = False, trigger: str = "cli"
) -> WritebackResult:
    """Send `settings`' finalized ratings through its connection; records the run.

    Raises:
        ConfigError: The connection is missing or cannot take rating writes.
    """
    stats = CallStats()
    with runtime.connector(settings.connection, stats, capability=Capability.RATING_SINK) as sink:
        return run_writeback(runtime.engine, sink, settings, stats=stats, dry_run=dry_run, trigger=trigger)
