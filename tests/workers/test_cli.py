"""`okrhub worker`, `okrhub beat` and `okrhub jobs trigger` as an admin runs them, in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ORG_SIZE, Hub, free_port, wait_until

OFFLINE_CONFIG = """\
version: 1
connections:
  hr: {type: bamboohr, base_url: 'http://127.0.0.1:9/api/gateway.php/acme/v1', api_key: '${BAMBOOHR_API_KEY}'}
org_sync: {connection: hr}
"""


def okrhub(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def closed_broker_env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "hub.yaml"
    config.write_text(OFFLINE_CONFIG)
    return {
        **os.environ,
        "BAMBOOHR_API_KEY": "k",
        "OKRHUB_CONFIG": str(config),
        "OKRHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'okrhub.db'}",
        "OKRHUB_BROKER_URL": f"redis://:s3cret-pw@127.0.0.1:{free_port()}/5",
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "command", [["worker"], ["beat"], ["jobs", "trigger", "org_sync"]], ids=["worker", "beat", "trigger"]
)
def test_an_unreachable_broker_fails_fast_with_what_to_do(
    command: list[str], closed_broker_env: dict[str, str]
) -> None:
    started = time.monotonic()
    done = okrhub(*command, env=closed_broker_env)

    assert time.monotonic() - started < 15
    assert done.returncode == 1
    port = closed_broker_env["OKRHUB_BROKER_URL"].rsplit(":", 1)[1].split("/")[0]
    assert f"cannot reach the Redis broker at `redis://:***@127.0.0.1:{port}/5`" in done.stderr
    assert "start Redis or set OKRHUB_BROKER_URL / `workers.broker_url`" in done.stderr
    assert "s3cret-pw" not in done.stderr + done.stdout


@pytest.mark.slow
def test_trigger_reports_an_unreachable_broker_as_json(closed_broker_env: dict[str, str]) -> None:
    done = okrhub("jobs", "trigger", "org_sync", "--json", env=closed_broker_env)
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "BrokerUnreachable"
    assert "s3cret-pw" not in done.stdout


@pytest.mark.slow
def test_celery_itself_stops_at_once_on_an_unreachable_broker(closed_broker_env: dict[str, str]) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--concurrency=1"],
        env=closed_broker_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert time.monotonic() - started < 20
    assert done.returncode != 0
    assert "broker_connection_retry_on_startup=False" in done.stderr


def test_an_unknown_job_is_a_configuration_error_listing_the_jobs(closed_broker_env: dict[str, str]) -> None:
    done = okrhub("jobs", "trigger", "org_sink", env=closed_broker_env)
    assert done.returncode == 2
    assert "no scheduled job `org_sink`; jobs: org_sync" in done.stderr


def test_a_broker_url_that_is_not_redis_is_a_configuration_error(closed_broker_env: dict[str, str]) -> None:
    env = {**closed_broker_env, "OKRHUB_BROKER_URL": "amqp://guest@127.0.0.1//"}
    done = okrhub("worker", env=env)
    assert done.returncode == 2
    assert "is not a Redis URL" in done.stderr
    assert "OKRHUB_BROKER_URL" in done.stderr


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
def test_trigger_waits_for_the_run_and_the_worker_serves_its_metrics(hub: Hub) -> None:
    port = free_port()
    hub.start_okrhub_worker("cli", f"--metrics-port={port}", "--metrics-addr=127.0.0.1")

    done = okrhub("jobs", "trigger", "org_sync", "--wait", "30", "--json", env=hub.env)

    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["ok"]
    assert answer["job"] == "org_sync"
    assert answer["report"]["status"] == "succeeded"
    assert hub.people() == ORG_SIZE

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    metrics = wait_until(lambda: _try(scrape), timeout=10, what="the metrics endpoint")
    assert 'okrhub_runs_total{job="org_sync",status="succeeded"} 1.0' in metrics
    assert "okrhub_ledger_up 1.0" in metrics
    assert 'okrhub_last_success_timestamp_seconds{job="org_sync"}' in metrics


@pytest.mark.redis
@pytest.mark.postgres
def test_trigger_without_wait_prints_the_task_it_queued(hub: Hub) -> None:
    done = okrhub("jobs", "trigger", "org_sync", env=hub.env)
    assert done.returncode == 0, done.stderr
    assert "queued `org_sync` as task " in done.stdout
    assert hub.redis.llen("okrhub") == 1  # waiting in the queue: no worker runs


def _try(scrape: Callable[[], str]) -> str | None:
    try:
        return scrape()
    except OSError:
        return None
