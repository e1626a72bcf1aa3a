"""The Salesforce connector wired to its emulator over real HTTPS on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.salesforce import SalesforceConnector
from connectors.salesforce.settings import SalesforceSettings
from hub.contracts import ConnectorContext
from hub.http.retry import RetrySettings
from hub.http.stats import CallStats
from hub.metrics import QueryRequest, SoqlQuery
from hub.testing.metric_conformance import MetricHarness
from sandbox.org import SyntheticOrg, generate_org
from sandbox.salesforce import SalesforceEmulator
from sandbox.server import ServerThread
from sandbox.tls import ServerTls, make_tls

CLIENT_ID = "okrhub-test-app"
CLIENT_SECRET = "sf-test-secret-8d1f2a"
REFRESH_TOKEN = "sf-test-refresh-5e7c90"
WRONG_REFRESH_TOKEN = "sf-wrong-refresh-0a4b2c"
CONNECTION = "crm-salesforce"
TODAY = date(2026, 11, 23)
FAST_RETRY = RetrySettings(
    max_attempts=4, max_wait_seconds=0.05, max_total_seconds=20, backoff_base_seconds=0.01
)
"""Short waits: Retry-After is honoured but capped at 50 ms, so retry tests run in milliseconds."""
QUERY_PATH = r"/services/data/v[0-9.]+/query"

MakeConnector = Callable[..., SalesforceConnector]


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> ServerTls:
    return make_tls(tmp_path_factory.mktemp("salesforce-tls"))


@pytest.fixture(scope="session")
def org() -> SyntheticOrg:
    return generate_org(500, seed=42)


@pytest.fixture
def emulator(org: SyntheticOrg) -> SalesforceEmulator:
    return SalesforceEmulator(
        org, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN, today=TODAY
    )


@pytest.fixture
def server(emulator: SalesforceEmulator, tls: ServerTls) -> Iterator[ServerThread]:
    with ServerThread(emulator, ssl_context=tls.context) as running:
        yield running


@pytest.fixture
def make_connector(server: ServerThread, tls: ServerTls) -> Iterator[MakeConnector]:
    """Build connectors against the running emulator; every one is closed after the test."""
    made: list[SalesforceConnector] = []

    def make(
        *,
        bad_credentials: bool = False,
        stats: CallStats | None = None,
        context_retry: RetrySettings | None = None,
        **settings: Any,
    ) -> SalesforceConnector:
        values: dict[str, Any] = {
            "base_url": server.url,
            "ca_bundle": tls.ca_pem,
            "retry": FAST_RETRY,
        }
        if settings.get("auth", "refresh_token") == "refresh_token":
            values |= {
                "client_id": CLIENT_ID,
                "client_secret": SecretStr(CLIENT_SECRET),
                "refresh_token": SecretStr(WRONG_REFRESH_TOKEN if bad_credentials else REFRESH_TOKEN),
            }
        config = SalesforceSettings(**(values | settings))
        context = ConnectorContext(
            connection=CONNECTION, stats=stats if stats is not None else CallStats(), retry=context_retry
        )
        connector = SalesforceConnector(config, context=context)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


def sellers(emulator: SalesforceEmulator, count: int) -> list[str]:
    """The user ids of the first `count` opportunity owners, in id order."""
    return sorted({str(o["OwnerId"]) for o in emulator.records("Opportunity")})[:count]


def won_by_owner(emulator: SalesforceEmulator, owners: list[str]) -> dict[str, float]:
    """SUM(Amount) of Closed Won opportunities per owner, from the emulator's own data."""
    totals: dict[str, float] = {}
    for opp in emulator.records("Opportunity"):
        if opp["StageName"] == "Closed Won" and opp["OwnerId"] in owners and opp["Amount"] is not None:
            totals[opp["OwnerId"]] = totals.get(opp["OwnerId"], 0.0) + opp["Amount"]
    return totals


def grouped_request(owners: list[str]) -> QueryRequest:
    ids = ", ".join(f"'{owner}'" for owner in owners)
    return QueryRequest(
        key="won_by_owner",
        query=SoqlQuery(
            soql=(
                "SELECT OwnerId, SUM(Amount) total FROM Opportunity "
                f"WHERE StageName = 'Closed Won' AND OwnerId IN ({ids}) GROUP BY OwnerId"
            ),
            value="total",
            group_by="OwnerId",
        ),
    )


@pytest.fixture
def metric_harness(make_connector: MakeConnector, emulator: SalesforceEmulator) -> MetricHarness:
    opportunities = emulator.records("Opportunity")
    assert len(opportunities) > 2000, "the paged request must span pages"
    owners = sellers(emulator, 12)
    return MetricHarness(
        make=make_connector,
        emulator=emulator,
        secrets=frozenset({CLIENT_SECRET, REFRESH_TOKEN, WRONG_REFRESH_TOKEN}),
        query_path=QUERY_PATH,
        paged=QueryRequest(
            key="pipeline", query=SoqlQuery(soql="SELECT Id, Amount FROM Opportunity", value="Amount")
        ),
        paged_expected=sum(o["Amount"] for o in opportunities if o["Amount"] is not None),
        grouped=grouped_request(owners),
        grouped_expected=won_by_owner(emulator, owners),
        rejected=QueryRequest(
            key="typo", query=SoqlQuery(soql="SELECT SUM(Amount) total FROM Opportunty", value="total")
        ),
    )
