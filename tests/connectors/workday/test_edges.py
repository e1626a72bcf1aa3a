"""Vendor quirks the emulator does not produce: missing `expires_in`, dated offsets, odd error bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.workday import WorkdayConnector
from connectors.workday.auth import WorkdayRefreshTokenAuth
from connectors.workday.client import describe_workday_error
from connectors.workday.settings import WorkdaySettings
from hub.contracts import ConnectorContext, PersonRecord, PersonStatus
from hub.errors import AuthError, PermissionDenied, SourceDataError
from hub.http.retry import RetrySettings
from hub.http.stats import CallStats

BASE = "https://wd2-impl-services1.workday.test"
TOKEN_URL = f"{BASE}/ccx/oauth2/acme/token"


def connector_with(handler: Callable[[httpx.Request], httpx.Response], **overrides: Any) -> WorkdayConnector:
    values: dict[str, Any] = {
        "base_url": BASE,
        "tenant": "acme",
        "client_id": "cid",
        "client_secret": SecretStr("client-secret-value"),
        "refresh_token": SecretStr("refresh-token-value"),
        "report_owner": "isu",
        "report_name": "workers",
        "retry": RetrySettings(max_attempts=3, backoff_base_seconds=0, max_wait_seconds=0),
    }
    values.update(overrides)
    context = ConnectorContext(connection="hcm", stats=CallStats(), transport=httpx.MockTransport(handler))
    return WorkdayConnector(WorkdaySettings(**values), context=context)


class FakeWorkday:
    """A scripted Workday: tokens without `expires_in`, and whatever the test puts in `answers`."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.tokens = 0
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.path.endswith("/token"):
            self.tokens += 1
            return httpx.Response(200, json={"access_token": f"t{self.tokens}", "token_type": "Bearer"})
        return self.answers.pop(0)


def report(*rows: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"Report_Entry": list(rows)})


def test_token_without_expires_in_is_cached(caplog):
    fake = FakeWorkday(report(), report())
    connector = connector_with(fake)
    list(connector.read_org(connector.default_fields(), since=None))
    list(connector.read_org(connector.default_fields(), since=None))
    assert fake.tokens == 1
    token_request = fake.seen[0]
    assert token_request.headers["Authorization"].startswith("Basic ")
    assert b"grant_type=refresh_token" in token_request.content
    assert all(r.headers["Authorization"] == "Bearer t1" for r in fake.seen[1:])


def test_dates_with_a_zone_offset_and_status_words_are_read():
    row = {
        "Employee_ID": "7",
        "Hire_Date": "2015-03-02-08:00",
        "Termination_Date": "2024-05-31Z",
        "Active_Status": "0",
        "Supervisory_Organization": "Platform",
    }
    connector = connector_with(FakeWorkday(report(row)))
    items = list(connector.read_org(connector.default_fields(), since=None))
    person = next(item for item in items if isinstance(item, PersonRecord))
    assert (person.hire_date, person.termination_date) == (date(2015, 3, 2), date(2024, 5, 31))
    assert person.status is PersonStatus.TERMINATED
    assert person.department == "Platform"


def test_a_second_401_after_renewal_is_an_auth_error_naming_scopes():
    unauthorized = httpx.Response(401, json={"error": "invalid_token", "error_description": "nope"})
    fake = FakeWorkday(unauthorized, unauthorized)
    connector = connector_with(fake, mode="rest")
    with pytest.raises(AuthError, match="scopes") as caught:
        connector.check()
    assert fake.tokens == 2, "renewed exactly once"
    assert "refresh-token-value" not in str(caught.value)


def test_forbidden_says_which_security_to_grant():
    fake = FakeWorkday(httpx.Response(403, json={"error": "The task submitted is not authorized."}))
    with pytest.raises(PermissionDenied, match="security group"):
        connector_with(fake, mode="rest").check()


def test_token_answer_without_access_token_is_source_data_error():
    connector = connector_with(lambda request: httpx.Response(200, json={"token_type": "Bearer"}))
    assert "without an access_token" in connector.check().detail
    with pytest.raises(SourceDataError, match="access_token"):
        list(connector.read_org(connector.default_fields(), since=None))


def test_report_row_that_is_not_an_object_is_skipped_and_row_without_id_rejected():
    fake = FakeWorkday(
        httpx.Response(200, content=json.dumps({"Report_Entry": ["junk", {"Preferred_Name": "X"}]}))
    )
    connector = connector_with(fake)
    items = list(connector.read_org(connector.default_fields(), since=None))
    assert [type(item).__name__ for item in items] == ["RecordRejected"]


def test_auth_renews_before_expiry_using_expires_in():
    now = [0.0]
    tokens = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            tokens.append(request)
            return httpx.Response(200, json={"access_token": f"t{len(tokens)}", "expires_in": 100})
        return httpx.Response(200, json={"total": 0, "data": []})

    auth = WorkdayRefreshTokenAuth(
        token_url=TOKEN_URL,
        client_id="cid",
        client_secret=SecretStr("s"),
        refresh_token=SecretStr("r"),
        connection="hcm",
        clock=lambda: now[0],
    )
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.get(f"{BASE}/x")
        now[0] = 80.0
        client.get(f"{BASE}/x")
        assert len(tokens) == 1
        now[0] = 95.0  # inside the early-refresh margin
        assert client.get(f"{BASE}/x").request.headers["Authorization"] == "Bearer t2"
    assert auth.exchanges == 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"error": "invalid request", "errors": [{"error": "must be at most 100", "field": "limit"}]},
            "invalid request; `limit`: must be at most 100",
        ),
        ({"error": "invalid_grant", "error_description": "expired"}, "invalid_grant; expired"),
        ({"error": "not found", "errors": [{"error": "not found"}]}, "not found"),
        (["odd"], '["odd"]'),
    ],
)
def test_describe_workday_error(body, expected):
    assert describe_workday_error(httpx.Response(400, json=body)) == expected


def test_describe_non_json_error_is_a_short_excerpt():
    text = describe_workday_error(httpx.Response(502, text="<html>\n  Bad   gateway " + "x" * 1000))
    assert text.startswith("<html> Bad gateway")
    assert len(text) <= 300
