"""The ratings write-back job: finalized ratings to the HCM through an outbox, exactly once."""

from hub.jobs.writeback.configured import run_configured_writeback
from hub.jobs.writeback.reconcile import ReconcileResult, reconcile
from hub.jobs.writeback.run import WritebackResult, run_writeback
from hub.jobs.writeback.settings import WritebackSettings, load_writeback_settings

__all__ = [
    "ReconcileResult",
    "WritebackResult",
    "WritebackSettings",
    "load_writeback_settings",
    "reconcile",
    "run_configured_writeback",
    "run_writeback",
]
