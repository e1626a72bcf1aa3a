"""The key-result update job: run metric mappings and check in what changed."""

from hub.jobs.kr_updates.loading import load_mapping_set
from hub.jobs.kr_updates.run import KrUpdateOptions, KrUpdateResult, run_kr_updates

__all__ = ["KrUpdateOptions", "KrUpdateResult", "load_mapping_set", "run_kr_updates"]
