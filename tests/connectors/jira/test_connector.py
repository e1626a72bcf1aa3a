"""Jira connector against its emulator over real HTTP: aggregates, deployments, failures, quirks."""

from __future__ import annotations

import base64
import logging
import socket
from collections import Counter
from collections.abc import Iterator
from statistics import mean

import pytest
from pydantic import SecretStr, ValidationError

from connectors.jira import JiraConnector
from connectors.jira.settings import JiraSettings
from hub.contracts import Capability
from hub.errors import (
    AuthError,
    ConnectorError,
    OkrHubError,
    QueryRejected,
    SourceDataError,
    TransientError,
)
from hub.http.stats import CallStats
from hub.metrics import JqlQuery, MetricResult, MetricSource, QueryRequest, SoqlQuery
from hub.registry import ConnectorRegistry
from sandbox.jira import REMOVED_MESSAGE, JiraEmulator
from sandbox.org import SyntheticOrg
from sandbox.server import Fault, ServerThread
from tests.connectors.jira.conftest import (
    API_TOKEN,
    CONNECTION,
    EMAIL,
    FAST_RETRY,
    PAT,
    SECRETS,
    MakeConnector,
    build,
    engineers_with_issues,
)

FAST_RETRY_PATIENT = FAST_RETRY.model_copy(update={"max_attempts": 10, "max_wait_seconds": 1.0})
"""For the real burst limiter: its Retry-After is at least a second, so the wait must allow one."""


def run_one(connector: JiraConnector, query: JqlQuery, key: str = "q") -> MetricResult:
    results = list(connector.run_queries([QueryRequest(key=key, query=query)]))
    assert len(results) == 1
    return results[0]


