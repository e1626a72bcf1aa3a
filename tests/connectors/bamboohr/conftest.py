"""The BambooHR connector wired to its emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.bamboohr import BambooHRConnector
from connectors.bamboohr.settings import BambooHRSettings
from hub.contracts import ConnectorContext
from hub.http.retry import RetrySettings
from hub.http.stats import CallStats
from hub.testing.harness import Harness
from sandbox.bamboohr import BambooHREmulator
from sandbox.org import SyntheticOrg, generate_org
from sandbox.server import ServerThread

API_KEY = "bh-test-key-5c1e9a7d"
WRONG_KEY = "bh-wrong-key-0b2f4e61"
COMPANY = "acme"
CONNECTION = "hr-bamboo"
FAST_RETRY = RetrySettings(
    max_attempts=4, max_wait_seconds=0.05, max_total_seconds=20, backoff_base_seconds=0.01
)
"""Short waits: Retry-After is honoured but capped at 50 ms, so retry tests run in milliseconds."""

MakeConnector = Callable[..., BambooHRConnector]


@pytest.fixture
def org() -> SyntheticOrg:
    return generate_org(300, seed=20261123)


@pytest.fixture
def emulator(org: SyntheticOrg) -> BambooHREmulator:
    return BambooHREmulator(org, company=COMPANY, api_key=API_KEY)


@pytest.fixture
def server(emulator: BambooHREmulator) -> Iterator[ServerThread]:
    with ServerThread(emulator) as running:
        yield running


@pytest.fixture
def base_url(server: ServerThread) -> str:
    return f"{server.url}/api/gateway.php/{COMPANY}/v1"


@pytest.fixture
def make_connector(base_url: str) -> Iterator[MakeConnector]:
    """Build connectors against the running emulator; every one is closed after the test."""
    made: list[BambooHRConnector] = []

    def make(
        *,
        bad_credentials: bool = False,
        stats: CallStats | None = None,
        context_retry: RetrySettings | None = None,
        **settings: Any,
    ) -> BambooHRConnector:
        config = BambooHRSettings(
            base_url=settings.pop("base_url", base_url),
            api_key=SecretStr(WRONG_KEY if bad_credentials else API_KEY),
            retry=FAST_RETRY,
            **settings,
        )
        context = ConnectorContext(
            connection=CONNECTION,
            stats=stats if stats is not None else CallStats(),
            retry=context_retry,
        )
        connector = BambooHRConnector(config, context=context)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


@pytest.fixture
def harness(make_connector: MakeConnector, emulator: BambooHREmulator, org: SyntheticOrg) -> Harness:
    return Harness(
        make=make_connector,
        emulator=emulator,
        org=org,
        secrets=frozenset({API_KEY, WRONG_KEY}),
        people_path="reports/custom",
    )
