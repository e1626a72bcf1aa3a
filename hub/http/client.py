"""The HTTP client every httpx-based connector uses.

It owns the things no connector should write twice: the base URL and CA bundle from the
connection's settings, timeouts, the retry policy, the status table, call counting for the
ledger, vendor error text with secrets stripped, and downloads spooled to disk so a
100,000-person report never sits in memory twice.

Example:
    ```python
    api = ApiClient(
        base_url=str(settings.base_url),
        connection="hr",
        stats=context.stats,
        verify=settings.verify(),
        auth=httpx.BasicAuth(key, "x"),
        describe_error=lambda r: r.headers.get("x-bamboohr-error-message", ""),
    )
    people = api.request("GET", "/employees/directory").json()
    with api.download("POST", "/reports/custom", json=body) as body_file:
        for row in ijson.items(body_file, "employees.item"):
            ...
    ```
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

import httpx

from hub.contracts import ConnectorContext
from hub.errors import TransientError
from hub.http.policy import STATUS_POLICY, Resolution, error_for_response, merged_policy
from hub.http.retry import RetrySettings, build_retrying
from hub.http.settings import HttpConnectionSettings
from hub.http.stats import CallStats
from hub.redact import redact

logger = logging.getLogger(__name__)

SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
"""Downloads up to this size stay in memory; larger ones spill to a temporary file."""


def _no_detail(_response: httpx.Response) -> str:
    return ""


class ApiClient:
    """An httpx client bound to one connection, with retries, the status policy and call counting."""

    def __init__(
        self,
        *,
        base_url: str,
        connection: str,
        stats: CallStats,
        retry: RetrySettings | None = None,
        verify: str | bool = True,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        policy_overrides: Mapping[int, Resolution] | None = None,
        describe_error: Callable[[httpx.Response], str] = _no_detail,
        secrets: frozenset[str] = frozenset(),
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.connection = connection
        self.stats = stats
        self.retry_settings = retry or RetrySettings()
        self.policy = merged_policy(policy_overrides) if policy_overrides else STATUS_POLICY
        self.describe_error = describe_error
        self.secrets = secrets
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            verify=verify,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            auth=auth,
            headers=dict(headers or {}),
            event_hooks={"response": [self._count_response]},
            trust_env=False,
        )

    @classmethod
    def for_connection(
        cls,
        settings: HttpConnectionSettings,
        context: ConnectorContext,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        policy_overrides: Mapping[int, Resolution] | None = None,
        describe_error: Callable[[httpx.Response], str] = _no_detail,
        secrets: frozenset[str] = frozenset(),
    ) -> ApiClient:
        """A client for one configured connection: its base URL, CA bundle, timeout and retries.

        `context.retry` (set by a caller that needs other bounds) wins over the settings' retry;
        `secrets` adds to the context's.
        """
        return cls(
            base_url=settings.url(),
            connection=context.connection,
            stats=context.stats,
            retry=context.retry or settings.retry,
            verify=settings.verify(),
            timeout=settings.timeout_seconds,
            transport=context.transport,
            auth=auth,
            headers=headers,
            policy_overrides=policy_overrides,
            describe_error=describe_error,
            secrets=context.secrets | secrets,
        )

    def _count_response(self, response: httpx.Response) -> None:
        self.stats.record_call(response.status_code)
        logger.debug("%s %s -> %s", response.request.method, response.request.url, response.status_code)

    def _detail(self, response: httpx.Response) -> str:
        try:
            response.read()
            return redact(self.describe_error(response), self.secrets)
        except httpx.HTTPError:
            return ""

    def _retrying(self, method: str, url: str) -> Any:
        return build_retrying(self.retry_settings, self.stats, sleep=self._sleep, describe=f"{method} {url}")

    def _check(self, response: httpx.Response, record_key: str | None) -> None:
        if response.status_code < 300:
            return
        error = error_for_response(
            response,
            policy=self.policy,
            connection=self.connection,
            detail=self._detail(response),
            record_key=record_key,
        )
        if error is not None:
            raise error

    def _transport_error(self, method: str, url: str, exc: httpx.TransportError) -> TransientError:
        self.stats.record_call(None)
        kind = type(exc).__name__
        return TransientError(f"connection `{self.connection}`: {method} {url} failed: {kind}: {exc}")

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        record_key: str | None = None,
    ) -> httpx.Response:
        """Send a request with retries; return the read response or raise from the error tree.

        `record_key` names the record a write is for, so a per-record refusal (406, 409, 422)
        becomes `RecordRejected` instead of failing the run.
        """
        for attempt in self._retrying(method, url):
            with attempt:
                try:
                    response = self._client.request(
                        method, url, params=params, json=json, content=content, data=data, headers=headers
                    )
                except httpx.TransportError as exc:
                    raise self._transport_error(method, url, exc) from exc
                self._check(response, record_key)
                return response
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    @contextmanager
    def download(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[IO[bytes]]:
        """Download a whole body (retrying the whole transfer on failure) and yield it as a file.

        The body is spooled: small ones stay in memory, large ones go to a temporary file, so a
        streaming parser can read it with flat memory. A body cut short (a reset, fewer bytes
        than Content-Length) is a transient failure and is fetched again.
        """
        for attempt in self._retrying(method, url):
            with attempt:
                spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
                try:
                    with self._client.stream(
                        method, url, params=params, json=json, headers=headers
                    ) as response:
                        self._check(response, None)
                        for chunk in response.iter_bytes(chunk_size=256 * 1024):
                            spool.write(chunk)
                except httpx.TransportError as exc:
                    spool.close()
                    raise self._transport_error(method, url, exc) from exc
                except BaseException:
                    spool.close()
                    raise
        spool.seek(0)
        try:
            yield spool
        finally:
            spool.close()

    def close(self) -> None:
        """Close the underlying connections."""
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
