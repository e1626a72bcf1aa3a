"""The GA4 connector wired to its emulator over real HTTP on 127.0.0.1, with a throwaway key."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from connectors.google_analytics import GoogleAnalyticsConnector
from connectors.google_analytics.settings import GoogleAnalyticsSettings
from hub.contracts import ConnectorContext
from hub.http.retry import RetrySettings
from hub.http.stats import CallStats
from hub.metrics import Ga4Query, QueryRequest, TimeWindow
from hub.testing.metric_conformance import MetricHarness
from sandbox.ga4 import OWNER_DIMENSION, Ga4Emulator, Ga4Fact
from sandbox.org import SyntheticOrg, generate_org
from sandbox.server import ServerThread

SA_EMAIL = "okrhub@acme-analytics.iam.gserviceaccount.com"
PROPERTY_A = "123456789"
PROPERTY_B = "987654321"
CONNECTION = "web-analytics"
YEAR = TimeWindow(date(2026, 1, 1), date(2026, 12, 31))
SPRING = TimeWindow(date(2026, 3, 1), date(2026, 6, 30))
PAGE_SIZE = 50
FAST_RETRY = RetrySettings(
    max_attempts=4, max_wait_seconds=0.05, max_total_seconds=20, backoff_base_seconds=0.01
)
"""Short waits: Retry-After is honoured but capped at 50 ms, so retry tests run in milliseconds."""

MakeConnector = Callable[..., GoogleAnalyticsConnector]


@dataclass(frozen=True)
class ServiceAccountKey:
    """A throwaway service-account JSON key and the public half the emulator verifies with."""

    info: dict[str, str]
    public_pem: bytes

    @property
    def json(self) -> str:
        return json.dumps(self.info)

    @property
    def private_key(self) -> str:
        return self.info["private_key"]


def make_key(email: str, key_id: str) -> ServiceAccountKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = {
        "type": "service_account",
        "project_id": "acme-analytics",
        "private_key_id": key_id,
        "private_key": private_pem,
        "client_email": email,
        "client_id": "108364019273645102837",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "universe_domain": "googleapis.com",
    }
    return ServiceAccountKey(info=info, public_pem=public_pem)


@pytest.fixture(scope="session")
def good_key() -> ServiceAccountKey:
    return make_key(SA_EMAIL, "3f1c0d9a8b7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a")


@pytest.fixture(scope="session")
def bad_key() -> ServiceAccountKey:
    """Same service account, but a key Google does not know (deleted, or from another project)."""
    return make_key(SA_EMAIL, "0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b")


@pytest.fixture
def org() -> SyntheticOrg:
    return generate_org(300, seed=20261123)


@pytest.fixture
def emulator(org: SyntheticOrg, good_key: ServiceAccountKey) -> Ga4Emulator:
    app = Ga4Emulator(org, property_ids=(PROPERTY_A, PROPERTY_B), service_account_email=SA_EMAIL)
    app.trust_key(good_key.info["private_key_id"], good_key.public_pem)
    return app


@pytest.fixture
def server(emulator: Ga4Emulator) -> Iterator[ServerThread]:
    with ServerThread(emulator) as running:
        yield running


@pytest.fixture
def make_connector(
    server: ServerThread, good_key: ServiceAccountKey, bad_key: ServiceAccountKey
) -> Iterator[MakeConnector]:
    """Build connectors against the running emulator; every one is closed after the test."""
    made: list[GoogleAnalyticsConnector] = []

    def make(
        *,
        bad_credentials: bool = False,
        stats: CallStats | None = None,
        context_retry: RetrySettings | None = None,
        **settings: Any,
    ) -> GoogleAnalyticsConnector:
        key = bad_key if bad_credentials else good_key
        config = GoogleAnalyticsSettings(
            base_url=settings.pop("base_url", server.url),
            service_account_json=SecretStr(key.json),
            property_ids=settings.pop("property_ids", [PROPERTY_A, PROPERTY_B]),
            retry=settings.pop("retry", FAST_RETRY),
            **settings,
        )
        context = ConnectorContext(
            connection=CONNECTION,
            stats=stats if stats is not None else CallStats(),
            retry=context_retry,
        )
        connector = GoogleAnalyticsConnector(config, context=context)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


def sessions_by_owner(
    facts: tuple[Ga4Fact, ...], window: TimeWindow, owners: frozenset[str]
) -> dict[str, float]:
    """Sessions per owner over a window, summed straight from the emulator's facts."""
    totals: dict[str, float] = {}
    for fact in facts:
        if window.start <= fact.day <= window.end and fact.owner in owners:
            totals[fact.owner] = totals.get(fact.owner, 0.0) + fact.sessions
    return totals


def marketers_with_data(emulator: Ga4Emulator, window: TimeWindow, count: int) -> list[str]:
    """`count` campaign owners with traffic in the window, in a stable order."""
    active = sessions_by_owner(emulator.facts(PROPERTY_A), window, frozenset(emulator.owners))
    chosen = sorted(active)[:count]
    assert len(chosen) == count, "the synthetic org has too few marketers with traffic"
    return chosen


def owner_filter(emails: list[str]) -> dict[str, Any]:
    return {"filter": {"fieldName": OWNER_DIMENSION, "inListFilter": {"values": emails}}}


def grouped_request(emulator: Ga4Emulator, key: str = "grouped") -> tuple[QueryRequest, dict[str, float]]:
    owners = marketers_with_data(emulator, SPRING, 4)
    request = QueryRequest(
        key=key,
        query=Ga4Query(
            property_id=PROPERTY_A,
            metric="sessions",
            date_range=SPRING,
            dimension_filter=owner_filter(owners),
            group_by=OWNER_DIMENSION,
        ),
    )
    return request, sessions_by_owner(emulator.facts(PROPERTY_A), SPRING, frozenset(owners))


@pytest.fixture
def metric_harness(
    make_connector: MakeConnector,
    emulator: Ga4Emulator,
    good_key: ServiceAccountKey,
    bad_key: ServiceAccountKey,
) -> MetricHarness:
    def make(*, bad_credentials: bool = False, stats: CallStats | None = None) -> GoogleAnalyticsConnector:
        return make_connector(bad_credentials=bad_credentials, stats=stats, page_size=PAGE_SIZE)

    grouped, grouped_expected = grouped_request(emulator)
    paged = QueryRequest(
        key="paged",
        query=Ga4Query(property_id=PROPERTY_A, metric="sessions", date_range=YEAR, group_by="date"),
    )
    paged_expected = float(sum(f.sessions for f in emulator.facts(PROPERTY_A)))
    rejected = QueryRequest(
        key="rejected", query=Ga4Query(property_id=PROPERTY_A, metric="sessionz", date_range=SPRING)
    )
    return MetricHarness(
        make=make,
        emulator=emulator,
        secrets=frozenset({good_key.private_key, bad_key.private_key}),
        query_path=r":(batchRunReports|runReport)$",
        paged=paged,
        paged_expected=paged_expected,
        grouped=grouped,
        grouped_expected=grouped_expected,
        rejected=rejected,
    )
