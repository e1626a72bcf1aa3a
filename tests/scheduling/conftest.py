"""A BambooHR emulator, a config whose jobs are scheduled, and a runtime on a real store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.runtime import Runtime, open_runtime
from sandbox.harness import Sandbox
from sandbox.org import generate_org

CONFIG = """\
version: 1
connections:
  bamboohr:
    type: bamboohr
    base_url: {bamboohr}
    api_key: ${{BAMBOOHR_API_KEY}}
    timeout_seconds: 2
    retry: {{max_attempts: 2, backoff_base_seconds: 0.01, max_wait_seconds: 0.05}}
org_sync:
  connection: bamboohr
jobs:
  org_sync: {{cron: "{cron}", timezone: {timezone}}}
"""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with Sandbox(generate_org(60, seed=3)) as running:
        yield running


@pytest.fixture
def write_config(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    for name, value in sandbox.credentials().items():
        monkeypatch.setenv(name, value)

    def write(cron: str = "0 2 * * *", timezone: str = "UTC", extra: str = "") -> Path:
        path = tmp_path / "hub.yaml"
        path.write_text(CONFIG.format(bamboohr=sandbox.bamboohr_url, cron=cron, timezone=timezone) + extra)
        return path

    return write


@pytest.fixture
def runtime(write_config: Callable[..., Path], store_url: str) -> Iterator[Runtime]:
    rt = open_runtime(write_config(), database_url=store_url)
    try:
        yield rt
    finally:
        rt.engine.dispose()
