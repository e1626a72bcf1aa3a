"""A thin client over simple-salesforce: token, retries, one re-authentication, the API budget.

simple-salesforce is given a direct session (`session_id` + `instance_url`) and our own
`requests.Session` (the connection's CA, `trust_env=False` so `REQUESTS_CA_BUNDLE` cannot override
it, a response hook that counts every request for the run ledger). A direct session never
refreshes itself, so `SalesforceExpiredSession` in the middle of a run makes this client fetch a
new token, rebuild the SDK object and repeat that call, once. 429, 5xx and broken connections are
retried by `hub.http.retry`. Every SDK exception is translated once, in `translate_errors`.

Before each API call the client compares the org's usage (from `Sforce-Limit-Info`, as
`sf.api_usage` parses it) with `max_daily_api_share` and stops with `QuotaExhausted` rather than
push usage past the share.

Example:
    ```python
    client = SalesforceClient(settings, context=context)
    for page in client.query_pages("SELECT Id, Amount FROM Opportunity"):
        ...   # {"totalSize": 3375, "done": False, "nextRecordsUrl": "...", "records": [...]}
    client.usage   # ApiUsage(used=3, limit=100000)
    client.close()
    ```
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.salesforce.auth import SalesforceAuth, transport_error
from connectors.salesforce.settings import SalesforceSettings
from hub.contracts import ConnectorContext
from hub.errors import (
    AuthError,
    ConnectorError,
    PermissionDenied,
    QueryRejected,
    QuotaExhausted,
    RateLimited,
    SourceDataError,
    TransientError,
)
from hub.http.policy import Action, parse_retry_after, resolve
from hub.http.retry import build_retrying
from hub.http.stats import CallStats
from hub.redact import redact

logger = logging.getLogger(__name__)

T = TypeVar("T")
_MAX_VENDOR_TEXT = 2000


class SessionExpired(AuthError):
    """Salesforce answered 401 `INVALID_SESSION_ID`: the session expired or was revoked."""


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """The org's API requests used today and its daily limit, from `Sforce-Limit-Info`."""

    used: int
    limit: int


def vendor_error(content: Any) -> tuple[str, str]:
    """`(errorCode, message)` from a Salesforce error body (a JSON array, an OAuth object, or text)."""
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        first = content[0]
        return str(first.get("errorCode", "")), str(first.get("message", "")).strip("\r\n").rstrip()
    if isinstance(content, Mapping):
        return str(content.get("errorCode") or content.get("error") or ""), str(
            content.get("message") or content.get("error_description") or ""
        ).strip()
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content or "")
    return "", text.strip()[:300]


