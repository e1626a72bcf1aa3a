"""What a worker does around its tasks: okrhub's logging, and closing runs a dead worker left open.

Celery's own logging setup is replaced by okrhub's (stderr, secrets masked). When a worker is
ready it marks runs still `running` well past the task time limit as abandoned: no task can run
that long, so their process died (a SIGKILL, a lost host) before recording an outcome.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import signals

from hub.errors import OkrHubError
from hub.runtime import configure_logging, open_runtime
from hub.store.ledger import RunLedger
from workers.settings import CONFIG_PATH_KEY

logger = logging.getLogger(__name__)

RECOVERY_MARGIN = timedelta(minutes=5)
"""How far past the task time limit a `running` run must be before a starting worker closes it."""


def connect_signals() -> None:
    """Connect the handlers (idempotent: each has a `dispatch_uid`)."""
    signals.setup_logging.connect(_setup_logging, weak=False, dispatch_uid="okrhub.setup_logging")
    signals.worker_ready.connect(_recover_abandoned, weak=False, dispatch_uid="okrhub.recover_abandoned")


def recover_abandoned_runs(config_path: Path, time_limit_seconds: int) -> int:
    """Close runs still `running` longer than the time limit plus `RECOVERY_MARGIN`; how many were.

    Raises:
        OkrHubError: The config or the store could not be opened.
    """
    runtime = open_runtime(config_path)
    try:
        older_than = timedelta(seconds=time_limit_seconds) + RECOVERY_MARGIN
        return RunLedger(runtime.engine).recover_abandoned(older_than)
    finally:
        # This runs in the worker's main process, which forks pool children: leave no connection open.
        runtime.engine.dispose()


def _setup_logging(loglevel: int | str | None = None, **_kwargs: Any) -> None:
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else (loglevel or "INFO")
    configure_logging(str(level))


def _recover_abandoned(sender: Any = None, **_kwargs: Any) -> None:
    app = sender.app
    path = app.conf.get(CONFIG_PATH_KEY)
    if not path:
        return
    try:
        closed = recover_abandoned_runs(Path(path), int(app.conf.task_time_limit))
    except OkrHubError as exc:
        logger.error("could not close abandoned runs at worker start: %s", exc)  # noqa: TRY400 - no trace needed
        return
    if closed:
        logger.warning("closed %d run(s) abandoned by a worker that died", closed)
