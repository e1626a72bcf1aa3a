"""The shared HTTP client: retries, Retry-After, the status table, call counting, downloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from hub.errors import (
    AuthError,
    ConnectorError,
    PermissionDenied,
    RateLimited,
    RecordRejected,
    TransientError,
)
from hub.http.client import ApiClient
from hub.http.policy import Action, Kind, Resolution, parse_retry_after
from hub.http.retry import RetrySettings, compute_wait
from hub.http.stats import CallStats

FAST = RetrySettings(max_attempts=4, backoff_base_seconds=0.0, max_wait_seconds=5)


def make_client(handler, *, stats=None, retry=FAST, sleeps=None, **kwargs) -> ApiClient:
    waits = sleeps if sleeps is not None else []
    return ApiClient(
        base_url="https://vendor.test/api",
        connection="hr",
        stats=stats or CallStats(),
        retry=retry,
        transport=httpx.MockTransport(handler),
        sleep=waits.append,
        **kwargs,
    )


def sequence(*responses):
    """A handler answering each request with the next response (callables raise)."""
    queue = list(responses)
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    handler.seen = seen  # type: ignore[attr-defined]
    return handler


def test_retry_after_seconds_is_honoured_and_counted():
    stats = CallStats()
    sleeps: list[float] = []
    handler = sequence(
        httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={"ok": True})
    )
    client = make_client(handler, stats=stats, sleeps=sleeps)
    assert client.request("GET", "/x").json() == {"ok": True}
    assert sleeps == [3.0]
    assert (stats.api_calls, stats.retries) == (2, 1)
    assert stats.by_status[429] == 1


def test_retry_after_http_date_is_honoured():
    when = datetime.now(UTC) + timedelta(seconds=4)
    sleeps: list[float] = []
    handler = sequence(
        httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}), httpx.Response(200)
    )
    make_client(handler, sleeps=sleeps).request("GET", "/x")
    assert len(sleeps) == 1
    assert 2.0 <= sleeps[0] <= 4.0


def test_retry_after_is_capped_by_max_wait():
    sleeps: list[float] = []
    handler = sequence(httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200))
    make_client(handler, sleeps=sleeps).request("GET", "/x")
    assert sleeps == [5.0]


def test_attempts_are_bounded_and_the_last_error_is_raised():
    stats = CallStats()
    handler = sequence(*[httpx.Response(500, text="boom")] * 4)
    with pytest.raises(TransientError, match="HTTP 500") as info:
        make_client(handler, stats=stats).request("GET", "/x")
    assert info.value.status == 500
    assert (stats.api_calls, stats.retries) == (4, 3)


def test_connection_errors_are_retried():
    stats = CallStats()
    handler = sequence(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200, json=[]))
    assert make_client(handler, stats=stats).request("GET", "/x").json() == []
    assert (stats.api_calls, stats.retries) == (3, 2)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthError),
        (403, PermissionDenied),
        (404, ConnectorError),
        (400, ConnectorError),
        (410, ConnectorError),
    ],
)
def test_permanent_statuses_fail_at_once(status, error):
    stats = CallStats()
    handler = sequence(httpx.Response(status))
    with pytest.raises(error):
        make_client(handler, stats=stats).request("GET", "/x")
    assert stats.api_calls == 1
    assert stats.retries == 0


def test_auth_error_names_the_connection_and_says_what_to_do():
    handler = sequence(httpx.Response(401))
    with pytest.raises(AuthError) as info:
        make_client(handler).request("GET", "/employees")
    assert "connection `hr`" in str(info.value)
    assert "Check the API key" in str(info.value)


def test_vendor_error_detail_is_included_without_secrets():
    handler = sequence(httpx.Response(400, headers={"X-Error": "bad key s3cr3t-value in request"}))
    client = make_client(
        handler, describe_error=lambda r: r.headers.get("x-error", ""), secrets=frozenset({"s3cr3t-value"})
    )
    with pytest.raises(ConnectorError) as info:
        client.request("GET", "/x")
    assert "bad key *** in request" in str(info.value)
    assert "s3cr3t-value" not in str(info.value)


def test_record_level_refusals_become_record_rejected():
    handler = sequence(httpx.Response(406))
    with pytest.raises(RecordRejected) as info:
        make_client(handler).request("POST", "/employees/7/tables/x", json={}, record_key="7")
    assert info.value.record_key == "7"


def test_connector_overrides_merge_into_the_policy():
    handler = sequence(httpx.Response(404), httpx.Response(200))
    client = make_client(handler, policy_overrides={404: Resolution(Action.RETRY, Kind.TRANSIENT)})
    assert client.request("GET", "/x").status_code == 200


def test_download_retries_a_body_cut_short():
    stats = CallStats()
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
        return httpx.Response(200, content=b'{"employees": [1, 2, 3]}')

    with make_client(handler, stats=stats).download("POST", "/reports/custom", json={}) as body:
        assert body.read() == b'{"employees": [1, 2, 3]}'
    assert stats.retries == 1


def test_download_spools_large_bodies_to_disk():
    payload = b"x" * (9 * 1024 * 1024)
    with make_client(lambda r: httpx.Response(200, content=payload)).download("GET", "/big") as body:
        assert body._rolled  # type: ignore[attr-defined]
        assert len(body.read()) == len(payload)


def test_base_url_keeps_its_path_prefix():
    handler = sequence(httpx.Response(200))
    make_client(handler).request("GET", "employees/directory")
    assert str(handler.seen[0].url) == "https://vendor.test/api/employees/directory"


@pytest.mark.parametrize(
    ("value", "expected"), [("5", 5.0), ("0", 0.0), ("1.5", 1.5), (None, None), ("", None), ("soon", None)]
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_past_date_is_zero():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_backoff_without_retry_after_grows_and_is_capped():
    settings = RetrySettings(backoff_base_seconds=1.0, max_wait_seconds=10)
    assert 1.0 <= compute_wait(1, TransientError("x"), settings) <= 2.0
    assert 4.0 <= compute_wait(3, TransientError("x"), settings) <= 5.0
    assert compute_wait(10, TransientError("x"), settings) == 10
    assert compute_wait(1, RateLimited("x", retry_after=7), settings) == 7
