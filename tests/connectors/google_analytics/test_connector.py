"""GA4 connector against its emulator over real HTTP: batching, quotas, refusals, paging and secrets."""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import trustme
from pydantic import SecretStr, ValidationError

from connectors.google_analytics import GoogleAnalyticsConnector
from connectors.google_analytics.settings import GoogleAnalyticsSettings
from hub.contracts import Capability
from hub.errors import (
    AuthError,
    ConnectorError,
    OkrHubError,
    PermissionDenied,
    QueryRejected,
    QuotaExhausted,
    TransientError,
)
from hub.http.stats import CallStats
from hub.metrics import Ga4Query, MetricResult, MetricSource, QueryRequest, TimeWindow
from hub.registry import ConnectorRegistry
from sandbox.ga4 import OWNER_DIMENSION, Ga4Emulator, expected_total
from sandbox.org import SyntheticOrg
from sandbox.server import Fault, FaultKind, ServerThread
from tests.connectors.google_analytics.conftest import (
    CONNECTION,
    PROPERTY_A,
    PROPERTY_B,
    SA_EMAIL,
    SPRING,
    YEAR,
    MakeConnector,
    ServiceAccountKey,
    grouped_request,
    marketers_with_data,
    owner_filter,
)

BATCH_PATH = r":batchRunReports$"


def monthly(property_id: str, count: int, metric: str = "sessions") -> list[QueryRequest]:
    """`count` ungrouped queries, one per month window, keyed `<property>-<n>`."""
    requests = []
    for index in range(count):
        start = date(2026, 1, 1) + timedelta(days=28 * index)
        window = TimeWindow(start, start + timedelta(days=27))
        requests.append(
            QueryRequest(
                key=f"{property_id}-{index}",
                query=Ga4Query(property_id=property_id, metric=metric, date_range=window),
            )
        )
    return requests


def by_key(results: Iterator[MetricResult]) -> dict[str, MetricResult]:
    return {result.key: result for result in results}


def expected_for(emulator: Ga4Emulator, request: QueryRequest) -> float | None:
    query = request.query
    assert isinstance(query, Ga4Query)
    facts = emulator.facts(query.property_id)
    return expected_total(facts, query.metric, query.date_range.start, query.date_range.end)


# --- contract and settings -----------------------------------------------------------------------
def test_connector_is_a_metric_source_and_registers(make_connector: MakeConnector) -> None:
    connector = make_connector()
    assert isinstance(connector, MetricSource)
    assert GoogleAnalyticsConnector.capabilities == frozenset({Capability.METRIC_SOURCE})
    spec = ConnectorRegistry.from_classes([GoogleAnalyticsConnector]).get("google_analytics")
    assert spec.settings_model is GoogleAnalyticsSettings


def test_settings_read_the_key_from_a_file_reference(tmp_path: Path, good_key: ServiceAccountKey) -> None:
    key_file = tmp_path / "ga4-key.json"
    key_file.write_text(good_key.json, encoding="utf-8")
    found: set[str] = set()
    settings = GoogleAnalyticsSettings.model_validate(
        {"service_account_json": f"${{file:{key_file}}}", "property_ids": ["properties/123", 456]},
        context={"secrets": found},
    )
    assert str(settings.base_url).startswith("https://analyticsdata.googleapis.com")
    assert settings.property_ids == ["123", "456"]
    assert settings.max_batch == 5
    assert settings.service_account_email() == SA_EMAIL
    assert found == {good_key.json, good_key.private_key}  # both masked in logs


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"service_account_json": "literal"}, "never the secret itself"),
        ({"max_batch": 6}, "less than or equal to 5"),
        ({"property_ids": ["G-ABC123"]}, "not a GA4 property id"),
    ],
)
def test_settings_refuse_bad_values(
    good_key: ServiceAccountKey, change: dict[str, object], needle: str
) -> None:
    raw: dict[str, object] = {"service_account_json": SecretStr(good_key.json), **change}
    with pytest.raises(ValidationError, match=needle):
        GoogleAnalyticsSettings.model_validate(raw)