@contextmanager
def translate_errors(
    *,
    connection: str,
    what: str,
    secrets: Iterable[str] = (),
    settings: SalesforceSettings,
    stats: CallStats | None = None,
    last_headers: Callable[[], Mapping[str, str]] = dict,
) -> Iterator[None]:
    """Run SDK calls, raising only errors from `hub.errors`.

    - `SalesforceExpiredSession` (401) becomes `SessionExpired` (an `AuthError`; the client
      re-authenticates once before letting it through);
    - `SalesforceMalformedRequest` (400: `MALFORMED_QUERY`, `INVALID_FIELD`, ...) becomes
      `QueryRejected` quoting Salesforce's message;
    - `SalesforceRefusedRequest` (403) becomes `QuotaExhausted` for `REQUEST_LIMIT_EXCEEDED`, else
      `PermissionDenied`;
    - 429 and 5xx become `RateLimited` / `TransientError` (retried); a 404 names `api_version`;
    - a TLS failure is a `ConnectorError` naming `ca_bundle`; other connection failures and bodies
      that are not JSON are `TransientError`.

    Args:
        connection: the connection's name, for error text.
        what: the call, for error text (`query`, `GET limits`).
        secrets: values to strip from any text that quotes the vendor.
        settings: the connection's settings (for hints that name them).
        stats: counts a request that got no response at all.
        last_headers: the headers of the last response (for `Retry-After`).
    """
    prefix = f"connection `{connection}`: "
    try:
        yield
    except SalesforceError as exc:
        code, message = vendor_error(exc.content)
        said = redact(f"{code}: {message}" if code else message, secrets)[:_MAX_VENDOR_TEXT] or "no details"
        status = int(exc.status)
        if isinstance(exc, SalesforceExpiredSession):
            raise SessionExpired(
                f"{prefix}Salesforce refused the session (HTTP 401 on {what}: {said})",
                connection=connection,
                status=status,
            ) from exc
        if isinstance(exc, SalesforceMalformedRequest):
            # Salesforce's message is the query line, a caret line and the reason: keep it on its own
            # lines so the caret still points at the offending token.
            text = redact(message, secrets)[:_MAX_VENDOR_TEXT]
            reason = f"{code or 'HTTP 400'}:\n{text}" if "\n" in text else f"{code or 'HTTP 400'}: {text}"
            raise QueryRejected(
                f"{prefix}Salesforce rejected the {what}, {reason}", connection=connection, status=status
            ) from exc
        if isinstance(exc, SalesforceRefusedRequest):
            if code == "REQUEST_LIMIT_EXCEEDED":
                raise QuotaExhausted(
                    f"{prefix}Salesforce refused the {what}: the org's API request limit is spent ({said}). "
                    "Nothing more can be read until the rolling 24-hour window frees requests; ask the "
                    "Salesforce admin about the org's limit and the other integrations' usage.",
                    connection=connection,
                    status=status,
                ) from exc
            raise PermissionDenied(
                f"{prefix}Salesforce refused the {what} (HTTP 403: {said}). The integration user needs "
                "'API Enabled' and read access to the objects and fields the query names.",
                connection=connection,
                status=status,
            ) from exc
        if isinstance(exc, SalesforceResourceNotFound):
            raise ConnectorError(
                f"{prefix}Salesforce answered 404 to the {what} ({said}); check `api_version` "
                f"({settings.api_version}): the org must serve that REST API version.",
                connection=connection,
                status=status,
            ) from exc
        if resolve(status).action is Action.RETRY:
            headers = last_headers()
            if status == 429 or "Retry-After" in headers:
                raise RateLimited(
                    f"{prefix}Salesforce rate limited the {what} (HTTP {status})",
                    retry_after=parse_retry_after(headers.get("Retry-After")),
                    status=status,
                ) from exc
            raise TransientError(
                f"{prefix}the {what} failed with HTTP {status} ({said})", status=status
            ) from exc
        raise ConnectorError(
            f"{prefix}the {what} failed with HTTP {status} ({said})", connection=connection, status=status
        ) from exc
    except requests.exceptions.JSONDecodeError as exc:
        raise TransientError(f"{prefix}the {what} answered a body that is not JSON (cut short?)") from exc
    except requests.RequestException as exc:
        if stats is not None:
            stats.record_call(None)
        raise transport_error(connection, f"the {what}", exc, settings=settings) from exc


