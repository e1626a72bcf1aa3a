"""Fixtures: a synthetic org served by the Workday emulator, and connectors built against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.workday import WorkdayConnector
from connectors.workday.settings import WorkdaySettings
from hub.contracts import ConnectorContext
from hub.http.retry import RetrySettings
from hub.http.stats import CallStats
from hub.testing.harness import Harness
from sandbox.org import SyntheticOrg, generate_org
from sandbox.server import ServerThread
from sandbox.workday import WorkdayEmulator

CLIENT_ID = "okrhub-sandbox"
CLIENT_SECRET = "sandbox-workday-secret"
REFRESH_TOKEN = "sandbox-workday-refresh"
FAST_RETRY = RetrySettings(
    max_attempts=4, backoff_base_seconds=0.01, max_wait_seconds=1.0, max_total_seconds=30
)
ORG_SIZE = 250


@pytest.fixture
def org() -> SyntheticOrg:
    return generate_org(ORG_SIZE, seed=11)


@pytest.fixture
def emulator(org: SyntheticOrg) -> WorkdayEmulator:
    return WorkdayEmulator(org)


@pytest.fixture
def server(emulator: WorkdayEmulator) -> Iterator[ServerThread]:
    with ServerThread(emulator) as running:
        yield running


@pytest.fixture
def make_settings(server: ServerThread) -> Callable[..., WorkdaySettings]:
    def make(**overrides: Any) -> WorkdaySettings:
        values: dict[str, Any] = {
            "base_url": server.url,
            "tenant": "acme",
            "client_id": CLIENT_ID,
            "client_secret": SecretStr(CLIENT_SECRET),
            "refresh_token": SecretStr(REFRESH_TOKEN),
            "report_owner": "isu_okrhub",
            "report_name": "okrhub_workers",
            "retry": FAST_RETRY,
        }
        values.update(overrides)
        return WorkdaySettings(**values)

    return make


@pytest.fixture
def make_connector(
    make_settings: Callable[..., WorkdaySettings],
) -> Iterator[Callable[..., WorkdayConnector]]:
    built: list[WorkdayConnector] = []

    def make(*, stats: CallStats | None = None, **overrides: Any) -> WorkdayConnector:
        settings = make_settings(**overrides)
        context = ConnectorContext(connection="hcm", stats=stats or CallStats())
        connector = WorkdayConnector(settings, context=context)
        built.append(connector)
        return connector

    yield make
    for connector in built:
        connector.close()


@pytest.fixture
def harness(
    make_connector: Callable[..., WorkdayConnector], emulator: WorkdayEmulator, org: SyntheticOrg
) -> Harness:
    def make(bad_credentials: bool = False, stats: CallStats | None = None) -> WorkdayConnector:
        if bad_credentials:
            return make_connector(stats=stats, refresh_token=SecretStr("revoked-refresh-token"))
        return make_connector(stats=stats)

    return Harness(
        make=make,
        emulator=emulator,
        org=org,
        secrets=frozenset({CLIENT_SECRET, REFRESH_TOKEN}),
        people_path="customreport2",
    )
