"""Settings of a Salesforce connection."""

from __future__ import annotations

from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import AnyHttpUrl, Field, model_validator

from hub.config.secrets import SecretRef
from hub.http.settings import HttpConnectionSettings

AuthMode = Literal["refresh_token", "jwt", "session"]

_MODE_FIELDS: dict[str, tuple[str, ...]] = {
    "refresh_token": ("client_id", "refresh_token"),
    "jwt": ("client_id", "username", "private_key"),
    "session": ("session_id",),
}
"""The fields each auth mode needs."""

_MODE_ONLY: dict[str, str] = {
    "client_secret": "refresh_token",
    "refresh_token": "refresh_token",
    "username": "jwt",
    "private_key": "jwt",
    "jwt_audience": "jwt",
    "session_id": "session",
    "instance_url": "session",
}
"""Fields that belong to one auth mode only; setting them under another is a mistake worth naming."""


class SalesforceSettings(HttpConnectionSettings):
    """A Salesforce connection: the login host, how to authenticate, and how much API to spend.

    Example:
        ```yaml
        connections:
          crm:
            type: salesforce
            base_url: https://acme.my.salesforce.com     # or https://login.salesforce.com
            auth: refresh_token
            client_id: 3MVG9...                          # the connected app's consumer key
            client_secret: ${SALESFORCE_CLIENT_SECRET}
            refresh_token: ${SALESFORCE_REFRESH_TOKEN}
            max_daily_api_share: 0.2
        ```
    """

    type: Literal["salesforce"] = "salesforce"
    """The connector type; always `salesforce`."""
    base_url: AnyHttpUrl
    """The host tokens come from: `https://login.salesforce.com`, `https://test.salesforce.com`
    (sandboxes), your My Domain (`https://acme.my.salesforce.com`), or the sandbox emulator. API calls
    go to the `instance_url` the token answer names. Must be https."""
    auth: AuthMode = "refresh_token"
    """`refresh_token` (a connected app's refresh token), `jwt` (the OAuth 2.0 JWT bearer flow with a
    certificate's private key; no refresh token, nothing expires) or `session` (a session id obtained
    elsewhere; it cannot be renewed, so runs fail once it expires)."""
    client_id: str | None = None
    """The connected app's consumer key (`refresh_token` and `jwt` modes)."""
    client_secret: SecretRef | None = None
    """The connected app's consumer secret (`refresh_token` mode), as `${ENV}` or `${file:PATH}`;
    needed unless the app is set not to require a secret for the refresh token flow."""
    refresh_token: SecretRef | None = None
    """The refresh token issued to the integration user (`refresh_token` mode)."""
    username: str | None = None
    """The integration user's Salesforce username (`jwt` mode: the assertion's `sub`)."""
    private_key: SecretRef | None = None
    """PEM RSA private key whose certificate is uploaded to the connected app (`jwt` mode)."""
    jwt_audience: str | None = None
    """The assertion's `aud` (`jwt` mode); `base_url` when unset. Use `https://login.salesforce.com`
    or `https://test.salesforce.com` if your connected app insists on the legacy audiences."""
    session_id: SecretRef | None = None
    """A session id (an access token) obtained elsewhere (`session` mode)."""
    instance_url: AnyHttpUrl | None = None
    """Where the API lives in `session` mode (`https://acme.my.salesforce.com`); `base_url` when unset.
    Other modes take it from the token answer."""
    api_version: str = Field(default="59.0", pattern=r"^\d{2,3}\.0$")
    """REST API version, as `59.0`."""
    max_daily_api_share: float = Field(default=0.5, gt=0, le=1)
    """Share of the org's daily API requests (`Sforce-Limit-Info`) this connection may push usage to;
    a run that would go beyond it stops early with `QuotaExhausted`. Other integrations share the
    limit, so leave them room."""
    batch_size: int | None = Field(default=None, ge=200, le=2000)
    """Records per query page (`Sforce-Query-Options: batchSize`); Salesforce's default (2,000) when
    unset. Salesforce treats it as a hint."""

    @model_validator(mode="after")
    def _fields_fit_the_auth_mode(self) -> SalesforceSettings:
        missing = [name for name in _MODE_FIELDS[self.auth] if getattr(self, name) is None]
        if missing:
            needs = ", ".join(f"`{name}`" for name in _MODE_FIELDS[self.auth])
            raise ValueError(
                f"auth `{self.auth}` needs {needs}; missing: {', '.join(f'`{m}`' for m in missing)}"
            )
        stray = [name for name, mode in _MODE_ONLY.items() if mode != self.auth and getattr(self, name)]
        if stray:
            raise ValueError(
                f"{', '.join(f'`{name}`' for name in stray)} only apply to auth "
                f"`{_MODE_ONLY[stray[0]]}`, but auth is `{self.auth}`; remove them or change `auth`"
            )
        for name in ("base_url", "instance_url"):
            url = getattr(self, name)
            if url is not None and url.scheme != "https":
                raise ValueError(
                    f"`{name}` must be an https:// URL (got {url.scheme}://): the Salesforce SDK only speaks "
                    "https; point a sandbox at its TLS port and set `ca_bundle`"
                )
        if self.private_key is not None:
            _require_rsa_key(self.private_key.get_secret_value())
        return self

    def token_url(self) -> str:
        """The OAuth token endpoint on `base_url`."""
        return f"{self.url()}/services/oauth2/token"

    def audience(self) -> str:
        """The `aud` of JWT assertions."""
        return (self.jwt_audience or self.url()).rstrip("/")


def _require_rsa_key(pem: str) -> None:
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError(
            "`private_key` is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- or "
            "-----BEGIN RSA PRIVATE KEY-----)"
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(  # noqa: TRY004 - pydantic reports ValueError as a validation error
            "`private_key` must be an RSA key: Salesforce's JWT bearer flow signs with RS256"
        )