class SalesforceClient:
    """SOQL queries and limits of one connection, with errors from `hub.errors` only.

    Args:
        settings: the connection's settings.
        context: what the hub hands the connector; `context.retry`, when set, overrides the
            settings' retry policy, and `context.stats` counts every HTTP request.
        sleep: replaces `time.sleep` between retries (tests).
    """

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        context: ConnectorContext,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.connection = context.connection
        self.usage: ApiUsage | None = None
        """The org's API usage after the last successful call; None before the first."""
        self.reauths = 0
        """How many times the session expired mid-run and was renewed."""
        self.instance_url: str | None = None
        self._stats = context.stats
        self._retry = context.retry or settings.retry
        self._sleep = sleep
        self._secrets: set[str] = set(context.secrets) | {
            secret.get_secret_value()
            for secret in (
                settings.client_secret,
                settings.refresh_token,
                settings.private_key,
                settings.session_id,
            )
            if secret is not None
        }
        self._last_headers: Mapping[str, str] = {}
        self._session = requests.Session()
        self._session.trust_env = False  # else REQUESTS_CA_BUNDLE silently replaces `verify`
        self._session.verify = settings.verify()
        self._session.hooks["response"].append(self._on_response)
        self._auth = SalesforceAuth(
            settings,
            session=self._session,
            connection=self.connection,
            retry=self._retry,
            stats=self._stats,
            secrets=self._secrets,
            sleep=sleep,
        )
        self._sf: Salesforce | None = None

    @property
    def secrets(self) -> frozenset[str]:
        """Every secret this client knows, issued access tokens included."""
        return frozenset(self._secrets)

    def query_pages(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every page of `soql`'s answer, following `nextRecordsUrl` until `done`."""
        page = self._page(self._call("query", lambda sf: sf.query(soql, **self._query_kwargs())))
        yield page
        while not page.get("done", True):
            next_url = page.get("nextRecordsUrl")
            if not isinstance(next_url, str) or not next_url:
                raise SourceDataError(
                    f"connection `{self.connection}`: a query page says done=false but has no nextRecordsUrl",
                    connection=self.connection,
                )
            page = self._page(self._call("query (next page)", self._next_page(next_url)))
            yield page

    def limits(self) -> dict[str, Any]:
        """`GET limits`: the org's limits (`DailyApiRequests`: `Max`, `Remaining`, ...)."""
        body = self._call(
            "GET limits", lambda sf: sf.limits(timeout=self.settings.timeout_seconds), guard=False
        )
        if not isinstance(body, dict):
            raise SourceDataError(
                f"connection `{self.connection}`: GET limits answered {type(body).__name__}, not an object",
                connection=self.connection,
            )
        return body

    def close(self) -> None:
        """Close the HTTP connections."""
        self._session.close()

    # --- internals ------------------------------------------------------------------------------------
    def _next_page(self, url: str) -> Callable[[Salesforce], Any]:
        def more(sf: Salesforce) -> Any:
            return sf.query_more(url, identifier_is_url=True, **self._query_kwargs())

        return more

    def _query_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"timeout": self.settings.timeout_seconds}
        if self.settings.batch_size:
            kwargs["headers"] = {"Sforce-Query-Options": f"batchSize={self.settings.batch_size}"}
        return kwargs

    def _on_response(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        self._stats.record_call(response.status_code)
        self._last_headers = response.headers
        logger.debug(
            "connection `%s`: %s %s -> %s",
            self.connection,
            response.request.method,
            (response.request.path_url or "").split("?", 1)[0],
            response.status_code,
        )

    def _page(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            shape = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise SourceDataError(
                f"connection `{self.connection}`: a query answer has no `records` list (got {shape})",
                connection=self.connection,
            )
        return body

    def _connected(self) -> Salesforce:
        if self._sf is None:
            token = self._auth.token()
            self.instance_url = token.instance_url
            self._sf = Salesforce(
                session_id=token.access_token.get_secret_value(),
                instance_url=token.instance_url,
                session=self._session,
                version=self.settings.api_version,
                object_pairs_hook=dict,
            )
        return self._sf

    def _remember_usage(self, sf: Salesforce) -> None:
        usage = sf.api_usage.get("api-usage")
        if usage is not None:
            self.usage = ApiUsage(int(usage.used), int(usage.total))

    def _guard(self, what: str) -> None:
        usage = self.usage
        if usage is None or usage.limit <= 0:
            return
        share = self.settings.max_daily_api_share
        allowed = int(share * usage.limit)
        if usage.used + 1 > allowed:
            raise QuotaExhausted(
                f"connection `{self.connection}`: stopped before the {what}: the org has used "
                f"{usage.used:,} of its {usage.limit:,} daily API requests, and one more would pass this "
                "connection's share of "
                f"{share:.0%} ({allowed:,} requests, `max_daily_api_share: {share}`). The rest of this run's "
                "Salesforce queries are skipped; raise the share or run later.",
                connection=self.connection,
            )

    def _call(self, what: str, call: Callable[[Salesforce], T], *, guard: bool = True) -> T:
        if guard:
            self._guard(what)
        try:
            return self._attempt(what, call)
        except SessionExpired as expired:
            if not self._auth.renewable:
                raise SessionExpired(
                    f"{expired.message}. The `session_id` of this connection expired or was revoked; session "
                    "ids cannot be renewed, so use `auth: refresh_token` or `auth: jwt` for unattended runs.",
                    connection=self.connection,
                    status=expired.status,
                ) from expired
            logger.info(
                "connection `%s`: the Salesforce session expired during the %s; authenticating again once",
                self.connection,
                what,
            )
            self._sf = None
            self.reauths += 1
        try:
            return self._attempt(what, call)
        except SessionExpired as again:
            raise AuthError(
                f"{again.message}, even with a token obtained just before. Check that the integration "
                "user is active and 'API Enabled', and that the connected app's policies (IP relaxation, "
                "session timeout, pre-authorised users) admit it.",
                connection=self.connection,
                status=again.status,
            ) from again

    def _attempt(self, what: str, call: Callable[[Salesforce], T]) -> T:
        sf = self._connected()
        describe = f"connection `{self.connection}`: {what}"
        for attempt in build_retrying(self._retry, self._stats, sleep=self._sleep, describe=describe):
            with (
                attempt,
                translate_errors(
                    connection=self.connection,
                    what=what,
                    secrets=self._secrets,
                    settings=self.settings,
                    stats=self._stats,
                    last_headers=lambda: self._last_headers,
                ),
            ):
                result = call(sf)
                self._remember_usage(sf)
                return result
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises
