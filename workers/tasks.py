"""The one Celery task, `okrhub.run_job`: run a scheduled job by name, as the embedded scheduler does.

It is a thin wrapper over `hub.scheduling.runner.run_job` with the Redis lock and the store lease,
trigger `worker`. What it adds is when to try again (see `workers.retry`): a transient failure
is retried with backoff, and a redelivered task whose job is held is postponed, not dropped.

Delivery is at least once (late acks): a task may run again after its worker died, or after it
finished but before its acknowledgement reached Redis. That is safe because every job is
idempotent and the locks keep two copies from overlapping.

Example:
    ```python
    app.send_task("okrhub.run_job", args=["org_sync"])   # what beat and `okrhub jobs trigger` send
    ```
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import Task, shared_task

from hub.config.paths import default_config_path
from hub.scheduling.runner import run_job
from workers.context import worker_context
from workers.retry import retry_delay
from workers.settings import CONFIG_PATH_KEY

logger = logging.getLogger(__name__)

TASK_NAME = "okrhub.run_job"
"""The one task's name: what beat and `okrhub jobs trigger` send, with the job's catalogue name."""


@shared_task(bind=True, name=TASK_NAME, max_retries=None)  # type: ignore[untyped-decorator]
def run_job_task(self: Task, job_name: str) -> dict[str, Any]:
    """Run the scheduled job `job_name` once and return its report.

    Raises:
        ConfigError: No job has that name, or the config cannot be loaded (not retried).
        Retry: The job failed transiently, or is held while this task is a redelivery.
    """
    configured = self.app.conf.get(CONFIG_PATH_KEY)
    context = worker_context(Path(configured) if configured else default_config_path())
    job = context.catalogue.get(job_name)
    report = run_job(context.runtime, job, trigger="worker", locks=context.locks)
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    retries = self.request.retries
    delay = retry_delay(report, redelivered=redelivered, retries=retries, settings=context.settings)
    if delay is not None:
        why = "was redelivered and its job is held" if report.status == "skipped" else "failed transiently"
        logger.warning(
            "job `%s` %s (run %s: %s); trying again in %.0f s (retry %d)",
            job_name,
            why,
            report.run_id,
            report.summary,
            delay,
            retries + 1,
        )
        raise self.retry(countdown=delay)
    return report.to_dict()
