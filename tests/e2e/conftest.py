"""A running sandbox, a config file pointing at it, and a runtime with a real store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.runtime import Runtime, open_runtime
from sandbox.harness import Sandbox
from sandbox.org import SyntheticOrg, generate_org

CONFIG = """\
version: 1
connections:
  bamboohr:
    type: bamboohr
    base_url: {bamboohr}
    api_key: ${{BAMBOOHR_API_KEY}}
    timeout_seconds: 2
    retry: {{max_attempts: 4, backoff_base_seconds: 0.01, max_wait_seconds: 0.2}}
  workday:
    type: workday
    base_url: {workday}
    tenant: acme
    client_id: okrhub-sandbox
    client_secret: ${{WORKDAY_CLIENT_SECRET}}
    refresh_token: ${{WORKDAY_REFRESH_TOKEN}}
    report_owner: isu_okrhub
    report_name: okrhub_workers
    timeout_seconds: 2
    retry: {{max_attempts: 4, backoff_base_seconds: 0.01, max_wait_seconds: 0.2}}
org_sync:
  connection: {connection}
  identities: {identities}
"""

IDENTITIES = {
    "bamboohr": "{salesforce: customSalesforceUserId, jira: customJiraAccountId}",
    "workday": "{salesforce: Salesforce_User_ID, jira: Jira_Account_ID}",
}


@pytest.fixture
def org() -> SyntheticOrg:
    return generate_org(400, seed=5)


@pytest.fixture
def sandbox(org: SyntheticOrg) -> Iterator[Sandbox]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with Sandbox(org) as running:
        yield running


@pytest.fixture
def write_config(sandbox: Sandbox, tmp_path: Path):
    def write(connection: str = "bamboohr") -> Path:
        path = tmp_path / "hub.yaml"
        path.write_text(
            CONFIG.format(
                bamboohr=sandbox.bamboohr_url,
                workday=sandbox.workday_url,
                connection=connection,
                identities=IDENTITIES[connection],
            )
        )
        return path

    return write


@pytest.fixture
def env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in sandbox.credentials().items():
        monkeypatch.setenv(name, value)
    return sandbox.credentials()


@pytest.fixture(params=["bamboohr", "workday"])
def runtime(request, write_config, env, store_url: str) -> Iterator[Runtime]:
    rt = open_runtime(write_config(request.param), database_url=store_url)
    try:
        yield rt
    finally:
        rt.engine.dispose()
