"""Celery workers and beat on Redis: thin wrappers over the hub's scheduled jobs.

```
app.py        the Celery app, built from the config and OKRHUB_BROKER_URL / OKRHUB_RESULT_BACKEND
settings.py   the workers' settings as Celery settings (late acks, time limits, visibility timeout)
tasks.py      okrhub.run_job(job_name): hub.scheduling.runner.run_job with the Redis and store locks
retry.py      when a task runs again: transient failures with backoff; redelivered tasks whose job is held
context.py    the runtime, catalogue and locks each worker process builds once
beat.py       beat's schedule from the job catalogue, each job's cron read in its own time zone
signals.py    okrhub's logging in workers; abandoned runs closed when a worker starts
```

`celery -A workers.app worker` and `okrhub worker` run the same app.
"""

from workers.app import create_app
from workers.tasks import TASK_NAME

__all__ = ["TASK_NAME", "create_app"]
