"""What a worker process builds once and reuses for every task: runtime, job catalogue, locks.

Built lazily in the process that runs the task and keyed by its pid, so a pool child forked from
the worker never reuses its parent's store connections or Redis sockets. The catalogue is read
once: a worker picks up new or changed mapping files when it restarts.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import redis

from hub.config.models import WorkersSettings
from hub.runtime import Runtime, open_runtime
from hub.scheduling.catalogue import Catalogue, load_catalogue
from hub.scheduling.locks import JobLocks, RedisLocks, StoreLeases
from workers.settings import effective_settings

_REDIS_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerContext:
    """A worker process's runtime, catalogue, settings and the locks a task takes, in order."""

    runtime: Runtime
    catalogue: Catalogue
    settings: WorkersSettings
    locks: tuple[JobLocks, ...]


def worker_context(config_path: Path) -> WorkerContext:
    """This process's context for the config at `config_path`, built on first use.

    Raises:
        OkrHubError: The config, the mapping files or the store could not be opened (the next
            task tries again).
    """
    return _context(os.getpid(), config_path)


@functools.cache
def _context(pid: int, config_path: Path) -> WorkerContext:
    del pid  # only part of the cache key
    runtime = open_runtime(config_path)
    try:
        catalogue = load_catalogue(runtime.loaded)
        settings = effective_settings(runtime.loaded.config.workers)
    except BaseException:
        runtime.engine.dispose()
        raise
    ttl = timedelta(seconds=settings.lock_ttl_seconds)
    timeout = _REDIS_TIMEOUT_SECONDS
    client = redis.Redis.from_url(settings.broker_url, socket_connect_timeout=timeout, socket_timeout=timeout)
    # Redis first: a cheap answer for the common "already running" case before the store is touched.
    locks: tuple[JobLocks, ...] = (RedisLocks(client, ttl=ttl), StoreLeases(runtime.engine, ttl=ttl))
    return WorkerContext(runtime=runtime, catalogue=catalogue, settings=settings, locks=locks)
