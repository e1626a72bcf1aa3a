"""The GA4 emulator speaks the Data API v1beta: shapes, filters, batches, quotas, errors and auth."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.ga4 import NOT_SET, OWNER_DIMENSION, SCOPE, Ga4Emulator, expected_total
from sandbox.org import generate_org
from sandbox.server import ServerThread

SA = "reporter@acme-analytics.iam.gserviceaccount.com"
PROP = "111111111"
OTHER = "222222222"
YEAR = {"startDate": "2026-01-01", "endDate": "2026-12-31"}
MARCH = {"startDate": "2026-03-01", "endDate": "2026-03-31"}
ALT = {"$alt": "json;enum-encoding=int"}


class _Offline(requests.adapters.BaseAdapter):
    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise requests.ConnectionError("offline in tests")

    def close(self) -> None:
        pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """Signs JWTs the way google-auth does for a service-account key (RS256, kid = key id)."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwt(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": SA, "sub": SA, "iat": now, "exp": now + 3600, "scope": SCOPE}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        head = _b64(json.dumps({"typ": "JWT", "alg": "RS256", "kid": self.key_id}).encode())
        body = _b64(json.dumps(claims).encode())
        signature = self.key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{_b64(signature)}"


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("kid-emulator-test")


@pytest.fixture
def emulator(signer: Signer) -> Ga4Emulator:
    app = Ga4Emulator(
        generate_org(150, seed=9),
        property_ids=(PROP, OTHER),
        service_account_email=SA,
        tokens_per_day=1000,
        tokens_per_hour=800,
    )
    app.trust_key(signer.key_id, signer.public_pem)
    return app


@pytest.fixture
def server(emulator: Ga4Emulator) -> Iterator[ServerThread]:
    with ServerThread(emulator) as running:
        yield running


