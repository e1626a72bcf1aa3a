"""A thin client over the `jira` library: retries through our policy, call counting, errors translated once.

The library is used as it is, with three adjustments made where it is built:

- `max_retries=0`: its `ResilientSession` would otherwise retry 429/503 with its own sleeps;
  every call here goes through `hub.http.retry.build_retrying` instead, which honours
  `Retry-After`, counts retries into `context.stats`, and stops within the run's bounds;
- `get_server_info=False`, then `serverInfo` is fetched here: the library's own first call would
  happen before our response hook exists (uncounted, unretried). The library decides Cloud-ness
  from `deploymentType` exactly as its constructor would;
- `trust_env=False` on its `requests` session, as every okrhub client: proxies and CA bundles
  come from the connection's settings (`ca_bundle`), not from the environment.

`JIRAError` and `requests` errors never leave this module: `_translate` turns them into the
`hub.errors` tree (401 `AuthError`, 403 `PermissionDenied`, 400 `QueryRejected` with Jira's
errorMessages, 410 a `ConnectorError` saying the API was removed, 429 `RateLimited`, 5xx and
connection failures `TransientError`).

Example:
    ```python
    client = JiraClient(settings, context=context)
    page = client.search_page("project = ENG", fields=["customfield_10016"], token=None)
    client.close()
    ```
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from jira import JIRA
from jira.exceptions import JIRAError
from jira.resilientsession import parse_errors

from connectors.jira.settings import JiraSettings
from hub.contracts import ConnectorContext
from hub.errors import (
    AuthError,
    ConnectorError,
    OkrHubError,
    PermissionDenied,
    QueryRejected,
    RateLimited,
    SourceDataError,
    TransientError,
)
from hub.http.policy import parse_retry_after
from hub.http.retry import build_retrying
from hub.redact import redact

logger = logging.getLogger(__name__)

T = TypeVar("T")

RATE_LIMIT_HEADERS = ("x-ratelimit-", "ratelimit-", "beta-ratelimit", "x-beta-ratelimit", "retry-after")
"""Prefixes of the response headers kept as rate-limit evidence."""
_MAX_ERROR_TEXT = 500


class JiraClient:
    """The Jira calls the connector makes, with errors from `hub.errors` only.

    Nothing is sent until the first call; the first call reads `serverInfo` and checks that the
    site is the deployment the settings say.

    Args:
        settings: the connection's settings.
        context: what the hub hands the connector; `context.retry`, when set, overrides the
            settings' retry policy (tests shorten the waits this way). `context.transport` is
            not used: the `jira` library speaks `requests`, not httpx.
    """

    def __init__(self, settings: JiraSettings, *, context: ConnectorContext) -> None:
        self.settings = settings
        self.connection = context.connection
        self.stats = context.stats
        self.base_url = settings.url()
        self.retry = context.retry or settings.retry
        self.is_cloud = settings.deployment == "cloud"
        secret = settings.api_token if self.is_cloud else settings.personal_access_token
        self._secret = secret.get_secret_value() if secret is not None else ""
        self.secrets = context.secrets | ({self._secret} if self._secret else set())
        self.request_count = 0
        """Requests sent (retries included), for `usage()`."""
        self.rate_limit: dict[str, str] = {}
        """The rate-limit headers of the last response that carried any."""
        self.server_info: dict[str, Any] = {}
        self._jira: JIRA | None = None
        self._fields: list[dict[str, Any]] | None = None

    # --- calls -------------------------------------------------------------------------------------
    def connect(self) -> JIRA:
        """The library client, built and checked against `serverInfo` on first use."""
        if self._jira is not None:
            return self._jira
        auth: dict[str, Any] = (
            {"basic_auth": (self.settings.email or "", self._secret)}
            if self.is_cloud
            else {"token_auth": self._secret}
        )
        client = JIRA(
            server=self.base_url,
            options={"verify": self.settings.verify()},
            max_retries=0,
            get_server_info=False,
            timeout=self.settings.timeout_seconds,
            **auth,
        )
        client._session.trust_env = False
        client._session.hooks["response"].append(self._on_response)
        try:
            info = self._call("GET serverInfo", client.server_info)
        except BaseException:
            _close(client)
            raise
        self.server_info = info if isinstance(info, dict) else {}
        deployment = self.server_info.get("deploymentType")
        if self.is_cloud != (deployment == "Cloud"):
            _close(client)
            raise self._wrong_deployment(deployment)
        # What the library's constructor does with serverInfo when it fetches it itself.
        client.deploymentType = deployment
        client._version = tuple(self.server_info.get("versionNumbers") or (0, 0, 0))
        self._jira = client
        return client

    def myself(self) -> dict[str, Any]:
        """`GET myself`: the account the credentials belong to."""
        client = self.connect()
        return self._call("GET myself", client.myself)

    def fields(self) -> list[dict[str, Any]]:
        """`GET field`, fetched once per client."""
        if self._fields is None:
            client = self.connect()
            listed = self._call("GET field", client.fields)
            if not isinstance(listed, list):
                raise SourceDataError(
                    f"connection `{self.connection}`: GET field returned {type(listed).__name__}, not a list "
                    "of fields",
                    connection=self.connection,
                )
            self._fields = listed
        return self._fields

    def search_page(
        self, jql: str, *, fields: list[str], page_size: int, token: str | None
    ) -> dict[str, Any]:
        """One page of a Cloud enhanced search (`POST search/jql`)."""
        client = self.connect()

        def page() -> Any:
            return client.enhanced_search_issues(
                jql,
                nextPageToken=token,
                maxResults=page_size,
                fields=list(fields),
                json_result=True,
                use_post=True,
            )

        return self._page(self._call("POST search/jql", page, jql=jql), "search/jql")

    def search_from(self, jql: str, *, fields: list[str], page_size: int, start_at: int) -> dict[str, Any]:
        """One page of a Data Center search (`POST search`, `startAt` paging with a `total`)."""
        client = self.connect()

        def page() -> Any:
            return client.search_issues(
                jql,
                startAt=start_at,
                maxResults=page_size,
                fields=list(fields),
                json_result=True,
                use_post=True,
            )

        return self._page(self._call("POST search", page, jql=jql), "search")

    def approximate_count(self, jql: str) -> int:
        """`POST search/approximate-count` (Cloud only)."""
        client = self.connect()
        body = self._call(
            "POST search/approximate-count",
            lambda: client.approximate_issue_count(jql, json_result=True),
            jql=jql,
        )
        count = body.get("count") if isinstance(body, dict) else None
        if not isinstance(count, int) or isinstance(count, bool):
            raise SourceDataError(
                f"connection `{self.connection}`: search/approximate-count returned no count for {jql!r}",
                connection=self.connection,
            )
        return count

    def close(self) -> None:
        """Close the HTTP connections."""
        if self._jira is not None:
            _close(self._jira)
            self._jira = None

    # --- plumbing ----------------------------------------------------------------------------------
    def _page(self, body: Any, endpoint: str) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("issues"), list):
            shape = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise SourceDataError(
                f"connection `{self.connection}`: {endpoint} returned no `issues` list (got {shape}); "
                "refusing to count that as zero issues",
                connection=self.connection,
            )
        return body

    def _on_response(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        self.request_count += 1
        self.stats.record_call(response.status_code)
        seen = {
            name: value
            for name, value in response.headers.items()
            if name.lower().startswith(RATE_LIMIT_HEADERS)
        }
        if seen:
            self.rate_limit = seen
        request = response.request
        logger.debug(
            "connection `%s`: %s %s -> %s",
            self.connection,
            request.method,
            urlsplit(request.url or "").path,
            response.status_code,
        )

    def _call(self, describe: str, call: Callable[[], T], *, jql: str | None = None) -> T:
        for attempt in build_retrying(
            self.retry, self.stats, describe=f"connection `{self.connection}`: {describe}"
        ):
            with attempt, self._translate(describe, jql):
                return call()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    @contextmanager
    def _translate(self, where: str, jql: str | None = None) -> Iterator[None]:
        try:
            yield
        except JIRAError as exc:
            raise self._error_for(exc, where, jql) from exc
        except requests.exceptions.JSONDecodeError as exc:
            raise SourceDataError(
                f"connection `{self.connection}`: {where} returned a body that is not valid JSON "
                f"({self._clean(str(exc))}); the response was probably cut short. Run again; if it keeps "
                "failing, something between okrhub and Jira is mangling responses.",
                connection=self.connection,
            ) from exc
        except requests.exceptions.RequestException as exc:
            if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
                self.request_count += 1
                self.stats.record_call(None)  # no response came back, so the hook never saw it
            raise TransientError(
                f"connection `{self.connection}`: {where} at {self.base_url} failed: "
                f"{type(exc).__name__}: {self._clean(str(exc))}"
            ) from exc

    def _clean(self, text: str) -> str:
        return redact(text, self.secrets)[:_MAX_ERROR_TEXT]

    def _error_for(self, exc: JIRAError, where: str, jql: str | None) -> OkrHubError:
        status = exc.status_code
        response = exc.response if isinstance(exc.response, requests.Response) else None
        if response is not None and response.request is not None:
            where = f"{response.request.method} {urlsplit(response.request.url or '').path}"
        messages = parse_errors(response) if response is not None else []
        if not messages and exc.text:
            messages = [str(exc.text)]
        detail = self._clean("; ".join(str(m) for m in messages))
        said = f": {detail}" if detail else ""
        prefix = f"connection `{self.connection}`: "
        kwargs: dict[str, Any] = {"connection": self.connection, "status": status}
        if status == 401:
            return AuthError(
                f"{prefix}Jira rejected the credentials (HTTP 401 from {where}){said}. {self._auth_fix()}",
                **kwargs,
            )
        if status == 403:
            return PermissionDenied(
                f"{prefix}Jira refused access (HTTP 403 from {where}){said}. The account needs the Browse "
                "projects permission on every project the queries read.",
                **kwargs,
            )
        if status == 400:
            what = f"the JQL {jql!r}" if jql is not None else "the request"
            return QueryRejected(
                f"{prefix}Jira refused {what} (HTTP 400 from {where}){said}. Fix the query in the mapping: "
                "field and value names are Jira's (custom fields also as cf[NNNNN]), and values with spaces "
                "or reserved characters must be quoted.",
                **kwargs,
            )
        if status == 404:
            return ConnectorError(
                f"{prefix}{where} was not found at {self.base_url} (HTTP 404){said}. Check `base_url`: it is "
                "the site root (https://acme.atlassian.net), without /rest/api; and `deployment`.",
                **kwargs,
            )
        if status == 410:
            return ConnectorError(
                f"{prefix}Jira has removed the API behind {where} (HTTP 410 Gone){said}. Jira Cloud only "
                "searches through /rest/api/3/search/jql: check that `deployment` is `cloud` for this site.",
                **kwargs,
            )
        headers: Mapping[str, str] = response.headers if response is not None else {}
        retry_after = _retry_after(headers)
        if status == 429 or (status is not None and status >= 500 and retry_after is not None):
            return RateLimited(
                f"{prefix}{where} was rate limited (HTTP {status}){said}",
                retry_after=retry_after,
                status=status,
            )
        if status is None or status >= 500:
            return TransientError(f"{prefix}{where} failed with HTTP {status}{said}", status=status)
        return ConnectorError(f"{prefix}{where} failed with HTTP {status}{said}", **kwargs)

    def _auth_fix(self) -> str:
        if self.is_cloud:
            return (
                f"Check `email` ({self.settings.email}) and the API token that connection "
                f"`{self.connection}` references in `api_token`: a Jira Cloud API token only works with the "
                "email of the Atlassian account that created it, and it may have expired or been revoked "
                "(id.atlassian.com > Security > API tokens). A Jira Data Center site takes "
                "`deployment: data_center` and a `personal_access_token` instead."
            )
        return (
            f"Check the personal access token that connection `{self.connection}` references in "
            "`personal_access_token`: it may be mistyped, expired or revoked (Jira profile > Personal "
            "Access Tokens)."
        )

    def _wrong_deployment(self, deployment: object) -> ConnectorError:
        said = f"deploymentType {deployment!r}" if deployment else "no deploymentType"
        if self.is_cloud:
            fix = "set `deployment: data_center` and `personal_access_token` for Jira Data Center/Server"
        else:
            fix = "set `deployment: cloud` with `email` and `api_token` for Jira Cloud"
        return ConnectorError(
            f"connection `{self.connection}` is configured as `deployment: {self.settings.deployment}`, but "
            f"{self.base_url}/rest/api/2/serverInfo reports {said}; {fix}.",
            connection=self.connection,
        )


def _close(client: JIRA) -> None:
    client.close()  # type: ignore[no-untyped-call]  # the library leaves close() unannotated


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait: `Retry-After`, else Jira's `X-RateLimit-Reset` (ISO 8601, `...T05:45Z`)."""
    seconds = parse_retry_after(headers.get("Retry-After"))
    if seconds is not None:
        return seconds
    reset = headers.get("X-RateLimit-Reset")
    if not reset:
        return None
    try:
        when = datetime.fromisoformat(reset.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
