"""OAuth 2.0 refresh-token flow for Workday REST and RaaS, as an `httpx.Auth`.

Workday hands an integration a non-expiring refresh token; each access token it exchanges for
lives about an hour, and `expires_in` may be missing from the answer. This auth fetches a token on
first use, caches it, and when a call comes back 401 (the token expired or was revoked mid-sync)
exchanges the refresh token again ONCE and repeats the call. A refused exchange raises
`AuthError` naming the Workday task that fixes it; the secret itself never appears.

Example:
    ```python
    auth = WorkdayRefreshTokenAuth(
        token_url="https://wd2-impl-services1.workday.com/ccx/oauth2/acme/token",
        client_id="NzY3...",
        client_secret=SecretStr(secret),
        refresh_token=SecretStr(refresh),
        connection="hcm",
    )
    httpx.Client(auth=auth).get(".../ccx/api/v1/acme/workers?limit=1")
    ```
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx
from pydantic import SecretStr

from hub.errors import AuthError, ConnectorError, OkrHubError, SourceDataError
from hub.http.policy import error_for_response
from hub.redact import redact

logger = logging.getLogger(__name__)

DEFAULT_TOKEN_TTL_SECONDS = 3600.0
"""How long a token is trusted when the token endpoint does not say (`expires_in` absent)."""
_EARLY_REFRESH_SECONDS = 60.0

_FIXES = {
    "invalid_grant": (
        "Workday refused the refresh token",
        "Issue a new refresh token for the integration system user (Workday task: Manage Refresh "
        "Tokens for Integrations) and update `refresh_token` in this connection.",
    ),
    "invalid_client": (
        "Workday refused the API client",
        "Check `client_id` and `client_secret` against the API Client for Integrations "
        "(Workday task: View API Clients); the secret is shown only when the client is registered.",
    ),
}
_GENERIC_FIX = (
    "Workday refused the token exchange",
    "Check `tenant`, `client_id`, `client_secret` and `refresh_token` of this connection.",
)


class WorkdayRefreshTokenAuth(httpx.Auth):
    """Bearer auth that exchanges a Workday refresh token and renews it once on a 401."""

    requires_response_body = False  # a RaaS download must stay a stream; token bodies are read by hand

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        refresh_token: SecretStr,
        connection: str,
        secrets: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.connection = connection
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._secrets = secrets | {client_secret.get_secret_value(), refresh_token.get_secret_value()}
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self.exchanges = 0
        """How many token exchanges succeeded (for tests and the ledger)."""
        self.last_refusal: OkrHubError | None = None
        """The error the last refused token exchange raised, so callers can tell it from a 401."""

    def invalidate(self) -> None:
        """Forget the cached access token; the next request exchanges the refresh token again."""
        self._token = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add a bearer token; on a 401, renew the token once and send the request again."""
        token = self._token if self._token is not None and self._clock() < self._expires_at else None
        if token is None:
            token = yield from self._exchange(request)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return
        logger.info("connection `%s`: Workday answered 401; renewing the access token once", self.connection)
        if self._token == token or self._token is None:
            token = yield from self._exchange(request)
        else:
            token = self._token  # another request renewed it meanwhile
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def _exchange(self, original: httpx.Request) -> Generator[httpx.Request, httpx.Response, str]:
        self._token = None
        token_request = httpx.Request(
            "POST",
            self.token_url,
            data={"grant_type": "refresh_token", "refresh_token": self._refresh_token.get_secret_value()},
            headers={"Accept": "application/json"},
            extensions={key: value for key, value in original.extensions.items() if key == "timeout"},
        )
        token_request.headers["Authorization"] = self._basic()
        response = yield token_request
        response.read()
        if response.status_code >= httpx.codes.MULTIPLE_CHOICES:
            self.last_refusal = self._refusal(response)
            raise self.last_refusal
        payload = _json_object(response)
        token = payload.get("access_token") if payload else None
        if not isinstance(token, str) or not token:
            raise SourceDataError(
                f"connection `{self.connection}`: Workday's token endpoint {self.token_url} answered "
                f"HTTP {response.status_code} without an access_token",
                connection=self.connection,
                status=response.status_code,
            )
        ttl = _seconds(payload.get("expires_in")) if payload else None
        lifetime = DEFAULT_TOKEN_TTL_SECONDS if ttl is None else ttl
        self._token = token
        self._expires_at = self._clock() + max(0.0, lifetime - min(_EARLY_REFRESH_SECONDS, lifetime / 10))
        self.exchanges += 1
        logger.debug(
            "connection `%s`: obtained a Workday access token (valid %.0fs)", self.connection, lifetime
        )
        return token

    def _basic(self) -> str:
        pair = f"{self._client_id}:{self._client_secret.get_secret_value()}".encode()
        return f"Basic {base64.b64encode(pair).decode('ascii')}"

    def _refusal(self, response: httpx.Response) -> OkrHubError:
        status = response.status_code
        if status not in (httpx.codes.BAD_REQUEST, httpx.codes.UNAUTHORIZED):
            error = error_for_response(response, connection=self.connection, detail=self._detail(response))
            if isinstance(error, AuthError) or error is None:
                return AuthError(
                    f"connection `{self.connection}`: {_GENERIC_FIX[0]} (HTTP {status}). {_GENERIC_FIX[1]}",
                    connection=self.connection,
                    status=status,
                )
            if status == httpx.codes.NOT_FOUND:
                return ConnectorError(
                    f"connection `{self.connection}`: the token endpoint {self.token_url} does not exist "
                    "(HTTP 404). Check `base_url` (the tenant's services host) and `tenant`.",
                    connection=self.connection,
                    status=status,
                )
            return error
        payload = _json_object(response) or {}
        code = str(payload.get("error") or "")
        what, fix = _FIXES.get(code, _GENERIC_FIX)
        detail = self._detail(response)
        said = f" ({detail})" if detail else ""
        return AuthError(
            f"connection `{self.connection}`: {what}{said} (HTTP {status} from {self.token_url}). {fix}",
            connection=self.connection,
            status=status,
        )

    def _detail(self, response: httpx.Response) -> str:
        payload = _json_object(response)
        if payload is None:
            return ""
        parts = [str(payload[key]) for key in ("error", "error_description") if payload.get(key)]
        return redact(": ".join(parts), self._secrets)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None
