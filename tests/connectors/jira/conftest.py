"""The Jira connector wired to its emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.jira import JiraConnector
from connectors.jira.settings import JiraSettings
from hub.contracts import ConnectorContext
from hub.http.retry import RetrySettings
from hub.http.stats import CallStats
from hub.metrics import JqlQuery, QueryRequest
from hub.testing.metric_conformance import MetricHarness
from sandbox.jira import JiraEmulator
from sandbox.org import SyntheticOrg, generate_org
from sandbox.server import ServerThread

EMAIL = "okrhub-bot@acme.example"
API_TOKEN = "jira-test-token-7c2e91ab"
WRONG_TOKEN = "jira-wrong-token-3f0d52ce"
PAT = "jira-test-pat-a81b44d0"
WRONG_PAT = "jira-wrong-pat-19e6c7f2"
CONNECTION = "jira-eng"
SECRETS = frozenset({API_TOKEN, WRONG_TOKEN, PAT, WRONG_PAT})
FAST_RETRY = RetrySettings(
    max_attempts=4, max_wait_seconds=0.05, max_total_seconds=20, backoff_base_seconds=0.01
)
"""Short waits: Retry-After is honoured but capped at 50 ms, so retry tests run in milliseconds."""

MakeConnector = Callable[..., JiraConnector]


@pytest.fixture(scope="module")
def org() -> SyntheticOrg:
    return generate_org(500, seed=20261123)


@pytest.fixture
def emulator(org: SyntheticOrg) -> JiraEmulator:
    return JiraEmulator(org, email=EMAIL, api_token=API_TOKEN, pat=PAT)


@pytest.fixture
def server(emulator: JiraEmulator) -> Iterator[ServerThread]:
    with ServerThread(emulator) as running:
        yield running


def build(
    url: str,
    made: list[JiraConnector],
    *,
    deployment: str = "cloud",
    bad_credentials: bool = False,
    stats: CallStats | None = None,
    **settings: Any,
) -> JiraConnector:
    if deployment == "cloud":
        auth: dict[str, Any] = {
            "email": EMAIL,
            "api_token": SecretStr(WRONG_TOKEN if bad_credentials else API_TOKEN),
        }
    else:
        auth = {"personal_access_token": SecretStr(WRONG_PAT if bad_credentials else PAT)}
    config = JiraSettings(
        base_url=settings.pop("base_url", url),
        deployment=deployment,
        retry=settings.pop("retry", FAST_RETRY),
        **auth,
        **settings,
    )
    context = ConnectorContext(
        connection=CONNECTION, stats=stats if stats is not None else CallStats(), secrets=SECRETS
    )
    connector = JiraConnector(config, context=context)
    made.append(connector)
    return connector


@pytest.fixture
def make_connector(server: ServerThread) -> Iterator[MakeConnector]:
    """Build connectors against the running Cloud emulator; every one is closed after the test."""
    made: list[JiraConnector] = []
    yield lambda **kwargs: build(server.url, made, **kwargs)
    for connector in made:
        connector.close()


def engineers_with_issues(emulator: JiraEmulator, count: int) -> list[str]:
    """Account ids of `count` assignees with issues, at least one of whom hides their email."""
    assigned = Counter(i.assignee for i in emulator.issues if i.assignee)
    people = sorted(a for a in assigned if a != emulator.integration_user.account_id)
    hidden = [a for a in people if not emulator.users[a].email_visible]
    shown = [a for a in people if emulator.users[a].email_visible]
    return hidden[:1] + shown[: count - 1]


@pytest.fixture
def metric_harness(make_connector: MakeConnector, emulator: JiraEmulator) -> MetricHarness:
    eng_points = sum(i.story_points or 0.0 for i in emulator.issues if i.project == "ENG")
    people = engineers_with_issues(emulator, 4)
    grouped_expected = Counter(i.assignee for i in emulator.issues if i.assignee in people)
    accounts = ", ".join(f'"{a}"' for a in people)
    return MetricHarness(
        make=make_connector,
        emulator=emulator,
        secrets=SECRETS,
        query_path="search/jql",
        paged=QueryRequest(
            key="eng_points",
            query=JqlQuery(jql="project = ENG", aggregate="sum", field="Story point estimate"),
        ),
        paged_expected=eng_points,
        grouped=QueryRequest(
            key="issues_by_person",
            query=JqlQuery(jql=f"assignee in ({accounts})", aggregate="count", group_by="assignee"),
        ),
        grouped_expected={k: float(v) for k, v in grouped_expected.items() if k},
        rejected=QueryRequest(
            key="misspelt", query=JqlQuery(jql="project = ENG AND storypoints > 3", aggregate="count")
        ),
    )