def jql_string(value: str) -> str:
    """What the mapping compiler does: a double-quoted JQL string with `\\` and `"` escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- contract and settings --------------------------------------------------------------------------
def test_connector_is_a_metric_source_and_registers(make_connector: MakeConnector) -> None:
    connector = make_connector()
    assert isinstance(connector, MetricSource)
    assert JiraConnector.capabilities == frozenset({Capability.METRIC_SOURCE})
    spec = ConnectorRegistry.from_classes([JiraConnector]).get("jira")
    assert spec.settings_model is JiraSettings


def test_settings_take_secret_references_and_check_the_deployment() -> None:
    found: set[str] = set()
    raw = {"base_url": "https://acme.atlassian.net", "email": EMAIL, "api_token": "${JIRA_TOKEN}"}
    settings = JiraSettings.model_validate(raw, context={"env": {"JIRA_TOKEN": API_TOKEN}, "secrets": found})
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == API_TOKEN
    assert found == {API_TOKEN}
    assert (settings.type, settings.deployment, settings.page_size) == ("jira", "cloud", 100)
    with pytest.raises(ValidationError, match="never the secret itself"):
        JiraSettings.model_validate({**raw, "api_token": API_TOKEN})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"email": EMAIL}, "deployment `cloud` needs api_token"),
        ({"api_token": SecretStr(API_TOKEN)}, "deployment `cloud` needs email"),
        (
            {"email": EMAIL, "api_token": SecretStr(API_TOKEN), "personal_access_token": SecretStr(PAT)},
            "personal_access_token is for deployment `data_center`",
        ),
        ({"deployment": "data_center"}, "deployment `data_center` needs personal_access_token"),
        (
            {"deployment": "data_center", "personal_access_token": SecretStr(PAT), "email": EMAIL},
            "email are for deployment `cloud`",
        ),
        ({"email": "okrhub", "api_token": SecretStr(API_TOKEN)}, "not an email address"),
        ({"email": EMAIL, "api_token": SecretStr(API_TOKEN), "page_size": 0}, "page_size"),
    ],
)
def test_settings_refuse_credentials_that_do_not_fit(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JiraSettings.model_validate({"base_url": "https://acme.atlassian.net", **raw})


def test_check_names_the_account_and_the_story_point_field(make_connector: MakeConnector) -> None:
    result = make_connector().check()
    assert result.ok
    assert "Jira Cloud" in result.detail
    assert "okrhub integration" in result.detail
    assert "Story point estimate (customfield_10016)" in result.detail


# --- aggregates --------------------------------------------------------------------------------------
def test_average_is_over_estimated_issues_only(make_connector: MakeConnector, emulator: JiraEmulator) -> None:
    stories = [i for i in emulator.issues if i.project == "PLAT" and i.issue_type == "Story"]
    estimated = [i.story_points for i in stories if i.story_points is not None]
    assert len(estimated) < len(stories), "some stories must be unestimated for this test to mean anything"
    result = run_one(
        make_connector(),
        JqlQuery(jql="project = PLAT AND issuetype = Story", aggregate="average", field="customfield_10016"),
    )
    assert result.error is None, result.error
    assert result.value == pytest.approx(mean(estimated))
    assert result.rows == len(stories)
    assert result.evidence["valued_issues"] == len(estimated)
    assert result.evidence["field"] == "Story point estimate (customfield_10016)"


def test_sum_grouped_by_assignee_with_evidence(make_connector: MakeConnector, emulator: JiraEmulator) -> None:
    people = engineers_with_issues(emulator, 3)
    accounts = ", ".join(jql_string(a) for a in people)
    jql = f"assignee in ({accounts}) AND statusCategory = Done"
    done = [i for i in emulator.issues if i.assignee in people and i.status == "Done"]
    expected: dict[str, float | None] = {}
    for person in {i.assignee for i in done if i.assignee}:
        points = [i.story_points for i in done if i.assignee == person and i.story_points is not None]
        expected[person] = sum(points) if points else None
    stats = CallStats()
    result = run_one(
        make_connector(stats=stats, page_size=10),
        JqlQuery(jql=jql, aggregate="sum", field="cf[10016]", group_by="assignee"),
    )
    assert result.error is None, result.error
    assert dict(result.groups) == pytest.approx(expected)
    assert result.value is None
    assert result.rows == len(done)
    evidence = result.evidence
    assert evidence["jql"] == jql
    assert evidence["issues"] == len(done)
    assert evidence["pages"] == -(-len(done) // 10)
    assert evidence["fields"] == ["customfield_10016", "assignee"]
    assert evidence["first_issue_keys"] == [i.key for i in emulator.search(jql)][:5]
    assert evidence["group_by"] == "Assignee (assignee)"


def test_unassigned_issues_belong_to_no_group(make_connector: MakeConnector, emulator: JiraEmulator) -> None:
    sec = [i for i in emulator.issues if i.project == "SEC"]
    unassigned = sum(1 for i in sec if i.assignee is None)
    assert unassigned > 0
    result = run_one(make_connector(), JqlQuery(jql="project = SEC", group_by="assignee"))
    assert result.error is None, result.error
    assert "" not in result.groups
    assert dict(result.groups) == {
        k: float(v) for k, v in Counter(i.assignee for i in sec if i.assignee).items() if k
    }
    assert result.evidence["ungrouped_issues"] == unassigned
    assert result.rows == len(sec)


def test_plain_count_reads_ids_only(make_connector: MakeConnector, emulator: JiraEmulator) -> None:
    result = run_one(make_connector(), JqlQuery(jql="project = DATA AND resolution = Unresolved"))
    assert result.error is None, result.error
    assert result.value == sum(1 for i in emulator.issues if i.project == "DATA" and i.status != "Done")
    assert result.evidence["fields"] == ["id"]


def test_a_query_matching_nothing(make_connector: MakeConnector) -> None:
    connector = make_connector()
    jql = 'project = ENG AND summary ~ "nothing-matches-this"'
    assert run_one(connector, JqlQuery(jql=jql)).value == 0.0
    points = run_one(connector, JqlQuery(jql=jql, aggregate="sum", field="Story point estimate"))
    assert (points.value, points.rows, points.error) == (None, 0, None)


def test_approximate_count_uses_the_count_endpoint(
    make_connector: MakeConnector, emulator: JiraEmulator
) -> None:
    result = run_one(make_connector(), JqlQuery(jql="project = PROD AND issuetype = Bug", approximate=True))
    assert result.error is None, result.error
    assert result.value == sum(1 for i in emulator.issues if i.project == "PROD" and i.issue_type == "Bug")
    assert result.evidence["approximate"] is True
    assert result.rows == 0
    assert emulator.requests.count("search/approximate-count", "POST") == 1
    assert emulator.requests.count("search/jql") == 0


def test_an_approximate_sum_is_refused_alone(make_connector: MakeConnector) -> None:
    results = list(
        make_connector().run_queries(
            [
                QueryRequest(
                    key="bad", query=JqlQuery(jql="project = ENG", aggregate="sum", approximate=True)
                ),
                QueryRequest(
                    key="soql", query=SoqlQuery(soql="SELECT COUNT() FROM Account", value="totalSize")
                ),
                QueryRequest(key="good", query=JqlQuery(jql="project = SEC", approximate=True)),
            ]
        )
    )
    assert [r.key for r in results] == ["bad", "soql", "good"]
    assert isinstance(results[0].error, QueryRejected)
    assert "approximate" in str(results[0].error)
    assert isinstance(results[1].error, QueryRejected)
    assert "SoqlQuery" in str(results[1].error)
    assert results[2].error is None


def test_unknown_or_non_numeric_fields_are_refused_with_a_hint(make_connector: MakeConnector) -> None:
    connector = make_connector()
    unknown = run_one(connector, JqlQuery(jql="project = ENG", aggregate="sum", field="Story point estimat"))
    assert isinstance(unknown.error, QueryRejected)
    assert "Story point estimate (customfield_10016)" in str(unknown.error)
    text = run_one(connector, JqlQuery(jql="project = ENG", aggregate="average", field="summary"))
    assert isinstance(text.error, QueryRejected)
    assert "not a number" in str(text.error)
    missing = run_one(connector, JqlQuery(jql="project = ENG", aggregate="sum"))
    assert isinstance(missing.error, QueryRejected)


def test_jira_refusing_the_jql_quotes_jiras_reason(make_connector: MakeConnector) -> None:
    result = run_one(make_connector(), JqlQuery(jql="project = NOPE"))
    assert isinstance(result.error, QueryRejected)
    assert result.error.status == 400
    assert "The value 'NOPE' does not exist for the field 'project'." in str(result.error)
    assert "project = NOPE" in str(result.error)
    assert result.evidence == {"jql": "project = NOPE"}


# --- quirks --------------------------------------------------------------------------------------------
def test_a_hostile_value_in_an_escaped_jql_string_round_trips(
    make_connector: MakeConnector, emulator: JiraEmulator
) -> None:
    hostile = "o'brien\"s\\path"
    emulator.add_issue("ENG", labels=[hostile], story_points=5.0, summary='Say "hi" to C:\\temp')
    emulator.add_issue("ENG", labels=["o'brien"], story_points=3.0)
    connector = make_connector()
    by_label = run_one(
        connector,
        JqlQuery(
            jql=f"project = ENG AND labels = {jql_string(hostile)}",
            aggregate="sum",
            field="customfield_10016",
        ),
    )
    assert (by_label.error, by_label.value, by_label.rows) == (None, 5.0, 1)
    path = jql_string("C:\\temp")
    by_summary = run_one(connector, JqlQuery(jql=f"summary ~ {path} AND project = ENG"))
    assert by_summary.value == 1.0


def test_hidden_emails_do_not_break_grouping(make_connector: MakeConnector, emulator: JiraEmulator) -> None:
    hidden = [
        a
        for a in Counter(i.assignee for i in emulator.issues if i.assignee)
        if not emulator.users[a].email_visible
    ][:3]
    assert len(hidden) == 3
    accounts = ", ".join(jql_string(a) for a in hidden)
    result = run_one(make_connector(), JqlQuery(jql=f"assignee in ({accounts})", group_by="assignee"))
    assert result.error is None, result.error
    assert set(result.groups) == set(hidden)


# --- Data Center ---------------------------------------------------------------------------------------
@pytest.fixture
def dc_emulator(org: SyntheticOrg) -> JiraEmulator:
    return JiraEmulator(org, pat=PAT, deployment="DataCenter")


@pytest.fixture
def dc_server(dc_emulator: JiraEmulator) -> Iterator[ServerThread]:
    with ServerThread(dc_emulator) as running:
        yield running


def test_data_center_signs_in_with_a_pat_and_pages_with_start_at(
    dc_server: ServerThread, dc_emulator: JiraEmulator
) -> None:
    made: list[JiraConnector] = []
    connector = build(dc_server.url, made, deployment="data_center", page_size=200)
    try:
        assert "Jira Server" in connector.check().detail
        eng = [i for i in dc_emulator.issues if i.project == "ENG"]
        results = {
            r.key: r
            for r in connector.run_queries(
                [
                    QueryRequest(
                        key="points",
                        query=JqlQuery(jql="project = ENG", aggregate="sum", field="Story point estimate"),
                    ),
                    QueryRequest(key="by_person", query=JqlQuery(jql="project = ENG", group_by="assignee")),
                    QueryRequest(key="count", query=JqlQuery(jql="project = ENG", approximate=True)),
                ]
            )
        }
        assert results["points"].value == pytest.approx(sum(i.story_points or 0 for i in eng))
        assert results["points"].evidence["pages"] == -(-len(eng) // 200)
        usernames = Counter(dc_emulator.users[i.assignee].username for i in eng if i.assignee)
        assert dict(results["by_person"].groups) == {k: float(v) for k, v in usernames.items()}
        assert results["count"].value == len(eng)
        assert results["count"].evidence["approximate"] is False
        assert dc_emulator.requests.count(r"/search$", "POST") > 0
        assert dc_emulator.requests.count("search/jql") == 0
        bad = build(dc_server.url, made, deployment="data_center", bad_credentials=True)
        with pytest.raises(AuthError, match="personal_access_token"):
            bad.check()
    finally:
        for made_connector in made:
            made_connector.close()


def test_a_410_says_the_api_was_removed(dc_server: ServerThread, dc_emulator: JiraEmulator) -> None:
    body = f'{{"errorMessages":["{REMOVED_MESSAGE}"],"errors":{{}}}}'
    dc_emulator.faults.inject(Fault(kind="status", status=410, body=body, path=r"/search$"))
    made: list[JiraConnector] = []
    try:
        result = run_one(build(dc_server.url, made, deployment="data_center"), JqlQuery(jql="project = ENG"))
    finally:
        made[0].close()
    assert type(result.error) is ConnectorError
    assert "removed" in str(result.error)
    assert "/rest/api/3/search/jql" in str(result.error)


@pytest.mark.parametrize(
    ("reported", "configured", "fix"), [("Server", "cloud", "data_center"), ("Cloud", "data_center", "cloud")]
)
def test_a_deployment_mismatch_is_a_config_error(
    server: ServerThread, emulator: JiraEmulator, reported: str, configured: str, fix: str
) -> None:
    info = f'{{"deploymentType": "{reported}", "versionNumbers": [9, 12, 5]}}'
    emulator.faults.inject(Fault(kind="status", status=200, body=info, path="serverInfo"))
    made: list[JiraConnector] = []
    try:
        with pytest.raises(
            ConnectorError, match=f"reports deploymentType '{reported}'; set `deployment: {fix}`"
        ):
            list(
                build(server.url, made, deployment=configured).run_queries(
                    [QueryRequest(key="q", query=JqlQuery(jql="project = ENG"))]
                )
            )
    finally:
        made[0].close()
    assert emulator.requests.count("search") == 0


# --- failures and retries ---------------------------------------------------------------------------
def test_429_with_retry_after_is_retried(make_connector: MakeConnector, emulator: JiraEmulator) -> None:
    emulator.faults.inject(Fault(kind="status", status=429, retry_after="1", path="search/jql", after=1))
    stats = CallStats()
    result = run_one(make_connector(stats=stats, page_size=50), JqlQuery(jql="project = INFRA"))
    assert result.error is None, result.error
    assert result.value == sum(1 for i in emulator.issues if i.project == "INFRA")
    assert stats.retries == 1
    assert stats.by_status[429] == 1
    assert emulator.requests.count("search/jql") == result.evidence["pages"] + 1


def test_the_burst_limit_is_retried_and_reported(
    make_connector: MakeConnector, emulator: JiraEmulator
) -> None:
    emulator.limiter.per_second = 3
    stats = CallStats()
    connector = make_connector(stats=stats, page_size=100, retry=FAST_RETRY_PATIENT)
    result = run_one(connector, JqlQuery(jql="project = PLAT", aggregate="sum", field="customfield_10016"))
    assert result.error is None, result.error
    assert stats.by_status[429] >= 1
    assert stats.retries == stats.by_status[429]
    assert result.evidence["rate_limit"]["X-RateLimit-Limit"] == "3"
    usage = connector.usage()
    assert usage["requests"] == stats.api_calls == len(emulator.requests.entries)
    assert isinstance(usage["rate_limit_remaining"], int)


def test_5xx_is_retried_and_a_persistent_one_fails_that_query_only(
    make_connector: MakeConnector, emulator: JiraEmulator
) -> None:
    emulator.faults.inject(Fault(kind="status", status=503, path="search/jql"))
    stats = CallStats()
    connector = make_connector(stats=stats)
    assert run_one(connector, JqlQuery(jql="project = SEC")).error is None
    assert stats.retries == 1
    emulator.faults.inject(Fault(kind="status", status=500, path="search/approximate-count", times=10))
    results = list(
        connector.run_queries(
            [
                QueryRequest(key="down", query=JqlQuery(jql="project = SEC", approximate=True)),
                QueryRequest(key="up", query=JqlQuery(jql="project = SEC")),
            ]
        )
    )
    assert isinstance(results[0].error, TransientError)
    assert results[0].error.status == 500
    assert results[1].error is None


def test_a_truncated_body_is_a_source_data_error(
    make_connector: MakeConnector, emulator: JiraEmulator
) -> None:
    emulator.faults.inject(Fault(kind="truncate_json", path="search/jql"))
    result = run_one(make_connector(), JqlQuery(jql="project = SEC"))
    assert isinstance(result.error, SourceDataError)


def test_an_unreachable_site_is_transient_and_counted(make_connector: MakeConnector) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stats = CallStats()
    connector = make_connector(stats=stats, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(TransientError, match="ConnectionError"):
        connector.check()
    assert stats.api_calls == 4
    assert stats.by_status == Counter()
    assert stats.retries == 3


def test_a_token_revoked_mid_run_raises_auth_error(
    make_connector: MakeConnector, emulator: JiraEmulator
) -> None:
    connector = make_connector()
    assert run_one(connector, JqlQuery(jql="project = SEC")).error is None
    emulator.api_token = "rotated-token-0000"
    with pytest.raises(AuthError) as info:
        list(connector.run_queries([QueryRequest(key="q", query=JqlQuery(jql="project = SEC"))]))
    assert CONNECTION in str(info.value)
    assert "api_token" in str(info.value)
    assert EMAIL in str(info.value)


def test_secrets_never_reach_errors_or_logs(
    make_connector: MakeConnector, emulator: JiraEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    for connector in (make_connector(bad_credentials=True), make_connector()):
        try:
            connector.check()
            results = list(
                connector.run_queries(
                    [QueryRequest(key="bad", query=JqlQuery(jql='project = ENG AND "Story Pointz" > 1'))]
                )
            )
            texts += [str(r.error) for r in results] + [repr(r.evidence) for r in results]
        except OkrHubError as exc:
            texts += [str(exc), repr(exc.attrs()), repr(exc.__cause__), str(exc.__cause__)]
    texts.append(caplog.text)
    basic = [base64.b64encode(f"{EMAIL}:{s}".encode()).decode() for s in SECRETS]
    for text in texts:
        for secret in [*SECRETS, *basic]:
            assert secret not in text