def test_settings_refuse_a_file_that_is_not_a_key_without_quoting_it(good_key: ServiceAccountKey) -> None:
    not_a_key = json.dumps({**good_key.info, "type": "authorized_user"})
    with pytest.raises(ValidationError) as info:
        GoogleAnalyticsSettings.model_validate({"service_account_json": SecretStr(not_a_key)})
    assert "not a service-account key" in str(info.value)
    assert good_key.private_key not in str(info.value)
    with pytest.raises(ValidationError, match="is not JSON"):
        GoogleAnalyticsSettings.model_validate({"service_account_json": SecretStr("-----BEGIN PRIVATE KEY")})


# --- batching ------------------------------------------------------------------------------------
def test_twelve_queries_on_one_property_take_three_batch_calls(
    make_connector: MakeConnector, emulator: Ga4Emulator
) -> None:
    requests = monthly(PROPERTY_A, 12)
    stats = CallStats()
    results = list(make_connector(stats=stats).run_queries(requests))
    assert [r.key for r in results] == [r.key for r in requests]
    assert emulator.requests.count(BATCH_PATH) == 3
    assert emulator.requests.count(r":runReport$") == 0
    assert stats.api_calls == 3
    for request, result in zip(requests, results, strict=True):
        assert result.error is None
        assert result.value == expected_for(emulator, request)
        sent = result.evidence["request"]["dateRanges"][0]
        assert isinstance(request.query, Ga4Query)
        assert sent["startDate"] == request.query.date_range.start.isoformat()


