"""Scheduling: which jobs run when, one at a time, in the embedded scheduler or on Celery workers.

```
catalogue.py   the scheduled jobs the config and YAML files define (org sync, metric groups, write-back)
cron.py        next fire times of a cron expression in its time zone
locks.py       leases so two runs of one job never overlap (store lease; Redis lock for workers)
execute.py     run one job's hub function and read its outcome back from the ledger
runner.py      lock, recover a dead holder's run, execute, record: what every mode calls
state.py       each job's last outcome (the `job_state` table)
status.py      next run and last outcome of every job, for `okrhub status`
embedded.py    the in-process scheduler of `okrhub run`
metrics.py     Prometheus metrics read from the run ledger
```
"""

from hub.scheduling.catalogue import ScheduledJob, load_catalogue
from hub.scheduling.runner import JobReport, run_job

__all__ = ["JobReport", "ScheduledJob", "load_catalogue", "run_job"]
