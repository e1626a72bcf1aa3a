"""The workers' settings: `workers:` in the config, the environment over it, and Celery's names for them.

`OKRHUB_BROKER_URL` and `OKRHUB_RESULT_BACKEND` win over the file, so one config serves every
deployment and the broker's password stays out of YAML.

Example:
    ```python
    settings = effective_settings(loaded.config.workers)   # environment applied
    app.conf.update(celery_config(settings))
    ```
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hub.config.models import WorkersSettings
from hub.errors import ConfigError

BROKER_URL_ENV_VAR = "OKRHUB_BROKER_URL"
"""Environment variable holding the broker URL; wins over `workers.broker_url`."""
RESULT_BACKEND_ENV_VAR = "OKRHUB_RESULT_BACKEND"
"""Environment variable holding the result backend URL; wins over `workers.result_backend`."""
QUEUE = "okrhub"
"""The queue okrhub's tasks go to (and workers consume by default)."""
BEAT_SCHEDULER = "workers.beat:CatalogueScheduler"
"""The beat scheduler: entries come from the config's job catalogue, not from `beat_schedule`."""
CONFIG_PATH_KEY = "okrhub_config_path"
"""Key in the Celery app's conf naming the config file the app (and its tasks) were built from."""

_REDIS_SCHEMES = ("redis", "rediss")
_SOCKET_TIMEOUT_SECONDS = 5.0
_MAX_RESTORE_INTERVAL_SECONDS = 10


def effective_settings(settings: WorkersSettings, env: Mapping[str, str] | None = None) -> WorkersSettings:
    """`settings` with the broker and result backend URLs from the environment, when set.

    Raises:
        ConfigError: A URL is not a Redis URL.
    """
    environ = os.environ if env is None else env
    updates = {
        field: environ[name]
        for field, name in (("broker_url", BROKER_URL_ENV_VAR), ("result_backend", RESULT_BACKEND_ENV_VAR))
        if environ.get(name)
    }
    merged = settings.model_copy(update=updates) if updates else settings
    _require_redis("broker_url", BROKER_URL_ENV_VAR, merged.broker_url)
    if merged.result_backend is not None:
        _require_redis("result_backend", RESULT_BACKEND_ENV_VAR, merged.result_backend)
    return merged


def soft_time_limit(hard_seconds: int) -> int:
    """The soft limit: a minute (at most a tenth) before the hard one, so the run can record its end."""
    return max(hard_seconds - 60, int(hard_seconds * 0.9))


def celery_config(settings: WorkersSettings) -> dict[str, Any]:
    """Celery settings that make a task safe to lose: late acks, one task per process, time limits.

    A task is acknowledged only once it has finished, so a worker killed mid-task leaves its
    message unacknowledged and Redis hands it to another worker once `visibility_timeout` has
    passed; a pool child that dies has its message requeued at once (`task_reject_on_worker_lost`).
    An unreachable broker at startup fails at once instead of retrying quietly.
    """
    visibility = settings.visibility_timeout_seconds
    transport: dict[str, Any] = {
        "visibility_timeout": visibility,
        # Look for abandoned messages often enough that one is handed out soon after it is due.
        "unacked_restore_interval": max(1, min(_MAX_RESTORE_INTERVAL_SECONDS, visibility // 10)),
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": _SOCKET_TIMEOUT_SECONDS,
    }
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend or settings.broker_url,
        "broker_transport_options": transport,
        "redis_socket_connect_timeout": _SOCKET_TIMEOUT_SECONDS,
        "broker_connection_retry_on_startup": False,
        "broker_connection_retry": True,
        # After a connection loss the running task finishes; Redis hands its message out again,
        # and that copy finds the job's lock held (see workers.tasks).
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A task redelivered after it had finished (its worker died before the ack) is not run again.
        "worker_deduplicate_successful_tasks": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": settings.task_time_limit_seconds,
        "task_soft_time_limit": soft_time_limit(settings.task_time_limit_seconds),
        "task_default_queue": QUEUE,
        "task_track_started": True,
        "worker_hijack_root_logger": False,
        "enable_utc": True,
        "timezone": "UTC",
        "beat_scheduler": BEAT_SCHEDULER,
    }


def mask_url(url: str) -> str:
    """`url` with any password replaced by `***`, safe to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def url_password(url: str) -> str | None:
    """The password in `url`, if any (for the log redaction filter)."""
    return urlsplit(url).password


def _require_redis(field: str, env_var: str, url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in _REDIS_SCHEMES:
        raise ConfigError(
            f"`{mask_url(url)}` is not a Redis URL; okrhub's workers use Redis: set {env_var} or "
            f"`workers.{field}` to redis://HOST:6379/0 (rediss:// for TLS)",
            field=f"workers.{field}",
        )
