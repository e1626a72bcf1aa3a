"""Salesforce connector against its emulator over real HTTPS: auth modes, paging, budget, quirks."""

from __future__ import annotations

import logging
import math
import pickle
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr, ValidationError

from connectors.salesforce import SalesforceConnector
from connectors.salesforce.client import SessionExpired
from connectors.salesforce.settings import SalesforceSettings
from hub.contracts import Capability, ConnectorContext
from hub.errors import AuthError, ConnectorError, QueryRejected, QuotaExhausted
from hub.http.stats import CallStats
from hub.metrics import JqlQuery, MetricSource, QueryRequest, SoqlQuery
from hub.registry import ConnectorRegistry
from sandbox.org import SyntheticOrg
from sandbox.salesforce import SalesforceEmulator
from sandbox.server import Fault, ServerThread
from sandbox.tls import ServerTls
from tests.connectors.salesforce.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    CONNECTION,
    REFRESH_TOKEN,
    TODAY,
    WRONG_REFRESH_TOKEN,
    MakeConnector,
    grouped_request,
    sellers,
    won_by_owner,
)

PIPELINE = QueryRequest(
    key="pipeline", query=SoqlQuery(soql="SELECT Id, Amount FROM Opportunity", value="Amount")
)


def soql(key: str, text: str, value: str, group_by: str | None = None) -> QueryRequest:
    return QueryRequest(key=key, query=SoqlQuery(soql=text, value=value, group_by=group_by))


def run(connector: SalesforceConnector, *requests: QueryRequest) -> dict[str, Any]:
    return {result.key: result for result in connector.run_queries(list(requests))}


def amounts(emulator: SalesforceEmulator) -> float:
    return float(sum(o["Amount"] for o in emulator.records("Opportunity") if o["Amount"] is not None))


