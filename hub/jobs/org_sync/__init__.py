"""The org sync job: people, reporting lines and departments from an HCM into the store."""

from hub.jobs.org_sync.configured import run_configured_org_sync
from hub.jobs.org_sync.run import OrgSyncOptions, OrgSyncResult, run_org_sync

__all__ = ["OrgSyncOptions", "OrgSyncResult", "run_configured_org_sync", "run_org_sync"]
