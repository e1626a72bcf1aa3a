"""The Salesforce emulator speaks the shapes the connector relies on (VENDOR_APIS.md §3)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.org import SyntheticOrg, generate_org
from sandbox.salesforce import SalesforceEmulator, build_dataset, case_safe_id
from sandbox.server import Fault, ServerThread
from sandbox.soql import Dataset, SoqlError, execute, parse, relative_range
from sandbox.tls import ServerTls, make_tls

TODAY = date(2026, 11, 23)
API = "/services/data/v59.0"
TOKEN_FORM = {
    "grant_type": "refresh_token",
    "client_id": "okrhub-sandbox",
    "client_secret": "sandbox-salesforce-secret",
    "refresh_token": "sandbox-salesforce-refresh",
}


@pytest.fixture(scope="module")
def org() -> SyntheticOrg:
    return generate_org(500, seed=7)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> ServerTls:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def app(org: SyntheticOrg) -> SalesforceEmulator:
    return SalesforceEmulator(org, today=TODAY)


@pytest.fixture(scope="module")
def data(org: SyntheticOrg) -> Dataset:
    return build_dataset(org, org.seed)


@pytest.fixture
def server(app: SalesforceEmulator, tls: ServerTls) -> Iterator[ServerThread]:
    with ServerThread(app, ssl_context=tls.context) as running:
        yield running


@pytest.fixture
def http(server: ServerThread, tls: ServerTls) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(tls.ca_pem)
        yield session


@pytest.fixture
def authed(http: requests.Session, server: ServerThread) -> requests.Session:
    body = http.post(f"{server.url}/services/oauth2/token", data=TOKEN_FORM).json()
    http.headers["Authorization"] = f"Bearer {body['access_token']}"
    return http


def run(data: Dataset, soql: str) -> Any:
    return execute(soql, data, today=TODAY, version="59.0")


def opportunities(data: Dataset) -> list[dict[str, Any]]:
    return data.records["Opportunity"]


def query(http: requests.Session, server: ServerThread, soql: str, **headers: str) -> requests.Response:
    return http.get(f"{server.url}{API}/query/", params={"q": soql}, headers=headers)


# --- the data -----------------------------------------------------------------------------------------
def test_data_follows_the_org_and_is_deterministic(org: SyntheticOrg, data: Dataset) -> None:
    users = {u["Id"]: u for u in data.records["User"]}
    assert len(users) == len(org.employees)
    sales = {e.salesforce_user_id for e in org.employees.values() if e.division == "Sales"}
    opps = opportunities(data)
    assert 2000 < len(opps) < 6000
    assert {o["OwnerId"] for o in opps} <= sales
    assert {o["StageName"] for o in opps} == {"Prospecting", "Negotiation", "Closed Won", "Closed Lost"}
    assert all(o["IsWon"] == (o["StageName"] == "Closed Won") for o in opps)
    assert max(o["CloseDate"] for o in opps) <= date(2026, 12, 31)
    assert all(len(o["Id"]) == 18 and o["Id"].startswith("006") for o in opps)
    again = build_dataset(org, org.seed)
    assert again.records["Opportunity"] == opps
    leaver = next(e for e in org.employees.values() if not e.is_active)
    assert users[leaver.salesforce_user_id]["IsActive"] is False


def test_case_safe_ids_have_the_salesforce_checksum() -> None:
    assert case_safe_id("001A0000006Vm9r") == "001A0000006Vm9rIAC"


# --- SOQL: selecting ----------------------------------------------------------------------------------
def test_plain_and_relationship_fields_render_like_salesforce(data: Dataset) -> None:
    result = run(
        data,
        "SELECT Id, Amount, CloseDate, CreatedDate, Owner.Email, Account.Owner.Name FROM Opportunity LIMIT 3",
    )
    assert result.total_size == 3
    assert not result.aggregate
    record = result.records[0]
    opp = opportunities(data)[0]
    assert record["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v59.0/sobjects/Opportunity/{opp['Id']}",
    }
    assert list(record) == ["attributes", "Id", "Amount", "CloseDate", "CreatedDate", "Owner", "Account"]
    assert record["CloseDate"] == opp["CloseDate"].isoformat()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000", record["CreatedDate"])
    assert record["Owner"]["attributes"]["type"] == "User"
    assert "@" in record["Owner"]["Email"]
    assert record["Account"]["Owner"]["attributes"]["type"] == "User"


def test_a_missing_related_record_renders_null(data: Dataset) -> None:
    data.insert("Opportunity", {"Id": "006000000000ZZZAAA", "Name": "Orphan", "Amount": 5.0})
    try:
        [record] = run(data, "SELECT Name, Account.Name FROM Opportunity WHERE Name = 'orphan'").records
        assert record == {
            "attributes": record["attributes"],
            "Name": "Orphan",
            "Account": None,
        }
    finally:
        data.records["Opportunity"].pop()


def test_field_names_are_case_insensitive_and_answered_in_canonical_case(data: Dataset) -> None:
    [record] = run(data, "select id, stagename from opportunity limit 1").records
    assert set(record) == {"attributes", "Id", "StageName"}


# --- SOQL: filtering ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("where", "keep"),
    [
        ("StageName = 'Closed Won'", lambda o: o["StageName"] == "Closed Won"),
        ("StageName = 'closed won'", lambda o: o["StageName"] == "Closed Won"),
        ("StageName != 'Closed Won'", lambda o: o["StageName"] != "Closed Won"),
        ("Amount > 50000", lambda o: o["Amount"] is not None and o["Amount"] > 50000),
        ("Amount <= 10000.5", lambda o: o["Amount"] is not None and o["Amount"] <= 10000.5),
        ("Amount > -1", lambda o: o["Amount"] is not None),
        ("Amount = null", lambda o: o["Amount"] is None),
        ("Amount != null", lambda o: o["Amount"] is not None),
        ("IsWon = true", lambda o: o["IsWon"]),
        ("IsWon = FALSE", lambda o: not o["IsWon"]),
        (
            "StageName IN ('Prospecting', 'Negotiation')",
            lambda o: o["StageName"] in ("Prospecting", "Negotiation"),
        ),
        (
            "StageName NOT IN ('Prospecting', 'Negotiation')",
            lambda o: o["StageName"] not in ("Prospecting", "Negotiation"),
        ),
        ("Name LIKE 'Blue%'", lambda o: o["Name"].lower().startswith("blue")),
        ("Name LIKE '%Pilot'", lambda o: o["Name"].endswith("Pilot")),
        ("Name LIKE '_lue%'", lambda o: o["Name"][1:].lower().startswith("lue")),
        ("CloseDate >= 2026-10-01 AND CloseDate < 2027-01-01", lambda o: o["CloseDate"] >= date(2026, 10, 1)),
        (
            "CreatedDate > 2026-03-02T10:00:00Z",
            lambda o: o["CreatedDate"] > datetime(2026, 3, 2, 10, tzinfo=UTC),
        ),
        (
            "CreatedDate < 2026-03-02T12:00:00+02:00",
            lambda o: o["CreatedDate"] < datetime(2026, 3, 2, 10, tzinfo=UTC),
        ),
        (
            "(StageName = 'Closed Won' OR StageName = 'Closed Lost') AND Amount > 100000",
            lambda o: o["IsClosed"] and o["Amount"] is not None and o["Amount"] > 100000,
        ),
        ("NOT StageName = 'Closed Won'", lambda o: o["StageName"] != "Closed Won"),
        ("NOT (IsWon = true OR Amount = null)", lambda o: not o["IsWon"] and o["Amount"] is not None),
        ("Owner.IsActive = false", None),
        ("CloseDate = THIS_QUARTER", lambda o: date(2026, 10, 1) <= o["CloseDate"] <= date(2026, 12, 31)),
        ("CloseDate = LAST_N_DAYS:30", lambda o: TODAY - timedelta(days=30) <= o["CloseDate"] <= TODAY),
        ("CloseDate = THIS_MONTH", lambda o: o["CloseDate"].month == 11 and o["CloseDate"].year == 2026),
        ("CloseDate > TODAY", lambda o: o["CloseDate"] > TODAY),
        ("CreatedDate = LAST_N_DAYS:90", lambda o: o["CreatedDate"].date() >= TODAY - timedelta(days=90)),
        ("CloseDate < THIS_YEAR", lambda o: o["CloseDate"].year < 2026),
    ],
)
def test_where_filters_like_salesforce(data: Dataset, where: str, keep: Any) -> None:
    if keep is None:
        inactive = {u["Id"] for u in data.records["User"] if not u["IsActive"]}
        keep = lambda o: o["OwnerId"] in inactive  # noqa: E731
    expected = sum(1 for o in opportunities(data) if keep(o))
    assert run(data, f"SELECT COUNT() FROM Opportunity WHERE {where}").total_size == expected


def test_string_literals_take_backslash_escapes(data: Dataset) -> None:
    hostile = 'Ann O\'Neil \\ "Q"\nNext'
    data.insert("User", {"Id": "005000000099999AAA", "Name": hostile, "LastName": "O'Neil"})
    try:
        literal = "'Ann O\\'Neil \\\\ \\\"Q\\\"\\nNext'"
        [record] = run(data, f"SELECT Name FROM User WHERE Name = {literal}").records
        assert record["Name"] == hostile
        assert (
            run(data, "SELECT COUNT() FROM User WHERE Name = 'Ann O\\u0027Neil \\\\ \"Q\"\\nNext'").total_size
            == 1
        )
        assert run(data, "SELECT COUNT() FROM User WHERE LastName LIKE 'O\\'N%'").total_size == 1
    finally:
        data.records["User"].pop()


def test_like_escapes_percent_and_underscore(data: Dataset) -> None:
    data.insert("Account", {"Id": "001000000099999AAA", "Name": "100% Pure_Co"})
    data.insert("Account", {"Id": "001000000099998AAA", "Name": "100X PureXCo"})
    try:
        assert run(data, "SELECT COUNT() FROM Account WHERE Name LIKE '100\\% Pure\\_Co'").total_size == 1
        assert run(data, "SELECT COUNT() FROM Account WHERE Name LIKE '100_ Pure_Co'").total_size == 2
    finally:
        del data.records["Account"][-2:]


def test_relative_date_ranges() -> None:
    sunday = date(2026, 11, 22)
    assert relative_range("TODAY", 0, TODAY) == (TODAY, TODAY)
    assert relative_range("LAST_N_DAYS", 1, TODAY) == (date(2026, 11, 22), TODAY)
    assert relative_range("NEXT_N_DAYS", 2, TODAY) == (date(2026, 11, 24), date(2026, 11, 25))
    assert relative_range("THIS_WEEK", 0, TODAY) == (sunday, sunday + timedelta(days=6))
    assert relative_range("LAST_WEEK", 0, TODAY) == (sunday - timedelta(days=7), sunday - timedelta(days=1))
    assert relative_range("LAST_MONTH", 0, TODAY) == (date(2026, 10, 1), date(2026, 10, 31))
    assert relative_range("LAST_QUARTER", 0, TODAY) == (date(2026, 7, 1), date(2026, 9, 30))
    assert relative_range("NEXT_QUARTER", 0, TODAY) == (date(2027, 1, 1), date(2027, 3, 31))
    assert relative_range("LAST_N_MONTHS", 2, TODAY) == (date(2026, 9, 1), date(2026, 10, 31))
    assert relative_range("N_YEARS_AGO", 1, TODAY) == (date(2025, 1, 1), date(2025, 12, 31))
    assert relative_range("LAST_90_DAYS", 0, TODAY) == (TODAY - timedelta(days=90), TODAY)


# --- SOQL: aggregates ---------------------------------------------------------------------------------
def test_aggregates_with_aliases_and_expr_names(data: Dataset) -> None:
    result = run(
        data,
        "SELECT SUM(Amount) total, COUNT(Id), AVG(Amount), MIN(CloseDate) earliest, MAX(Amount) "
        "FROM Opportunity",
    )
    assert result.aggregate
    assert result.total_size == 1
    [row] = result.records
    amounts = [o["Amount"] for o in opportunities(data) if o["Amount"] is not None]
    assert row["attributes"] == {"type": "AggregateResult"}
    assert list(row)[1:] == ["total", "expr0", "expr1", "earliest", "expr2"]
    assert row["total"] == pytest.approx(sum(amounts))
    assert row["expr0"] == len(opportunities(data))
    assert row["expr1"] == pytest.approx(sum(amounts) / len(amounts))
    assert row["earliest"] == min(o["CloseDate"] for o in opportunities(data)).isoformat()
    assert row["expr2"] == max(amounts)


def test_group_by_answers_one_row_per_group(data: Dataset) -> None:
    result = run(
        data,
        "SELECT OwnerId, StageName, SUM(Amount) total, COUNT(Id) n FROM Opportunity "
        "WHERE IsClosed = true GROUP BY OwnerId, StageName",
    )
    expected: dict[tuple[str, str], list[Any]] = {}
    for o in opportunities(data):
        if o["IsClosed"]:
            expected.setdefault((o["OwnerId"], o["StageName"]), []).append(o["Amount"])
    assert result.total_size == len(expected)
    for row in result.records:
        amounts = expected[(row["OwnerId"], row["StageName"])]
        assert row["n"] == len(amounts)
        numbers = [a for a in amounts if a is not None]
        assert row["total"] == (pytest.approx(sum(numbers)) if numbers else None)


def test_a_grouped_relationship_field_is_named_by_its_last_segment(data: Dataset) -> None:
    result = run(
        data,
        "SELECT Owner.Email, COUNT(Id) FROM Opportunity GROUP BY Owner.Email ORDER BY COUNT(Id) DESC LIMIT 3",
    )
    assert [list(row) for row in result.records] == [["attributes", "Email", "expr0"]] * 3
    counts = [row["expr0"] for row in result.records]
    assert counts == sorted(counts, reverse=True)


def test_an_aggregate_over_nothing_still_answers_one_row(data: Dataset) -> None:
    [row] = run(data, "SELECT SUM(Amount), COUNT(Id) FROM Opportunity WHERE Name = 'nothing'").records
    assert row == {"attributes": {"type": "AggregateResult"}, "expr0": None, "expr1": 0}
    assert (
        run(data, "SELECT OwnerId, SUM(Amount) FROM Opportunity WHERE Name = 'x' GROUP BY OwnerId").records
        == []
    )


def test_count_returns_total_size_and_no_records(data: Dataset) -> None:
    result = run(data, "SELECT COUNT() FROM Opportunity WHERE IsWon = true")
    assert result.records == []
    assert result.total_size == sum(1 for o in opportunities(data) if o["IsWon"])


def test_order_by_limit_and_offset(data: Dataset) -> None:
    ordered = sorted((o for o in opportunities(data) if o["Amount"] is not None), key=lambda o: -o["Amount"])
    records = run(
        data, "SELECT Id, Amount FROM Opportunity WHERE Amount != null ORDER BY Amount DESC LIMIT 5 OFFSET 2"
    ).records
    assert [r["Amount"] for r in records] == [o["Amount"] for o in ordered[2:7]]
    first = run(data, "SELECT Amount FROM Opportunity ORDER BY Amount ASC NULLS LAST LIMIT 1").records[0]
    assert first["Amount"] == ordered[-1]["Amount"]
    assert run(data, "SELECT Amount FROM Opportunity ORDER BY Amount LIMIT 1").records[0]["Amount"] is None


# --- SOQL: errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("soql", "code", "column", "reason"),
    [
        (
            "SELECT Id, Amout FROM Opportunity",
            "INVALID_FIELD",
            12,
            "No such column 'Amout' on entity 'Opportunity'",
        ),
        ("SELECT Id FROM Opportunty", "INVALID_TYPE", 16, "sObject type 'Opportunty' is not supported."),
        ("SELECT Ownr.Email FROM Opportunity", "INVALID_FIELD", 8, "Didn't understand relationship 'Ownr'"),
        ("SELECT Id FRM Opportunity", "MALFORMED_QUERY", 15, "unexpected token: Opportunity"),
        ("SELECT Id FROM Opportunity WHERE", "MALFORMED_QUERY", 33, "unexpected token: <EOF>"),
        (
            "SELECT Id FROM Opportunity WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
            "MALFORMED_QUERY",
            60,
            "unexpected token: OR",
        ),
        (
            "SELECT Id FROM Opportunity WHERE Name = 'it\\'s",
            "MALFORMED_QUERY",
            41,
            "unterminated string literal",
        ),
        (
            "SELECT Id FROM Opportunity WHERE Name = 'a\\qb'",
            "MALFORMED_QUERY",
            41,
            "Illegal character sequence '\\q'",
        ),
        (
            "SELECT Id FROM Opportunity WHERE CloseDate > '2026-01-01'",
            "INVALID_QUERY_FILTER_OPERATOR",
            46,
            "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed "
            "in quotes",
        ),
        (
            "SELECT Id FROM Opportunity WHERE Name = 5",
            "INVALID_QUERY_FILTER_OPERATOR",
            41,
            "must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Opportunity WHERE CreatedDate > 2026-01-01",
            "INVALID_QUERY_FILTER_OPERATOR",
            48,
            "must be of type dateTime",
        ),
        (
            "SELECT Name, SUM(Amount) FROM Opportunity",
            "MALFORMED_QUERY",
            8,
            "Field must be grouped or aggregated: Name",
        ),
        (
            "SELECT SUM(Name) FROM Opportunity",
            "MALFORMED_QUERY",
            12,
            "does not support aggregate operator SUM",
        ),
        (
            "SELECT Amount, COUNT(Id) FROM Opportunity GROUP BY Amount",
            "MALFORMED_QUERY",
            52,
            "field 'Amount' can not be grouped",
        ),
        ("SELECT COUNT(), Id FROM Opportunity", "MALFORMED_QUERY", 14, "COUNT() must be the only element"),
        (
            "SELECT Id FROM Opportunity WHERE OwnerId = :owner",
            "MALFORMED_QUERY",
            44,
            "Bind variables only allowed in Apex code",
        ),
    ],
)
def test_refusals_carry_salesforce_codes_and_a_caret(
    data: Dataset, soql: str, code: str, column: int, reason: str
) -> None:
    with pytest.raises(SoqlError) as info:
        run(data, soql)
    error = info.value
    assert error.error_code == code
    lines = error.message.split("\n")
    assert lines[0] == ""
    assert lines[1] == soql
    assert lines[2] == " " * (column - 1) + "^"
    assert lines[3] == f"ERROR at Row:1:Column:{column}"
    assert reason in lines[4]


def test_the_error_position_counts_rows_and_columns() -> None:
    with pytest.raises(SoqlError) as info:
        parse("SELECT Id\nFROM Opportunity\nWHERE Amount >> 5")
    assert "ERROR at Row:3:Column:15" in info.value.message
    assert "\nWHERE Amount >> 5\n              ^\n" in info.value.message


# --- HTTP: OAuth --------------------------------------------------------------------------------------
def test_refresh_token_exchange(http: requests.Session, server: ServerThread) -> None:
    body = http.post(f"{server.url}/services/oauth2/token", data=TOKEN_FORM).json()
    assert set(body) == {
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    }
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == server.url
    assert body["id"].startswith(f"{server.url}/id/00D")


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        ({"refresh_token": "nope"}, "invalid_grant", "expired access/refresh token"),
        ({"client_id": "nope"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "nope"}, "invalid_client", "invalid client credentials"),
        ({"grant_type": "password"}, "unsupported_grant_type", "grant type not supported"),
    ],
)
def test_token_refusals(
    http: requests.Session, server: ServerThread, change: dict[str, str], error: str, description: str
) -> None:
    response = http.post(f"{server.url}/services/oauth2/token", data={**TOKEN_FORM, **change})
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_jwt_bearer_assertions_are_verified(org: SyntheticOrg, tls: ServerTls) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    app = SalesforceEmulator(generate_org(20, seed=1), jwt_public_key=public, jwt_username="bot@acme.example")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def assertion(signer: Any = key, **claims: Any) -> str:
        body = {
            "iss": "okrhub-sandbox",
            "sub": "bot@acme.example",
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 120,
        } | claims
        return jwt.encode(body, signer, algorithm="RS256")

    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    with ServerThread(app, ssl_context=tls.context) as server, requests.Session() as http:
        http.trust_env = False
        http.verify = str(tls.ca_pem)

        def post(token: str) -> requests.Response:
            return http.post(
                f"{server.url}/services/oauth2/token", data={"grant_type": grant, "assertion": token}
            )

        assert post(assertion()).status_code == 200
        assert post(assertion(aud=server.url)).status_code == 200
        assert post(assertion(signer=other)).json()["error_description"] == "invalid assertion"
        assert post(assertion(exp=int(time.time()) - 10)).json()["error_description"] == "invalid assertion"
        assert (
            post(assertion(aud="https://elsewhere.example")).json()["error_description"]
            == "audience is invalid"
        )
        assert (
            post(assertion(sub="someone@else")).json()["error_description"]
            == "user hasn't approved this consumer"
        )
        assert post(assertion(iss="other-app")).json()["error"] == "invalid_client_id"


# --- HTTP: REST ---------------------------------------------------------------------------------------
def test_rest_calls_need_a_valid_session(
    http: requests.Session, server: ServerThread, app: SalesforceEmulator
) -> None:
    response = query(http, server, "SELECT Id FROM User")
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    body = http.post(f"{server.url}/services/oauth2/token", data=TOKEN_FORM).json()
    http.headers["Authorization"] = f"Bearer {body['access_token']}"
    assert query(http, server, "SELECT Id FROM User LIMIT 1").status_code == 200
    app.expire_tokens()
    assert query(http, server, "SELECT Id FROM User LIMIT 1").status_code == 401


def test_the_expire_token_fault_revokes_tokens_mid_run(
    authed: requests.Session, server: ServerThread, app: SalesforceEmulator
) -> None:
    app.faults.inject(Fault(kind="expire_token", after=1))
    assert query(authed, server, "SELECT Id FROM User LIMIT 1").status_code == 200
    assert query(authed, server, "SELECT Id FROM User LIMIT 1").json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_paging_follows_next_records_url(
    authed: requests.Session, server: ServerThread, app: SalesforceEmulator
) -> None:
    total = len(app.records("Opportunity"))
    first = query(authed, server, "SELECT Id FROM Opportunity").json()
    assert first["totalSize"] == total
    assert first["done"] is False
    assert len(first["records"]) == 2000
    assert re.fullmatch(r"/services/data/v59\.0/query/01g[0-9A-Za-z]{15}-2000", first["nextRecordsUrl"])
    ids = [r["Id"] for r in first["records"]]
    page = first
    while not page["done"]:
        page = authed.get(server.url + page["nextRecordsUrl"]).json()
        ids += [r["Id"] for r in page["records"]]
    assert "nextRecordsUrl" not in page
    assert ids == [o["Id"] for o in app.records("Opportunity")]


def test_batch_size_header_is_honoured_within_bounds(authed: requests.Session, server: ServerThread) -> None:
    small = query(
        authed, server, "SELECT Id FROM Opportunity", **{"Sforce-Query-Options": "batchSize=500"}
    ).json()
    assert len(small["records"]) == 500
    assert small["nextRecordsUrl"].endswith("-500")
    tiny = query(
        authed, server, "SELECT Id FROM Opportunity", **{"Sforce-Query-Options": "batchSize=10"}
    ).json()
    assert len(tiny["records"]) == 200


def test_both_query_urls_answer(authed: requests.Session, server: ServerThread) -> None:
    for path in (
        "/services/data/v59.0/query",
        "/services/data/v59.0/query/",
        "/services/data/v58.0/queryAll/",
    ):
        response = authed.get(server.url + path, params={"q": "SELECT COUNT() FROM User"})
        assert response.status_code == 200, path
        assert response.json()["records"] == []


def test_grouped_queries_are_never_paged(
    authed: requests.Session, server: ServerThread, app: SalesforceEmulator
) -> None:
    body = query(
        authed,
        server,
        "SELECT OwnerId, COUNT(Id) FROM Opportunity GROUP BY OwnerId",
        **{"Sforce-Query-Options": "batchSize=200"},
    ).json()
    assert body["done"] is True
    assert (
        body["totalSize"] == len(body["records"]) == len({o["OwnerId"] for o in app.records("Opportunity")})
    )
    too_many = query(authed, server, "SELECT Id, COUNT(Name) FROM Opportunity GROUP BY Id")
    assert too_many.status_code == 400
    assert too_many.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_errors_are_json_arrays(authed: requests.Session, server: ServerThread) -> None:
    response = query(authed, server, "SELECT Id, Amout FROM Opportunity")
    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:12" in error["message"]
    assert query(authed, server, "").json()[0]["errorCode"] == "MALFORMED_QUERY"
    unknown = authed.get(f"{server.url}/services/data/v99.0/limits")
    assert unknown.status_code == 404
    assert unknown.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    stale = authed.get(f"{server.url}{API}/query/01gAAAAAAAAAAAAAAA-2000")
    assert stale.json() == [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]


def test_a_user_keeps_at_most_ten_cursors(authed: requests.Session, server: ServerThread) -> None:
    urls = [query(authed, server, "SELECT Id FROM Opportunity").json()["nextRecordsUrl"] for _ in range(11)]
    assert authed.get(server.url + urls[0]).json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    assert authed.get(server.url + urls[1]).status_code == 200


def test_every_call_counts_and_carries_the_limit_header(
    authed: requests.Session, server: ServerThread, app: SalesforceEmulator
) -> None:
    app.daily_limit = 1000
    app.set_api_usage(997)
    assert (
        query(authed, server, "SELECT COUNT() FROM User").headers["Sforce-Limit-Info"] == "api-usage=998/1000"
    )
    limits = authed.get(f"{server.url}{API}/limits/")
    assert limits.headers["Sforce-Limit-Info"] == "api-usage=999/1000"
    assert limits.json()["DailyApiRequests"] == {"Max": 1000, "Remaining": 1}
    assert query(authed, server, "SELECT Id FROM User WHERE Name = 'x'").status_code == 200
    refused = query(authed, server, "SELECT COUNT() FROM User")
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=1000/1000"
    assert app.api_used == 1000


def test_usage_can_be_set_from_another_process(
    http: requests.Session, server: ServerThread, app: SalesforceEmulator
) -> None:
    body = http.post(f"{server.url}/_sandbox/api_usage", json={"used": 42}).json()
    assert body == {"used": 42, "limit": 100000}
    assert app.api_used == 42
