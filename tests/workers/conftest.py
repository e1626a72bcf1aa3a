"""Real Celery workers in subprocesses, on the real Redis (db 5) and a PostgreSQL schema shared with them.

The BambooHR emulator runs in this test process; workers reach it over HTTP. Every worker is
started in its own process group and killed (the whole group) when the test ends.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, func, select

from hub.store.ledger import RunLedger, RunSummary
from hub.store.migrate import open_store
from hub.store.models import Person
from hub.store.testing import postgres_test_url, temporary_postgres_schema
from sandbox.harness import Sandbox
from sandbox.org import SyntheticOrg, generate_org
from workers.app import create_app

REDIS_DB = 5
"""The Redis database these tests own: flushed before and after each test, nothing else touched."""
BROKER_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
ORG_SIZE = 120

CONFIG = """\
version: 1
connections:
  bamboohr:
    type: bamboohr
    base_url: {bamboohr}
    api_key: ${{BAMBOOHR_API_KEY}}
    timeout_seconds: 30
    retry: {{max_attempts: 2, backoff_base_seconds: 0.01, max_wait_seconds: 0.05}}
org_sync:
  connection: bamboohr
jobs:
  org_sync: {{cron: "0 2 * * *", timezone: Europe/Berlin}}
workers:
  broker_url: redis://127.0.0.1:1/0
  task_time_limit_seconds: 10
  lock_ttl_seconds: 5
  max_retries: 2
  retry_backoff_seconds: 1
  visibility_timeout_seconds: 12
"""
"""The broker in the file is a closed port: OKRHUB_BROKER_URL must win over it."""


def wait_until(predicate: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll `predicate` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Hub:
    """A config, its store, the emulator, the test's own Celery app and the workers started."""

    config: Path
    env: dict[str, str]
    engine: Engine
    redis: redis.Redis
    sandbox: Sandbox
    org: SyntheticOrg
    app: Any
    logs: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self, name: str, *, concurrency: int = 2) -> subprocess.Popen[bytes]:
        """`celery -A workers.app worker` (prefork) in a new process group; its log goes to a file."""
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.app",
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            f"--hostname={name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ]
        return self._spawn(command, name)

    def start_okrhub_worker(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        """`okrhub worker` in a new process group."""
        return self.start_okrhub(name, "worker", f"--hostname={name}@%h", "--concurrency=2", *extra)

    def start_okrhub(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """`okrhub ARGS...` (a long-running command) in a new process group."""
        return self._spawn([sys.executable, "-m", "hub.cli", *args], name)

    def _spawn(self, command: list[str], name: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.logs
        )
        log.close()
        self.workers.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker's whole process group (main process and pool children)."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        _wait_group_gone(process.pid)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def people(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Person)).scalar_one())

    def runs(self, job: str = "org_sync") -> list[RunSummary]:
        """The job's runs, oldest first."""
        return list(reversed(RunLedger(self.engine).recent(job=job, limit=100)))


def _wait_group_gone(pgid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    """Redis db 5, empty; the test fails (never skips) when Redis is down."""
    client = redis.Redis.from_url(BROKER_URL)
    client.ping()
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def org() -> SyntheticOrg:
    return generate_org(ORG_SIZE, seed=17)


@pytest.fixture
def sandbox(org: SyntheticOrg) -> Iterator[Sandbox]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with Sandbox(org) as running:
        yield running


@pytest.fixture
def store_url() -> Iterator[str]:
    """A PostgreSQL schema of its own, shared by this process and the workers."""
    with temporary_postgres_schema(postgres_test_url()) as url:
        yield url


@pytest.fixture
def hub(
    redis_db: redis.Redis,
    sandbox: Sandbox,
    org: SyntheticOrg,
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[Hub]:
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG.format(bamboohr=sandbox.bamboohr_url))
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OKRHUB_")}
    env = {
        **inherited,
        **sandbox.credentials(),
        "OKRHUB_CONFIG": str(config),
        "OKRHUB_DATABASE_URL": store_url,
        "OKRHUB_BROKER_URL": BROKER_URL,
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("OKRHUB_CONFIG", "OKRHUB_DATABASE_URL", "OKRHUB_BROKER_URL", *sandbox.credentials()):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("OKRHUB_RESULT_BACKEND", raising=False)
    logs = tmp_path / "logs"
    logs.mkdir()
    engine = open_store(store_url)
    app = create_app(config)
    running = Hub(
        config=config, env=env, engine=engine, redis=redis_db, sandbox=sandbox, org=org, app=app, logs=logs
    )
    try:
        yield running
    finally:
        for process in running.workers:
            running.kill(process)
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for path in sorted(logs.glob("*.log")):
                sys.stderr.write(f"\n----- {path.name} -----\n{path.read_text(errors='replace')[-8000:]}\n")
        app.close()
        engine.dispose()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Keep the call's report on the item, so the `hub` fixture can show the workers' logs on failure.
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