@pytest.fixture
def api(server: ServerThread, signer: Signer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {signer.jwt()}"}
    with httpx.Client(base_url=f"{server.url}/v1beta/", headers=headers, trust_env=False) as client:
        yield client


def run(api: httpx.Client, body: dict[str, Any], prop: str = PROP) -> httpx.Response:
    return api.post(f"properties/{prop}:runReport", params=ALT, json=body)


def report(api: httpx.Client, body: dict[str, Any], prop: str = PROP) -> dict[str, Any]:
    response = run(api, body, prop)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def error_of(response: httpx.Response, code: int, status: str) -> str:
    assert response.status_code == code, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["status"] == status
    return str(error["message"])


def values(payload: dict[str, Any]) -> dict[str, str]:
    return {row["dimensionValues"][0]["value"]: row["metricValues"][0]["value"] for row in payload["rows"]}


# --- data ----------------------------------------------------------------------------------------
def test_traffic_is_owned_by_marketing_and_deterministic(emulator: Ga4Emulator) -> None:
    org = emulator.org
    marketing = {e.email for e in org.employees.values() if e.division == "Marketing"}
    assert set(emulator.owners) == marketing
    facts = emulator.facts(PROP)
    owners = {f.owner for f in facts}
    assert owners - {NOT_SET} <= marketing
    assert len(owners - {NOT_SET}) >= len(marketing) // 2
    assert all(f.day.year == 2026 for f in facts)
    again = Ga4Emulator(generate_org(150, seed=9), property_ids=(PROP,))
    assert again.facts(PROP) == facts
    assert emulator.facts(OTHER) != facts


# --- shapes --------------------------------------------------------------------------------------
def test_run_report_shape_values_are_strings(api: httpx.Client, emulator: Ga4Emulator) -> None:
    payload = report(
        api,
        {
            "dateRanges": [MARCH],
            "dimensions": [{"name": "date"}],
            "metrics": [{"name": "sessions"}, {"name": "engagementRate"}, {"name": "purchaseRevenue"}],
            "orderBys": [{"dimension": {"dimensionName": "date"}}],
            "limit": "100",
            "returnPropertyQuota": True,
        },
    )
    assert payload["kind"] == "analyticsData#runReport"
    assert payload["dimensionHeaders"] == [{"name": "date"}]
    assert payload["metricHeaders"] == [
        {"name": "sessions", "type": "TYPE_INTEGER"},
        {"name": "engagementRate", "type": "TYPE_FLOAT"},
        {"name": "purchaseRevenue", "type": "TYPE_CURRENCY"},
    ]
    assert payload["rowCount"] == 31
    first = payload["rows"][0]
    assert first["dimensionValues"] == [{"value": "20260301"}]
    assert all(isinstance(v["value"], str) for v in first["metricValues"])
    facts = emulator.facts(PROP)
    day = date(2026, 3, 1)
    assert float(first["metricValues"][0]["value"]) == expected_total(facts, "sessions", day, day)
    assert float(first["metricValues"][1]["value"]) == pytest.approx(
        expected_total(facts, "engagementRate", day, day)
    )
    assert payload["metadata"] == {"currencyCode": "USD", "timeZone": "America/Los_Angeles"}
    quota = payload["propertyQuota"]
    assert quota["tokensPerDay"] == {"consumed": 10, "remaining": 990}
    assert quota["concurrentRequests"] == {"remaining": 10}


def test_an_empty_report_omits_rows_and_row_count(api: httpx.Client) -> None:
    payload = report(
        api,
        {
            "dateRanges": [{"startDate": "2025-01-01", "endDate": "2025-01-31"}],
            "dimensions": [{"name": "country"}],
            "metrics": [{"name": "sessions"}],
            "metricAggregations": ["TOTAL"],
        },
    )
    assert "rows" not in payload
    assert "rowCount" not in payload
    assert "totals" not in payload
    assert payload["dimensionHeaders"] == [{"name": "country"}]
    assert payload["kind"] == "analyticsData#runReport"


def test_library_style_body_enum_ints_and_int64_strings(api: httpx.Client) -> None:
    body = {
        "date_ranges": [MARCH],
        "dimensions": [{"name": "sessionDefaultChannelGroup"}],
        "metrics": [{"name": "sessions"}],
        "metric_aggregations": [1],
        "limit": 2,
        "offset": "1",
        "dimension_filter": {
            "filter": {"field_name": "country", "string_filter": {"match_type": 1, "value": "united states"}}
        },
    }
    payload = report(api, body)
    assert len(payload["rows"]) == 2
    assert payload["rowCount"] > 2
    assert payload["totals"][0]["dimensionValues"] == [{"value": "RESERVED_TOTAL"}]


def test_totals_of_a_ratio_are_the_ratio_of_sums(api: httpx.Client, emulator: Ga4Emulator) -> None:
    payload = report(
        api,
        {
            "dateRanges": [YEAR],
            "dimensions": [{"name": OWNER_DIMENSION}],
            "metrics": [{"name": "engagementRate"}],
            "metricAggregations": ["TOTAL", "MAXIMUM"],
        },
    )
    total = float(payload["totals"][0]["metricValues"][0]["value"])
    expected = expected_total(emulator.facts(PROP), "engagementRate", date(2026, 1, 1), date(2026, 12, 31))
    assert total == pytest.approx(expected)
    assert payload["maximums"][0]["dimensionValues"] == [{"value": "RESERVED_MAX"}]


def test_paging_with_limit_and_offset(api: httpx.Client) -> None:
    body = {
        "dateRanges": [YEAR],
        "dimensions": [{"name": "date"}],
        "metrics": [{"name": "sessions"}],
        "orderBys": [{"dimension": {"dimensionName": "date"}}],
        "limit": "100",
    }
    pages = [report(api, {**body, "offset": str(offset)}) for offset in (0, 100, 200, 300)]
    assert all(page["rowCount"] == 365 for page in pages)
    dates = [row["dimensionValues"][0]["value"] for page in pages for row in page.get("rows", [])]
    assert len(dates) == 365
    assert dates == sorted(set(dates))
    past_the_end = report(api, {**body, "offset": "400"})
    assert "rows" not in past_the_end
    assert past_the_end["rowCount"] == 365


def test_several_date_ranges_add_a_date_range_dimension(api: httpx.Client) -> None:
    payload = report(
        api,
        {
            "dateRanges": [MARCH, {"startDate": "2026-04-01", "endDate": "2026-04-30", "name": "april"}],
            "metrics": [{"name": "sessions"}],
        },
    )
    assert payload["dimensionHeaders"] == [{"name": "dateRange"}]
    assert set(values(payload)) == {"date_range_0", "april"}


# --- filters -------------------------------------------------------------------------------------
def _sessions(api: httpx.Client, expression: dict[str, Any]) -> dict[str, float]:
    payload = report(
        api,
        {
            "dateRanges": [YEAR],
            "dimensions": [{"name": OWNER_DIMENSION}],
            "metrics": [{"name": "sessions"}],
            "dimensionFilter": expression,
        },
    )
    return {k: float(v) for k, v in values(payload).items()} if "rows" in payload else {}


def _by_owner(emulator: Ga4Emulator, owners: set[str]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for fact in emulator.facts(PROP):
        if fact.owner in owners:
            totals[fact.owner] = totals.get(fact.owner, 0.0) + fact.sessions
    return totals


def test_in_list_and_exact_filters(api: httpx.Client, emulator: Ga4Emulator) -> None:
    owners = sorted({f.owner for f in emulator.facts(PROP)} - {NOT_SET})[:3]
    in_list = {"filter": {"fieldName": OWNER_DIMENSION, "inListFilter": {"values": owners}}}
    assert _sessions(api, in_list) == _by_owner(emulator, set(owners))
    shouting = {"filter": {"fieldName": OWNER_DIMENSION, "stringFilter": {"value": owners[0].upper()}}}
    assert set(_sessions(api, shouting)) == {owners[0]}
    sensitive = {
        "filter": {
            "fieldName": OWNER_DIMENSION,
            "stringFilter": {"matchType": "EXACT", "value": owners[0].upper(), "caseSensitive": True},
        }
    }
    assert _sessions(api, sensitive) == {}


def test_boolean_groups_and_match_types(api: httpx.Client, emulator: Ga4Emulator) -> None:
    owners = sorted({f.owner for f in emulator.facts(PROP)} - {NOT_SET})
    prefix = owners[0][:3]
    expression = {
        "andGroup": {
            "expressions": [
                {
                    "filter": {
                        "fieldName": OWNER_DIMENSION,
                        "stringFilter": {"matchType": "BEGINS_WITH", "value": prefix},
                    }
                },
                {"notExpression": {"filter": {"fieldName": OWNER_DIMENSION, "emptyFilter": {}}}},
                {
                    "orGroup": {
                        "expressions": [
                            {
                                "filter": {
                                    "fieldName": "date",
                                    "numericFilter": {
                                        "operation": "LESS_THAN",
                                        "value": {"int64Value": "20260701"},
                                    },
                                }
                            },
                            {
                                "filter": {
                                    "fieldName": "country",
                                    "stringFilter": {"matchType": "CONTAINS", "value": "zz"},
                                }
                            },
                        ]
                    }
                },
            ]
        }
    }
    expected: dict[str, float] = {}
    for fact in emulator.facts(PROP):
        if fact.owner.startswith(prefix) and fact.day < date(2026, 7, 1):
            expected[fact.owner] = expected.get(fact.owner, 0.0) + fact.sessions
    assert _sessions(api, expression) == expected


def test_metric_filter_keeps_rows_above_a_bound(api: httpx.Client) -> None:
    payload = report(
        api,
        {
            "dateRanges": [YEAR],
            "dimensions": [{"name": "sessionCampaignName"}],
            "metrics": [{"name": "sessions"}],
            "metricFilter": {
                "filter": {
                    "fieldName": "sessions",
                    "numericFilter": {"operation": 4, "value": {"doubleValue": 5000}},
                }
            },
        },
    )
    assert payload["rows"]
    assert all(float(v) > 5000 for v in values(payload).values())


# --- errors --------------------------------------------------------------------------------------
def test_unknown_metric_is_invalid_argument_with_a_suggestion(api: httpx.Client) -> None:
    message = error_of(
        run(api, {"dateRanges": [MARCH], "metrics": [{"name": "sessionz"}]}), 400, "INVALID_ARGUMENT"
    )
    assert message.startswith("Field sessionz is not a valid metric.")
    assert "Did you mean sessions?" in message
    message = error_of(
        run(
            api,
            {"dateRanges": [MARCH], "dimensions": [{"name": "contry"}], "metrics": [{"name": "sessions"}]},
        ),
        400,
        "INVALID_ARGUMENT",
    )
    assert "Field contry is not a valid dimension" in message


def test_malformed_requests_are_invalid_argument(api: httpx.Client) -> None:
    error_of(run(api, {"metrics": [{"name": "sessions"}]}), 400, "INVALID_ARGUMENT")
    error_of(
        run(
            api,
            {
                "dateRanges": [{"startDate": "2026-02-30", "endDate": "2026-03-01"}],
                "metrics": [{"name": "sessions"}],
            },
        ),
        400,
        "INVALID_ARGUMENT",
    )
    error_of(
        run(api, {"dateRanges": [MARCH], "metrics": [{"name": "sessions"}], "bogus": 1}),
        400,
        "INVALID_ARGUMENT",
    )
    bad_filter = {"filter": {"fieldName": "sessions", "stringFilter": {"value": "x"}}}
    error_of(
        run(api, {"dateRanges": [MARCH], "metrics": [{"name": "sessions"}], "dimensionFilter": bad_filter}),
        400,
        "INVALID_ARGUMENT",
    )


def test_unknown_property_is_permission_denied(api: httpx.Client) -> None:
    message = error_of(
        run(api, {"dateRanges": [MARCH], "metrics": [{"name": "sessions"}]}, prop="999"),
        403,
        "PERMISSION_DENIED",
    )
    assert message.startswith("User does not have sufficient permissions for this property.")


def test_batch_takes_at_most_five_requests(api: httpx.Client) -> None:
    one = {"dateRanges": [MARCH], "metrics": [{"name": "sessions"}]}
    response = api.post(f"properties/{PROP}:batchRunReports", params=ALT, json={"requests": [one] * 5})
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "analyticsData#batchRunReports"
    assert len(body["reports"]) == 5
    too_many = api.post(f"properties/{PROP}:batchRunReports", params=ALT, json={"requests": [one] * 6})
    assert "at most 5" in error_of(too_many, 400, "INVALID_ARGUMENT")
    with_bad = api.post(
        f"properties/{PROP}:batchRunReports",
        json={"requests": [one, {"dateRanges": [MARCH], "metrics": [{"name": "nope"}]}]},
    )
    assert "Field nope is not a valid metric" in error_of(with_bad, 400, "INVALID_ARGUMENT")


# --- quota ---------------------------------------------------------------------------------------
def test_quota_exhaustion_answers_429_for_that_property_only(
    api: httpx.Client, emulator: Ga4Emulator
) -> None:
    body = {"dateRanges": [MARCH], "metrics": [{"name": "sessions"}], "returnPropertyQuota": True}
    emulator.set_quota(PROP, tokens_per_day_remaining=15)
    last = report(api, body)
    assert last["propertyQuota"]["tokensPerDay"] == {"consumed": 10, "remaining": 5}
    spent = report(api, body)
    assert spent["propertyQuota"]["tokensPerDay"] == {"consumed": 10}  # proto3 drops remaining: 0
    response = run(api, body)
    assert response.status_code == 429
    assert response.json() == {
        "error": {"code": 429, "message": response.json()["error"]["message"], "status": "RESOURCE_EXHAUSTED"}
    }
    assert response.json()["error"]["message"].startswith("Exhausted property tokens per day quota.")
    batch = api.post(f"properties/{PROP}:batchRunReports", json={"requests": [body]})
    error_of(batch, 429, "RESOURCE_EXHAUSTED")
    assert report(api, body, prop=OTHER)["propertyQuota"]["tokensPerDay"]["remaining"] == 990
    emulator.refresh_quota(PROP)
    assert report(api, body)["propertyQuota"]["tokensPerDay"]["remaining"] == 990


def test_hourly_bucket_and_token_cost_grow_with_rows(api: httpx.Client, emulator: Ga4Emulator) -> None:
    body = {
        "dateRanges": [YEAR],
        "dimensions": [{"name": "date"}, {"name": "sessionCampaignName"}],
        "metrics": [{"name": "sessions"}],
        "limit": "1",
        "returnPropertyQuota": True,
    }
    payload = report(api, body)
    assert payload["propertyQuota"]["tokensPerHour"]["consumed"] == 10 + payload["rowCount"] // 100
    emulator.set_quota(PROP, tokens_per_hour_remaining=0)
    assert "per hour" in error_of(run(api, body), 429, "RESOURCE_EXHAUSTED")


# --- auth ----------------------------------------------------------------------------------------
def test_auth_needs_a_jwt_of_the_service_account(server: ServerThread, signer: Signer) -> None:
    url = f"{server.url}/v1beta/properties/{PROP}:runReport"
    body = {"dateRanges": [MARCH], "metrics": [{"name": "sessions"}]}

    def post(token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.post(url, json=body, headers=headers, trust_env=False)

    assert post(signer.jwt()).status_code == 200
    error_of(post(None), 401, "UNAUTHENTICATED")
    error_of(post("not-a-jwt"), 401, "UNAUTHENTICATED")
    error_of(post(signer.jwt(iss="someone@else.iam.gserviceaccount.com")), 401, "UNAUTHENTICATED")
    error_of(post(signer.jwt(exp=int(time.time()) - 5)), 401, "UNAUTHENTICATED")
    error_of(post(Signer(signer.key_id).jwt()), 401, "UNAUTHENTICATED")  # same kid, another key
    error_of(post(Signer("unknown-kid").jwt()), 401, "UNAUTHENTICATED")
    denied = post(signer.jwt(scope="https://www.googleapis.com/auth/drive"))
    assert "insufficient authentication scopes" in error_of(denied, 403, "PERMISSION_DENIED")


def test_expire_tokens_rejects_jwts_issued_before(
    server: ServerThread, emulator: Ga4Emulator, signer: Signer
) -> None:
    url = f"{server.url}/v1beta/properties/{PROP}:runReport"
    body = {"dateRanges": [MARCH], "metrics": [{"name": "sessions"}]}
    old = signer.jwt(iat=int(time.time()) - 30)
    assert (
        httpx.post(url, json=body, headers={"Authorization": f"Bearer {old}"}, trust_env=False).status_code
        == 200
    )
    emulator.expire_tokens()
    stale = httpx.post(url, json=body, headers={"Authorization": f"Bearer {old}"}, trust_env=False)
    error_of(stale, 401, "UNAUTHENTICATED")
    fresh = httpx.post(url, json=body, headers={"Authorization": f"Bearer {signer.jwt()}"}, trust_env=False)
    assert fresh.status_code == 200


def test_metadata_and_request_log(api: httpx.Client, emulator: Ga4Emulator) -> None:
    common = api.get("properties/0/metadata", params=ALT).json()
    assert {d["apiName"] for d in common["dimensions"]} >= {"date", "country"}
    assert OWNER_DIMENSION not in {d["apiName"] for d in common["dimensions"]}
    own = api.get(f"properties/{PROP}/metadata").json()
    assert OWNER_DIMENSION in {d["apiName"] for d in own["dimensions"]}
    assert {"apiName": "sessions", "type": "TYPE_INTEGER"}.items() <= own["metrics"][0].items()
    assert emulator.requests.count(r"/metadata$") == 2
    missing = api.post(f"properties/{PROP}:runPivotReport", json={})
    error_of(missing, 404, "NOT_FOUND")


def test_the_real_client_library_reads_the_emulator(server: ServerThread, emulator: Ga4Emulator) -> None:
    from google.analytics.data_v1beta import BetaAnalyticsDataClient
    from google.analytics.data_v1beta.types import RunReportRequest
    from google.oauth2 import service_account

    info = emulator.issue_key("library-key")
    credentials_type: Any = service_account.Credentials  # google-auth is partly annotated
    credentials = credentials_type.from_service_account_info(info, scopes=[SCOPE])
    client: Any = BetaAnalyticsDataClient(
        transport="rest", credentials=credentials, client_options={"api_endpoint": server.url}
    )
    # google-auth looks up the service account's "regional access boundary" at Google in the
    # background; keep that side session off the network.
    side = client.transport._session._auth_request_session
    side.mount("https://", _Offline())
    request = RunReportRequest.from_json(
        json.dumps(
            {
                "property": f"properties/{PROP}",
                "dateRanges": [MARCH],
                "dimensions": [{"name": "country"}],
                "metrics": [{"name": "sessions"}, {"name": "purchaseRevenue"}],
                "metricAggregations": ["TOTAL"],
                "returnPropertyQuota": True,
            }
        )
    )
    try:
        response = client.run_report(request=request)
    finally:
        client.transport.close()
    assert response.row_count == len(response.rows) > 0
    assert response.metric_headers[1].type_.name == "TYPE_CURRENCY"
    total = float(response.totals[0].metric_values[0].value)
    assert total == expected_total(emulator.facts(PROP), "sessions", date(2026, 3, 1), date(2026, 3, 31))
    assert response.property_quota.tokens_per_day.consumed == 10
