"""Getting a Salesforce access token: refresh token, JWT bearer assertion, or a given session id.

simple-salesforce's own login flows post to `https://{login|test}.salesforce.com` whatever the
configuration says, so they can reach neither a My Domain-only org nor a sandbox emulator. This
module posts to `{base_url}/services/oauth2/token` itself, through the connection's
`requests.Session` (so the call is counted and trusts the same CA), and hands the client the
access token and the `instance_url` the answer names.

Example:
    ```python
    auth = SalesforceAuth(settings, session=session, connection="crm", retry=RetrySettings(),
                          stats=CallStats())
    token = auth.token()   # SalesforceToken(access_token=SecretStr(...), instance_url="https://...")
    ```
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, MutableSet
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from pydantic import SecretStr

from connectors.salesforce.settings import SalesforceSettings
from hub.errors import AuthError, ConnectorError, OkrHubError, RateLimited, SourceDataError, TransientError
from hub.http.policy import Action, parse_retry_after, resolve
from hub.http.retry import RetrySettings, build_retrying
from hub.http.stats import CallStats
from hub.redact import redact

logger = logging.getLogger(__name__)

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180
"""Salesforce wants assertions that expire within a few minutes."""

_FIXES: dict[tuple[str, str], str] = {
    ("invalid_grant", "refresh_token"): (
        "Salesforce refused the refresh token. Authorise the connected app again as the integration user "
        "and update `refresh_token`; refresh tokens die when revoked, when the app's refresh token policy "
        "expires them, or when the user is deactivated."
    ),
    ("invalid_grant", "jwt"): (
        "Salesforce refused the JWT assertion. Check that `username` is the integration user, that its "
        "profile or permission set is pre-authorised on the connected app ('Admin approved users are "
        "pre-authorized'), that `private_key` matches the certificate uploaded to the app, that "
        "`jwt_audience` is accepted (`base_url`, https://login.salesforce.com or "
        "https://test.salesforce.com), and that this machine's clock is right."
    ),
    ("invalid_client_id", "*"): "Check `client_id`: it must be the connected app's consumer key.",
    ("invalid_client", "*"): "Check `client_secret`: it must be the connected app's consumer secret.",
    ("unsupported_grant_type", "*"): (
        "Check `base_url`: it must be the login host (https://login.salesforce.com, "
        "https://test.salesforce.com) or your My Domain, not the API instance of another org."
    ),
}


@dataclass(frozen=True, slots=True)
class SalesforceToken:
    """An access token and the instance it is valid for."""

    access_token: SecretStr
    instance_url: str


def transport_error(
    connection: str, what: str, exc: requests.RequestException, *, settings: SalesforceSettings
) -> OkrHubError:
    """The error a failed `requests` call stands for: a bad CA is fatal, a broken connection transient."""
    if isinstance(exc, requests.exceptions.SSLError):
        configured = f"; the configured one is {settings.ca_bundle}" if settings.ca_bundle else ""
        return ConnectorError(
            f"connection `{connection}`: {what}: TLS verification failed ({type(exc).__name__}). Set "
            "`ca_bundle` to the PEM of the CA that signed the server's certificate (a proxy's or the "
            f"sandbox's){configured}.",
            connection=connection,
        )
    return TransientError(f"connection `{connection}`: {what} failed: {type(exc).__name__}")


class SalesforceAuth:
    """Obtains access tokens for one connection in its configured mode.

    Args:
        settings: the connection's settings.
        session: the connection's `requests.Session` (CA, `trust_env=False`, call counting).
        connection: the connection's name, for error text.
        retry: how to retry a token call that hit a 5xx, a 429 or a broken connection.
        stats: where retries are counted.
        secrets: values to keep out of error text; every access token issued is added to it.
        sleep: replaces `time.sleep` between retries (tests).
    """

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        session: requests.Session,
        connection: str,
        retry: RetrySettings,
        stats: CallStats,
        secrets: MutableSet[str],
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.exchanges = 0
        """Tokens obtained so far (for tests and logs)."""
        self._session = session
        self._retry = retry
        self._stats = stats
        self._secrets = secrets
        self._sleep = sleep

    @property
    def renewable(self) -> bool:
        """Whether a new token can be had when the session expires (not in `session` mode)."""
        return self.settings.auth != "session"

    def token(self) -> SalesforceToken:
        """A fresh access token (or the configured session id in `session` mode)."""
        settings = self.settings
        if settings.auth == "session":
            assert settings.session_id is not None  # the settings validator guarantees it
            where = str(settings.instance_url or settings.base_url).rstrip("/")
            return SalesforceToken(settings.session_id, where)
        if settings.auth == "jwt":
            form = {"grant_type": JWT_GRANT, "assertion": self._assertion()}
        else:
            assert settings.client_id is not None
            assert settings.refresh_token is not None
            form = {
                "grant_type": "refresh_token",
                "client_id": settings.client_id,
                "refresh_token": settings.refresh_token.get_secret_value(),
            }
            if settings.client_secret is not None:
                form["client_secret"] = settings.client_secret.get_secret_value()
        payload = self._post(form)
        access, instance = payload.get("access_token"), payload.get("instance_url")
        if not isinstance(access, str) or not access or not isinstance(instance, str) or not instance:
            raise SourceDataError(
                f"connection `{self.connection}`: the token endpoint {settings.token_url()} answered without "
                f"an access_token and instance_url (keys: {sorted(payload)}); is `base_url` a Salesforce "
                "login host?",
                connection=self.connection,
            )
        self._secrets.add(access)
        self.exchanges += 1
        logger.debug("connection `%s`: obtained a Salesforce access token for %s", self.connection, instance)
        return SalesforceToken(SecretStr(access), instance.rstrip("/"))

    def _assertion(self) -> str:
        settings = self.settings
        assert settings.private_key is not None
        assert settings.client_id is not None
        assert settings.username is not None
        claims = {
            "iss": settings.client_id,
            "sub": settings.username,
            "aud": settings.audience(),
            "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
        }
        return jwt.encode(claims, settings.private_key.get_secret_value(), algorithm="RS256")

    def _post(self, form: dict[str, str]) -> dict[str, Any]:
        url = self.settings.token_url()
        what = f"POST {url}"
        retrying = build_retrying(self._retry, self._stats, sleep=self._sleep, describe=what)
        for attempt in retrying:
            with attempt:
                try:
                    response = self._session.post(
                        url,
                        data=form,
                        headers={"Accept": "application/json"},
                        timeout=self.settings.timeout_seconds,
                    )
                except requests.RequestException as exc:
                    self._stats.record_call(None)
                    raise transport_error(self.connection, what, exc, settings=self.settings) from exc
                if response.status_code >= 300:
                    raise self._refusal(response, what)
                try:
                    payload = response.json()
                except requests.exceptions.JSONDecodeError as exc:
                    raise TransientError(
                        f"connection `{self.connection}`: {what} answered a body that is not JSON"
                    ) from exc
                return payload if isinstance(payload, dict) else {}
        raise AssertionError("unreachable")  # pragma: no cover - tenacity reraises

    def _refusal(self, response: requests.Response, what: str) -> OkrHubError:
        status = response.status_code
        try:
            body = response.json()
        except requests.exceptions.JSONDecodeError:
            body = None
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
        said = redact(f"{error}: {description}" if error else response.text.strip()[:200], self._secrets)
        if resolve(status).action is Action.RETRY:
            if status == 429 or "Retry-After" in response.headers:
                return RateLimited(
                    f"connection `{self.connection}`: {what} was rate limited (HTTP {status})",
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    status=status,
                )
            return TransientError(
                f"connection `{self.connection}`: {what} failed with HTTP {status}", status=status
            )
        if status == 404:
            return ConnectorError(
                f"connection `{self.connection}`: {what} answered HTTP 404: there is no OAuth token endpoint "
                "there. Set `base_url` to https://login.salesforce.com, https://test.salesforce.com or your "
                "My Domain (https://acme.my.salesforce.com).",
                connection=self.connection,
                status=status,
            )
        fix = (
            _FIXES.get((error, self.settings.auth))
            or _FIXES.get((error, "*"))
            or ("Check `client_id` and the credentials this connection references.")
        )
        return AuthError(
            f"connection `{self.connection}`: Salesforce refused the `{self.settings.auth}` token request "
            f"(HTTP {status} from {what}: {said}). {fix}",
            connection=self.connection,
            status=status,
        )