def test_properties_are_batched_separately(make_connector: MakeConnector, emulator: Ga4Emulator) -> None:
    requests = [*monthly(PROPERTY_A, 3), *monthly(PROPERTY_B, 3)]
    interleaved = [requests[i // 2 + (i % 2) * 3] for i in range(6)]
    results = list(make_connector().run_queries(interleaved))
    assert [r.key for r in results] == [r.key for r in interleaved]
    assert emulator.requests.count(f"/{PROPERTY_A}{BATCH_PATH}") == 1
    assert emulator.requests.count(f"/{PROPERTY_B}{BATCH_PATH}") == 1
    assert all(r.error is None and r.value for r in results)


def test_later_pages_are_batched_together(make_connector: MakeConnector, emulator: Ga4Emulator) -> None:
    query = Ga4Query(property_id=PROPERTY_A, metric="sessions", date_range=YEAR, group_by="date")
    stats = CallStats()
    result = next(
        make_connector(stats=stats, page_size=50).run_queries([QueryRequest(key="daily", query=query)])
    )
    assert result.error is None
    assert len(result.groups) == 365
    assert result.rows == 365
    assert result.evidence["pages"] == 8
    assert stats.api_calls == 3  # page 1, then pages 2-6 and 7-8 in two batches
    assert result.groups["20260704"] == sum(
        f.sessions for f in emulator.facts(PROPERTY_A) if f.day == date(2026, 7, 4)
    )


def test_a_ratio_metric_is_read_from_the_totals(make_connector: MakeConnector, emulator: Ga4Emulator) -> None:
    owners = marketers_with_data(emulator, SPRING, 3)
    grouped = Ga4Query(
        property_id=PROPERTY_A,
        metric="engagementRate",
        date_range=SPRING,
        dimension_filter=owner_filter(owners),
        group_by=OWNER_DIMENSION,
    )
    result = next(make_connector().run_queries([QueryRequest(key="rate", query=grouped)]))
    facts = emulator.facts(PROPERTY_A)
    assert result.value == pytest.approx(
        expected_total(facts, "engagementRate", SPRING.start, SPRING.end, lambda f: f.owner in owners)
    )
    assert result.groups[owners[0]] == pytest.approx(
        expected_total(facts, "engagementRate", SPRING.start, SPRING.end, lambda f: f.owner == owners[0])
    )


def test_an_empty_report_has_no_value(make_connector: MakeConnector) -> None:
    window = TimeWindow(date(2025, 1, 1), date(2025, 1, 31))
    requests = [
        QueryRequest(
            key="flat", query=Ga4Query(property_id=PROPERTY_A, metric="sessions", date_range=window)
        ),
        QueryRequest(
            key="grouped",
            query=Ga4Query(property_id=PROPERTY_A, metric="sessions", date_range=window, group_by="country"),
        ),
    ]
    results = by_key(make_connector().run_queries(requests))
    assert results["flat"].error is None
    assert results["flat"].value is None
    assert results["grouped"].value is None
    assert results["grouped"].groups == {}
    assert results["grouped"].rows == 0


# --- quota ---------------------------------------------------------------------------------------
def test_quota_exhaustion_stops_one_property_while_the_other_goes_on(
    make_connector: MakeConnector, emulator: Ga4Emulator
) -> None:
    emulator.set_quota(PROPERTY_A, tokens_per_day_remaining=15)
    requests = [*monthly(PROPERTY_A, 12), *monthly(PROPERTY_B, 6)]
    connector = make_connector()
    results = by_key(connector.run_queries(requests))
    first_batch = [f"{PROPERTY_A}-{i}" for i in range(5)]
    for key in first_batch:
        assert results[key].error is None
    for key in (f"{PROPERTY_A}-{i}" for i in range(5, 12)):
        error = results[key].error
        assert isinstance(error, QuotaExhausted)
        assert error.scope == f"property {PROPERTY_A}"
        assert CONNECTION in str(error)
        assert "Exhausted property tokens per day quota" in str(error)
    assert all(results[f"{PROPERTY_B}-{i}"].error is None for i in range(6))
    # the first batch spent the last tokens; the second got 429; nothing was sent to A after that
    assert emulator.requests.count(f"/{PROPERTY_A}{BATCH_PATH}") == 2
    assert connector.usage()["exhausted"] == [PROPERTY_A]
    again = by_key(connector.run_queries(monthly(PROPERTY_A, 2)))
    assert all(isinstance(r.error, QuotaExhausted) for r in again.values())
    assert emulator.requests.count(f"/{PROPERTY_A}{BATCH_PATH}") == 2


def test_property_quota_is_recorded_in_usage(make_connector: MakeConnector, emulator: Ga4Emulator) -> None:
    connector = make_connector()
    list(connector.run_queries([*monthly(PROPERTY_A, 7), *monthly(PROPERTY_B, 1)]))
    usage = connector.usage()
    spent_a = emulator.quotas[PROPERTY_A]
    assert usage["properties"][PROPERTY_A]["tokensPerDay"] == {
        "consumed": spent_a.day_used,
        "remaining": spent_a.per_day - spent_a.day_used,
    }
    assert (
        usage["properties"][PROPERTY_A]["tokensPerHour"]["remaining"] == spent_a.per_hour - spent_a.hour_used
    )
    assert usage["properties"][PROPERTY_B]["tokensPerDay"]["consumed"] == emulator.quotas[PROPERTY_B].day_used
    assert "exhausted" not in usage


# --- refusals ------------------------------------------------------------------------------------
def test_a_bad_query_in_a_batch_fails_alone(make_connector: MakeConnector, emulator: Ga4Emulator) -> None:
    requests = monthly(PROPERTY_A, 5)
    bad = QueryRequest(
        key="bad", query=Ga4Query(property_id=PROPERTY_A, metric="sessionz", date_range=SPRING)
    )
    requests.insert(2, bad)
    results = by_key(make_connector().run_queries(requests))
    error = results["bad"].error
    assert isinstance(error, QueryRejected)
    assert "Field sessionz is not a valid metric" in str(error)
    assert "Did you mean sessions?" in str(error)
    assert "query `bad`" in str(error)
    for request in requests:
        if request.key != "bad":
            assert results[request.key].error is None
            assert results[request.key].value == expected_for(emulator, request)
    # batch one (5 reports) refused, re-run one by one; batch two (1 report) went through
    assert emulator.requests.count(BATCH_PATH) == 2
    assert emulator.requests.count(r":runReport$") == 5


def test_a_malformed_filter_is_refused_before_any_call(
    make_connector: MakeConnector, emulator: Ga4Emulator
) -> None:
    query = Ga4Query(
        property_id=PROPERTY_A,
        metric="sessions",
        date_range=SPRING,
        dimension_filter={"filter": {"fieldName": "country", "stringFiltr": {"value": "x"}}},
    )
    result = next(make_connector().run_queries([QueryRequest(key="typo", query=query)]))
    assert isinstance(result.error, QueryRejected)
    assert "stringFiltr" in str(result.error)
    assert emulator.requests.count("") == 0


def test_properties_outside_the_allowed_list_or_the_grant_are_denied(
    make_connector: MakeConnector, emulator: Ga4Emulator
) -> None:
    outside = QueryRequest(
        key="outside", query=Ga4Query(property_id="555", metric="sessions", date_range=SPRING)
    )
    results = by_key(make_connector().run_queries([outside, *monthly(PROPERTY_A, 1)]))
    assert isinstance(results["outside"].error, PermissionDenied)
    assert "property_ids" in str(results["outside"].error)
    assert emulator.requests.count("/555") == 0
    # with any property allowed, the API's own 403 names the fix
    results = by_key(make_connector(property_ids=[]).run_queries([outside, *monthly(PROPERTY_A, 1)]))
    error = results["outside"].error
    assert isinstance(error, PermissionDenied)
    assert f"add {SA_EMAIL} as a Viewer" in str(error)
    assert results[f"{PROPERTY_A}-0"].error is None


def test_hostile_filter_values_round_trip_exactly(
    make_connector: MakeConnector, emulator: Ga4Emulator
) -> None:
    hostile = [
        "o'brien\"\\x@acme.example",
        "zoë+ü@acme.example",
        "tab\there\nnewline",
        "emoji 🎯 ' OR 1=1 --",
    ]
    owner = marketers_with_data(emulator, SPRING, 1)[0]
    expression = {
        "orGroup": {
            "expressions": [
                {"filter": {"fieldName": OWNER_DIMENSION, "inListFilter": {"values": [*hostile, owner]}}},
                {
                    "filter": {
                        "fieldName": OWNER_DIMENSION,
                        "stringFilter": {"matchType": "EXACT", "value": hostile[0], "caseSensitive": True},
                    }
                },
            ]
        }
    }
    query = Ga4Query(
        property_id=PROPERTY_A,
        metric="sessions",
        date_range=SPRING,
        dimension_filter=expression,
        group_by=OWNER_DIMENSION,
    )
    result = next(make_connector().run_queries([QueryRequest(key="hostile", query=query)]))
    assert result.error is None
    assert set(result.groups) == {owner}
    _, received = emulator.received[-1]
    sent = received["dimensionFilter"]["orGroup"]["expressions"]
    assert sent[0]["filter"]["inListFilter"]["values"] == [*hostile, owner]
    assert sent[1]["filter"]["stringFilter"]["value"] == hostile[0]


# --- failures and credentials ------------------------------------------------------------------
def test_server_errors_are_retried(make_connector: MakeConnector, emulator: Ga4Emulator) -> None:
    emulator.faults.inject(Fault(kind="status", status=503, path=BATCH_PATH, times=2))
    stats = CallStats()
    results = list(make_connector(stats=stats).run_queries(monthly(PROPERTY_A, 2)))
    assert all(r.error is None for r in results)
    assert stats.retries == 2
    assert stats.api_calls == 3


def test_a_connection_reset_is_retried(make_connector: MakeConnector, emulator: Ga4Emulator) -> None:
    emulator.faults.inject(Fault(kind="reset", path=BATCH_PATH))
    stats = CallStats()
    results = list(make_connector(stats=stats).run_queries(monthly(PROPERTY_A, 1)))
    assert results[0].error is None
    assert stats.retries == 1


@pytest.mark.parametrize("kind", ["truncate_json", "short_body"])
def test_a_body_cut_short_is_read_again(
    make_connector: MakeConnector, emulator: Ga4Emulator, kind: FaultKind
) -> None:
    emulator.faults.inject(Fault(kind=kind, path=BATCH_PATH))
    stats = CallStats()
    requests = monthly(PROPERTY_A, 2)
    results = list(make_connector(stats=stats).run_queries(requests))
    assert [r.value for r in results] == [expected_for(emulator, r) for r in requests]
    assert stats.retries == 1


def test_a_property_that_keeps_failing_stops_after_the_retries(
    make_connector: MakeConnector, emulator: Ga4Emulator
) -> None:
    emulator.faults.inject(Fault(kind="status", status=500, path=f"/{PROPERTY_A}{BATCH_PATH}", times=50))
    results = by_key(make_connector().run_queries([*monthly(PROPERTY_A, 7), *monthly(PROPERTY_B, 1)]))
    assert all(isinstance(results[f"{PROPERTY_A}-{i}"].error, TransientError) for i in range(7))
    assert results[f"{PROPERTY_B}-0"].error is None
    assert emulator.requests.count(f"/{PROPERTY_A}{BATCH_PATH}") == 4  # FAST_RETRY: 4 attempts, then stop


def test_bad_credentials_raise_an_actionable_auth_error(make_connector: MakeConnector) -> None:
    with pytest.raises(AuthError) as info:
        list(make_connector(bad_credentials=True).run_queries(monthly(PROPERTY_A, 1)))
    assert SA_EMAIL in str(info.value)
    assert "service_account_json" in str(info.value)


def test_check_names_every_configured_property(make_connector: MakeConnector, emulator: Ga4Emulator) -> None:
    result = make_connector().check()
    assert result.ok
    assert PROPERTY_A in result.detail
    assert PROPERTY_B in result.detail
    assert SA_EMAIL in result.detail
    with pytest.raises(PermissionDenied, match="as a Viewer"):
        make_connector(property_ids=["555"]).check()


def test_a_re_signed_token_is_used_after_the_api_expires_the_old_one(
    make_connector: MakeConnector, emulator: Ga4Emulator
) -> None:
    connector = make_connector()
    assert connector.check().ok
    time.sleep(1.05)  # JWT `iat` has one-second resolution
    emulator.expire_tokens()
    results = list(connector.run_queries(monthly(PROPERTY_A, 1)))
    assert results[0].error is None
    assert emulator.requests.entries[-2].status == 401  # the stale JWT, then the re-signed one
    assert emulator.requests.entries[-1].status == 200


def test_ca_bundle_wins_over_requests_ca_bundle(
    org: SyntheticOrg,
    good_key: ServiceAccountKey,
    make_connector: MakeConnector,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours, theirs = trustme.CA(), trustme.CA()
    ca_file, other_file = tmp_path / "ca.pem", tmp_path / "other.pem"
    ours.cert_pem.write_to_path(str(ca_file))
    theirs.cert_pem.write_to_path(str(other_file))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other_file))
    ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ours.issue_cert("127.0.0.1").configure_cert(ssl_context)
    app = Ga4Emulator(org, property_ids=(PROPERTY_A,), service_account_email=SA_EMAIL)
    app.trust_key(good_key.info["private_key_id"], good_key.public_pem)
    with ServerThread(app, ssl_context=ssl_context) as server:
        connector = make_connector(base_url=server.url, ca_bundle=ca_file, property_ids=[PROPERTY_A])
        assert connector.check().ok
        untrusting = make_connector(base_url=server.url, property_ids=[PROPERTY_A])
        with pytest.raises(ConnectorError, match="point `ca_bundle` at"):
            untrusting.check()


def test_no_secret_reaches_errors_evidence_or_logs(
    make_connector: MakeConnector,
    emulator: Ga4Emulator,
    good_key: ServiceAccountKey,
    bad_key: ServiceAccountKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    for connector_settings in ({"bad_credentials": True}, {"property_ids": ["555"]}):
        try:
            make_connector(**connector_settings).check()
        except OkrHubError as exc:
            texts += [str(exc), repr(exc.attrs())]
    emulator.set_quota(PROPERTY_B, tokens_per_day_remaining=0)
    grouped, _ = grouped_request(emulator)
    bad = QueryRequest(key="bad", query=Ga4Query(property_id=PROPERTY_A, metric="nope", date_range=SPRING))
    connector = make_connector()
    results = list(connector.run_queries([grouped, bad, *monthly(PROPERTY_B, 1)]))
    texts += [str(r.error) for r in results if r.error] + [repr(r.evidence) for r in results]
    texts += [repr(connector.usage()), caplog.text]
    secrets = [good_key.private_key, bad_key.private_key]
    pem_lines = [line for key in secrets for line in key.splitlines() if not line.startswith("-----")]
    for text in texts:
        for secret in [*secrets, *pem_lines]:
            assert secret not in text