def quote(text: str) -> str:
    """A SOQL string literal, escaped the way the mapping compiler renders one."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"').replace("\n", "\\n")
    return f"'{escaped}'"


def rsa_key_pem() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


# --- contract -----------------------------------------------------------------------------------------
def test_connector_is_a_metric_source_and_registers(make_connector: MakeConnector) -> None:
    connector = make_connector()
    assert isinstance(connector, MetricSource)
    assert SalesforceConnector.capabilities == frozenset({Capability.METRIC_SOURCE})
    spec = ConnectorRegistry.from_classes([SalesforceConnector]).get("salesforce")
    assert spec.settings_model is SalesforceSettings


def test_settings_take_secret_references_never_literals() -> None:
    found: set[str] = set()
    raw = {
        "base_url": "https://acme.my.salesforce.com",
        "client_id": CLIENT_ID,
        "client_secret": "${SF_SECRET}",
        "refresh_token": "${file:refresh.txt}",
    }
    env = {"SF_SECRET": CLIENT_SECRET}
    with pytest.raises(ValidationError):
        SalesforceSettings.model_validate({**raw, "client_secret": CLIENT_SECRET}, context={"env": env})
    settings = SalesforceSettings.model_validate(
        {**raw, "refresh_token": "${SF_REFRESH}"},
        context={"env": {**env, "SF_REFRESH": REFRESH_TOKEN}, "secrets": found},
    )
    assert found == {CLIENT_SECRET, REFRESH_TOKEN}
    assert settings.auth == "refresh_token"
    assert settings.api_version == "59.0"
    assert settings.max_daily_api_share == 0.5
    assert settings.token_url() == "https://acme.my.salesforce.com/services/oauth2/token"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"client_id": CLIENT_ID},
            "auth `refresh_token` needs `client_id`, `refresh_token`; missing: `refresh_token`",
        ),
        ({"auth": "jwt", "client_id": CLIENT_ID}, "missing: `username`, `private_key`"),
        ({"auth": "session"}, "auth `session` needs `session_id`"),
        (
            {"auth": "session", "session_id": SecretStr("00D!x"), "refresh_token": SecretStr("r")},
            "`refresh_token` only apply to auth `refresh_token`, but auth is `session`",
        ),
        (
            {"base_url": "http://127.0.0.1:8080", "client_id": CLIENT_ID, "refresh_token": SecretStr("r")},
            "`base_url` must be an https:// URL",
        ),
        (
            {
                "auth": "jwt",
                "client_id": CLIENT_ID,
                "username": "u",
                "private_key": SecretStr("not-a-key-9f3"),
            },
            "`private_key` is not an unencrypted PEM private key",
        ),
        (
            {"client_id": CLIENT_ID, "refresh_token": SecretStr("r"), "max_daily_api_share": 1.5},
            "less than or equal to 1",
        ),
    ],
)
def test_settings_say_what_each_auth_mode_needs(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        SalesforceSettings.model_validate({"base_url": "https://login.salesforce.com", **values})
    assert message in str(info.value)
    assert "not-a-key-9f3" not in str(info.value)


def test_jwt_needs_an_rsa_key() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    with pytest.raises(ValidationError, match="must be an RSA key"):
        SalesforceSettings(
            base_url="https://login.salesforce.com",
            auth="jwt",
            client_id=CLIENT_ID,
            username="bot@acme.example",
            private_key=SecretStr(pem),
        )


# --- check --------------------------------------------------------------------------------------------
def test_check_reports_remaining_daily_requests(make_connector: MakeConnector, server: ServerThread) -> None:
    result = make_connector().check()
    assert result.ok
    assert f"Salesforce at {server.url} accepted the `refresh_token` credentials (API v59.0)" in result.detail
    assert "99,999 of 100,000 daily API requests remain" in result.detail


def test_check_warns_when_usage_is_past_the_share(
    make_connector: MakeConnector, emulator: SalesforceEmulator
) -> None:
    emulator.set_api_usage(60_000)
    assert "runs will stop before their first query" in make_connector().check().detail


def test_bad_refresh_token_names_the_fix(make_connector: MakeConnector) -> None:
    with pytest.raises(AuthError) as info:
        make_connector(bad_credentials=True).check()
    text = str(info.value)
    assert f"connection `{CONNECTION}`" in text
    assert "invalid_grant: expired access/refresh token" in text
    assert "update `refresh_token`" in text
    assert WRONG_REFRESH_TOKEN not in text


def test_a_wrong_base_url_says_where_tokens_come_from(
    make_connector: MakeConnector, server: ServerThread
) -> None:
    with pytest.raises(ConnectorError, match="no OAuth token endpoint there"):
        make_connector(base_url=f"{server.url}/somewhere").check()


def test_an_unknown_api_version_names_the_setting(make_connector: MakeConnector) -> None:
    with pytest.raises(ConnectorError, match=r"check `api_version` \(60\.0\)"):
        make_connector(api_version="60.0").check()


def test_tls_is_verified_against_the_configured_ca_only(make_connector: MakeConnector) -> None:
    stats = CallStats()
    with pytest.raises(ConnectorError, match="Set `ca_bundle`") as info:
        make_connector(ca_bundle=None, stats=stats).check()
    assert not isinstance(info.value, AuthError)
    assert stats.retries == 0, "a certificate problem is not retried"


# --- queries ------------------------------------------------------------------------------------------
def test_count_aggregate_and_plain_sums(make_connector: MakeConnector, emulator: SalesforceEmulator) -> None:
    opps = emulator.records("Opportunity")
    won = [o for o in opps if o["IsWon"]]
    results = run(
        make_connector(),
        soql("count", "SELECT COUNT() FROM Opportunity WHERE IsWon = true", "totalSize"),
        soql("sum", "SELECT SUM(Amount) FROM Opportunity WHERE IsWon = true", "expr0"),
        soql("avg", "SELECT AVG(Amount) average FROM Opportunity WHERE IsWon = true", "average"),
        soql("none", "SELECT SUM(Amount) total FROM Opportunity WHERE Name = 'nothing'", "total"),
        soql("quarter", "SELECT COUNT() FROM Opportunity WHERE CloseDate = THIS_QUARTER", "totalSize"),
    )
    assert all(r.error is None for r in results.values()), results
    assert results["count"].value == len(won)
    assert results["count"].rows == len(won)
    won_amounts = [o["Amount"] for o in won if o["Amount"] is not None]
    assert results["sum"].value == pytest.approx(sum(won_amounts))
    assert results["sum"].rows == 1
    assert results["avg"].value == pytest.approx(sum(won_amounts) / len(won_amounts))
    assert results["none"].value is None
    in_quarter = [o for o in opps if o["CloseDate"].year == TODAY.year and o["CloseDate"].month >= 10]
    assert results["quarter"].value == len(in_quarter)


def test_evidence_shows_the_query_paging_and_first_records(
    make_connector: MakeConnector, emulator: SalesforceEmulator
) -> None:
    connector = make_connector(batch_size=1000)
    result = run(connector, PIPELINE)["pipeline"]
    total = len(emulator.records("Opportunity"))
    assert result.value == pytest.approx(amounts(emulator))
    assert result.rows == total
    evidence = result.evidence
    assert evidence["soql"] == "SELECT Id, Amount FROM Opportunity"
    assert evidence["totalSize"] == total
    assert evidence["pages"] == math.ceil(total / 1000)
    first = emulator.records("Opportunity")[:5]
    assert evidence["records"] == [{"Id": o["Id"], "Amount": o["Amount"]} for o in first]
    assert evidence["api_usage"] == {"used": evidence["pages"], "limit": 100_000}
    assert connector.usage() == {"api_usage": evidence["api_usage"]}


def test_grouping_by_a_relationship_field(
    make_connector: MakeConnector, emulator: SalesforceEmulator
) -> None:
    owners = sellers(emulator, 5)
    ids = ", ".join(f"'{o}'" for o in owners)
    request = soql(
        "by_email",
        f"SELECT Owner.Email, COUNT(Id) n FROM Opportunity WHERE OwnerId IN ({ids}) GROUP BY Owner.Email",
        "n",
        group_by="Owner.Email",
    )
    result = run(make_connector(), request)["by_email"]
    users = {u["Id"]: u["Email"] for u in emulator.records("User")}
    expected: dict[str, float] = {}
    for opp in emulator.records("Opportunity"):
        if opp["OwnerId"] in owners:
            expected[users[opp["OwnerId"]]] = expected.get(users[opp["OwnerId"]], 0) + 1
    assert result.error is None
    assert dict(result.groups) == expected


def test_a_plain_query_can_be_grouped_client_side(
    make_connector: MakeConnector, emulator: SalesforceEmulator
) -> None:
    owners = sellers(emulator, 3)
    ids = ", ".join(f"'{o}'" for o in owners)
    text = f"SELECT OwnerId, Amount FROM Opportunity WHERE StageName = 'Closed Won' AND OwnerId IN ({ids})"
    result = run(make_connector(), soql("plain", text, "Amount", group_by="OwnerId"))["plain"]
    assert dict(result.groups) == pytest.approx(won_by_owner(emulator, owners))


def test_a_null_aggregate_stays_none_in_its_group(
    make_connector: MakeConnector, emulator: SalesforceEmulator
) -> None:
    owner = sellers(emulator, 1)[0]
    emulator.insert("User", Id="005000000077777AAA", Name="No Amounts", Email="none@acme.example")
    emulator.insert(
        "Opportunity", Name="Blank", OwnerId="005000000077777AAA", StageName="Closed Won", IsWon=True
    )
    request = grouped_request([owner, "005000000077777AAA"])
    result = run(make_connector(), request)[request.key]
    assert result.groups["005000000077777AAA"] is None
    assert result.groups[owner] == pytest.approx(won_by_owner(emulator, [owner])[owner])


def test_a_wrong_value_column_is_a_query_rejection_naming_the_columns(make_connector: MakeConnector) -> None:
    results = run(
        make_connector(),
        soql("alias", "SELECT SUM(Amount) total FROM Opportunity", "totl"),
        soql("text", "SELECT Name FROM Opportunity LIMIT 3", "Name"),
        soql("grouped", "SELECT OwnerId, SUM(Amount) FROM Opportunity GROUP BY OwnerId", "expr0"),
        QueryRequest(key="jira", query=JqlQuery(jql="project = X")),
    )
    assert isinstance(results["alias"].error, QueryRejected)
    assert "no column `totl`" in str(results["alias"].error)
    assert "columns: `total`" in str(results["alias"].error)
    assert "not a number" in str(results["text"].error)
    assert "aggregate rows but the query has no `group_by`" in str(results["grouped"].error)
    assert "SOQL queries only" in str(results["jira"].error)


def test_a_refusal_quotes_salesforce(make_connector: MakeConnector) -> None:
    result = run(make_connector(), soql("typo", "SELECT Id, Amout FROM Opportunity", "Amout"))["typo"]
    assert isinstance(result.error, QueryRejected)
    text = str(result.error)
    assert "INVALID_FIELD" in text
    assert "No such column 'Amout' on entity 'Opportunity'" in text
    assert "ERROR at Row:1:Column:12" in text
    assert result.evidence["soql"] == "SELECT Id, Amout FROM Opportunity"


def test_a_hostile_name_round_trips_through_escaping(
    make_connector: MakeConnector, emulator: SalesforceEmulator
) -> None:
    hostile = "Zed O'Brien \\ \"the 'Closer'\"\nJr"
    user_id = emulator.insert("User", Name=hostile, Email="zed@acme.example", IsActive=True)
    for amount in (1000.0, 2500.0):
        emulator.insert(
            "Opportunity", Name="Hostile", OwnerId=user_id, Amount=amount, StageName="Closed Won", IsWon=True
        )
    results = run(
        make_connector(),
        soql(
            "one", f"SELECT SUM(Amount) total FROM Opportunity WHERE Owner.Name = {quote(hostile)}", "total"
        ),
        soql(
            "grouped",
            "SELECT Owner.Name, SUM(Amount) total FROM Opportunity "
            f"WHERE Owner.Name IN ({quote(hostile)}, 'x') GROUP BY Owner.Name",
            "total",
            group_by="Owner.Name",
        ),
        soql("like", f"SELECT COUNT() FROM Opportunity WHERE Owner.Name LIKE {quote('Zed O%')}", "totalSize"),
    )
    assert results["one"].value == 3500.0
    assert dict(results["grouped"].groups) == {hostile: 3500.0}
    assert results["like"].value == 2


# --- sessions and auth modes --------------------------------------------------------------------------
def test_a_session_expiring_mid_paging_is_renewed_once(
    make_connector: MakeConnector, emulator: SalesforceEmulator
) -> None:
    emulator.faults.inject(Fault(kind="expire_token", path=r"/query/01g"))
    stats = CallStats()
    connector = make_connector(stats=stats)
    result = run(connector, PIPELINE)["pipeline"]
    assert result.error is None, result.error
    assert result.value == pytest.approx(amounts(emulator))
    assert emulator.tokens_issued == 2
    assert emulator.requests.count(r"/query/01g") == 2, "the expired page was asked for again"
    assert stats.by_status[401] == 1


def test_a_session_refused_again_after_renewal_is_an_auth_error(
    make_connector: MakeConnector, emulator: SalesforceEmulator
) -> None:
    emulator.faults.inject(Fault(kind="expire_token", path=r"/query", times=2))
    with pytest.raises(AuthError, match="even with a token obtained just before") as info:
        run(make_connector(), PIPELINE)
    assert emulator.tokens_issued == 2
    assert info.value.connection == CONNECTION


def test_an_expired_session_id_cannot_be_renewed(make_connector: MakeConnector, server: ServerThread) -> None:
    connector = make_connector(auth="session", session_id=SecretStr("00Dstale!session-3c9d"))
    with pytest.raises(SessionExpired, match="use `auth: refresh_token` or `auth: jwt`") as info:
        run(connector, PIPELINE)
    assert "00Dstale!session-3c9d" not in str(info.value)


def test_session_mode_uses_a_given_session(
    make_connector: MakeConnector, emulator: SalesforceEmulator, server: ServerThread, tls: ServerTls
) -> None:
    bootstrap = make_connector()
    bootstrap.check()
    [token] = emulator.issued_tokens()
    connector = make_connector(auth="session", session_id=SecretStr(token), instance_url=server.url)
    assert run(connector, PIPELINE)["pipeline"].value == pytest.approx(amounts(emulator))
    assert emulator.tokens_issued == 1


def test_jwt_bearer_auth(org: SyntheticOrg, tls: ServerTls, tmp_path: Path) -> None:
    private, public = rsa_key_pem()
    app = SalesforceEmulator(org, client_id=CLIENT_ID, jwt_public_key=public, jwt_username="bot@acme.example")
    with ServerThread(app, ssl_context=tls.context) as server:

        def connector(username: str) -> SalesforceConnector:
            settings = SalesforceSettings(
                base_url=server.url,
                ca_bundle=tls.ca_pem,
                auth="jwt",
                client_id=CLIENT_ID,
                username=username,
                private_key=SecretStr(private),
            )
            return SalesforceConnector(
                settings, context=ConnectorContext(connection=CONNECTION, stats=CallStats())
            )

        good = connector("bot@acme.example")
        try:
            assert good.check().ok
            result = run(good, soql("n", "SELECT COUNT() FROM Opportunity", "totalSize"))["n"]
            assert result.value == len(app.records("Opportunity"))
        finally:
            good.close()
        bad = connector("nobody@acme.example")
        try:
            with pytest.raises(AuthError) as info:
                bad.check()
        finally:
            bad.close()
        text = str(info.value)
        assert "user hasn't approved this consumer" in text
        assert "pre-authorised on the connected app" in text
        assert "PRIVATE KEY" not in text


# --- the API budget -----------------------------------------------------------------------------------
def test_the_share_guard_stops_the_run_before_passing_the_share(
    make_connector: MakeConnector, emulator: SalesforceEmulator
) -> None:
    emulator.daily_limit = 1000
    emulator.set_api_usage(495)
    requests = [QueryRequest(key=f"q{i}", query=PIPELINE.query) for i in range(4)]
    results = run(make_connector(max_daily_api_share=0.5), *requests)
    pages = math.ceil(len(emulator.records("Opportunity")) / 2000)
    assert pages == 2, "this test expects two pages per query"
    assert results["q0"].value == pytest.approx(amounts(emulator))
    assert results["q1"].value == pytest.approx(amounts(emulator))
    stopped = results["q2"].error
    assert isinstance(stopped, QuotaExhausted)
    assert stopped.scope == "connection"
    assert "the org has used 500 of its 1,000 daily API requests" in str(stopped)
    assert "share of 50% (500 requests, `max_daily_api_share: 0.5`)" in str(stopped)
    assert results["q3"].error is stopped
    assert results["q3"].evidence["sent"] is False
    assert emulator.api_used == 500, "no call went past the share"


def test_request_limit_exceeded_is_quota_exhausted_and_stops_calling(
    make_connector: MakeConnector, emulator: SalesforceEmulator
) -> None:
    emulator.daily_limit = 50
    emulator.set_api_usage(50)
    owners = sellers(emulator, 3)
    results = run(make_connector(max_daily_api_share=1.0), PIPELINE, grouped_request(owners))
    error = results["pipeline"].error
    assert isinstance(error, QuotaExhausted)
    assert "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded." in str(error)
    assert error.status == 403
    assert results[grouped_request(owners).key].error is error
    assert emulator.requests.count(r"/query") == 1


def test_usage_before_any_call_is_unknown(make_connector: MakeConnector) -> None:
    assert make_connector().usage() == {"api_usage": None}


# --- resilience ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="status", status=503, path=r"/query/01g"),
        Fault(kind="status", status=500, path=r"/query/$"),
        Fault(kind="reset", path=r"/query/01g"),
        Fault(kind="truncate_json", path=r"/query/01g"),
        Fault(kind="status", status=503, path=r"/oauth2/token"),
    ],
    ids=["503-mid-paging", "500-first-page", "reset", "truncated-json", "503-token"],
)
def test_transient_failures_are_retried(
    make_connector: MakeConnector, emulator: SalesforceEmulator, fault: Fault
) -> None:
    emulator.faults.inject(fault)
    stats = CallStats()
    result = run(make_connector(stats=stats), PIPELINE)["pipeline"]
    assert result.error is None, result.error
    assert result.value == pytest.approx(amounts(emulator))
    assert stats.retries == 1


def test_every_http_request_is_counted(make_connector: MakeConnector, emulator: SalesforceEmulator) -> None:
    stats = CallStats()
    run(make_connector(stats=stats), PIPELINE)
    assert stats.api_calls == len(emulator.requests.entries) == 3  # token, first page, second page


def test_a_permission_refusal_fails_that_query_alone(
    make_connector: MakeConnector, emulator: SalesforceEmulator
) -> None:
    body = '[{"message":"insufficient access rights on object","errorCode":"INSUFFICIENT_ACCESS"}]'
    emulator.faults.inject(Fault(kind="status", status=403, body=body, path=r"/query"))
    owners = sellers(emulator, 2)
    results = run(
        make_connector(), soql("a", "SELECT COUNT() FROM Account", "totalSize"), grouped_request(owners)
    )
    error = results["a"].error
    assert isinstance(error, ConnectorError)
    assert type(error).__name__ == "PermissionDenied"
    assert "INSUFFICIENT_ACCESS" in str(error)
    assert results[grouped_request(owners).key].error is None


# --- secrets ------------------------------------------------------------------------------------------
def test_no_secret_or_access_token_reaches_logs_or_errors(
    make_connector: MakeConnector, emulator: SalesforceEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    emulator.faults.inject(Fault(kind="expire_token", path=r"/query/01g"))
    emulator.faults.inject(Fault(kind="status", status=503, path=r"/query/01g", after=1))
    results = run(make_connector(), PIPELINE, soql("typo", "SELECT Id FROM Opportunty", "Id"))
    texts += [str(r.error) for r in results.values()] + [repr(r.evidence) for r in results.values()]
    try:
        make_connector(bad_credentials=True).check()
    except AuthError as exc:
        texts += [str(exc), repr(exc.attrs())]
    texts.append(caplog.text)
    tokens = emulator.issued_tokens()
    assert tokens
    for secret in (CLIENT_SECRET, REFRESH_TOKEN, WRONG_REFRESH_TOKEN, *tokens):
        assert all(secret not in text for text in texts), secret


def test_errors_survive_pickling() -> None:
    error = SessionExpired("connection `crm`: Salesforce refused the session", connection="crm", status=401)
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, SessionExpired)
    assert again.attrs() == error.attrs()
