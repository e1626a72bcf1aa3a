"""The Celery app, built from the config file and the environment.

`celery -A workers.app worker` finds `app` here: it is built on first use from `$OKRHUB_CONFIG`
(else `./config/hub.yaml`), so importing this module reads nothing. `okrhub worker`, `okrhub beat`
and `okrhub jobs trigger` call `create_app` with the config they were given.

Example:
    ```python
    app = create_app(Path("config/hub.yaml"))
    app.send_task(TASK_NAME, args=["org_sync"])   # workers.tasks.TASK_NAME
    ```
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import redis
from celery import Celery

from hub.config.loader import LoadedConfig, load_config
from hub.config.paths import default_config_path
from hub.errors import OkrHubError
from hub.runtime import install_redaction
from workers.settings import (
    BROKER_URL_ENV_VAR,
    CONFIG_PATH_KEY,
    celery_config,
    effective_settings,
    mask_url,
    url_password,
)
from workers.signals import connect_signals

_PING_TIMEOUT_SECONDS = 3.0


class BrokerUnreachable(OkrHubError):
    """The Redis broker did not answer; nothing was started or sent."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the Redis broker at `{mask_url(url)}`: {reason}; start Redis or set "
            f"{BROKER_URL_ENV_VAR} / `workers.broker_url` to a Redis that is running"
        )
        self.url = mask_url(url)
        self.reason = reason


def create_app(
    config_path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    loaded: LoadedConfig | None = None,
) -> Celery:
    """A Celery app for the config at `config_path` (default: `$OKRHUB_CONFIG` or `./config/hub.yaml`).

    Args:
        config_path: The config file; its `workers:` section and the environment set the broker.
        env: Environment to read; `os.environ` when None.
        loaded: The config, when the caller has loaded it already.

    Raises:
        ConfigErrors: The config file is wrong.
        ConfigError: The broker or result backend URL is not a Redis URL.
    """
    if loaded is None:
        loaded = load_config(config_path or default_config_path(env), env=env)
    settings = effective_settings(loaded.config.workers, env)
    passwords = (url_password(settings.broker_url), url_password(settings.result_backend or ""))
    install_redaction(frozenset(p for p in passwords if p))
    app = Celery("okrhub", include=["workers.tasks"])
    app.conf.update(celery_config(settings))
    app.conf[CONFIG_PATH_KEY] = str(loaded.path.resolve())
    connect_signals()
    return app


def ping_broker(broker_url: str, *, timeout: float = _PING_TIMEOUT_SECONDS) -> None:
    """Prove the Redis broker answers, within `timeout` seconds.

    Raises:
        BrokerUnreachable: It does not; the message names the URL (no password) and the fix.
    """
    client = redis.Redis.from_url(broker_url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise BrokerUnreachable(broker_url, str(exc).rstrip(". ") or type(exc).__name__) from exc
    finally:
        client.close()


@functools.cache
def default_app() -> Celery:
    """The app `celery -A workers.app` uses, built once from `$OKRHUB_CONFIG`."""
    return create_app()


def __getattr__(name: str) -> Celery:
    # Celery's `-A workers.app` looks up `app` (or `celery`) on this module: build it then, not at import.
    if name in ("app", "celery"):
        return default_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
