"""A thin Workday client over the shared `ApiClient`: URLs, OAuth, error text, page shapes.

Example:
    ```python
    client = WorkdayClient(settings, context=context)
    total, workers = client.page("workers", limit=100, offset=0)
    with client.report({"Updated_From": "2026-11-01T00:00:00Z"}) as body:
        for row in ijson.items(body, "Report_Entry.item"):
            ...
    ```
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any
from urllib.parse import quote

import httpx

from connectors.workday.auth import WorkdayRefreshTokenAuth
from connectors.workday.settings import WorkdaySettings
from hub.contracts import ConnectorContext
from hub.errors import AuthError, PermissionDenied, SourceDataError
from hub.http.client import ApiClient

logger = logging.getLogger(__name__)

_MAX_DETAIL = 300


def describe_workday_error(response: httpx.Response) -> str:
    """The readable part of a Workday error body, for error messages.

    Workday REST answers `{"error": "...", "errors": [{"error", "field", "location"}]}`; the OAuth
    endpoint and bearer checks answer `{"error": "invalid_grant", "error_description": "..."}`.
    Anything else is cut to a short excerpt.
    """
    try:
        payload = response.json()
    except ValueError:
        return " ".join(response.text.split())[:_MAX_DETAIL]
    if not isinstance(payload, dict):
        return json.dumps(payload)[:_MAX_DETAIL]
    parts: list[str] = []
    if payload.get("error"):
        parts.append(str(payload["error"]))
    if payload.get("error_description"):
        parts.append(str(payload["error_description"]))
    errors = payload.get("errors")
    if isinstance(errors, list):
        for item in errors:
            if not isinstance(item, dict) or not item.get("error"):
                continue
            text = str(item["error"])
            if text in parts:
                continue
            parts.append(f"`{item['field']}`: {text}" if item.get("field") else text)
    return "; ".join(parts)[:_MAX_DETAIL]


class WorkdayClient:
    """Workday REST and RaaS calls for one connection, with OAuth, retries and error translation."""

    def __init__(self, settings: WorkdaySettings, *, context: ConnectorContext) -> None:
        self.settings = settings
        self.connection = context.connection
        secrets = context.secrets | {
            settings.client_secret.get_secret_value(),
            settings.refresh_token.get_secret_value(),
        }
        self.auth = WorkdayRefreshTokenAuth(
            token_url=f"{settings.url()}/ccx/oauth2/{quote(settings.tenant)}/token",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            refresh_token=settings.refresh_token,
            connection=context.connection,
            secrets=secrets,
        )
        self.api = ApiClient.for_connection(
            settings,
            context,
            auth=self.auth,
            headers={"Accept": "application/json"},
            describe_error=describe_workday_error,
            secrets=secrets,
        )

    def rest_path(self, resource: str) -> str:
        """The path of a REST Common resource, e.g. `workers` -> `/ccx/api/v1/acme/workers`."""
        return f"{self.settings.rest_prefix}/{quote(self.settings.tenant)}/{resource}"

    def report_path(self) -> str:
        """The RaaS path of the configured custom report."""
        owner = quote(self.settings.report_owner or "")
        name = quote(self.settings.report_name or "")
        return f"/ccx/service/customreport2/{quote(self.settings.tenant)}/{owner}/{name}"

    def get(self, resource: str, *, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET a REST resource and return its JSON object; a body that is not one is `SourceDataError`."""
        with self._translated():
            response = self.api.request("GET", self.rest_path(resource), params=params)
        try:
            payload = response.json()
        except ValueError as exc:
            raise self._bad_body(resource, "is not JSON (truncated?)") from exc
        if not isinstance(payload, dict):
            raise self._bad_body(resource, "is not a JSON object")
        return payload

    def page(self, resource: str, *, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
        """One page of a REST collection: Workday's `total` and the page's `data` items."""
        payload = self.get(resource, params={"limit": limit, "offset": offset})
        total, data = payload.get("total"), payload.get("data", [])
        if isinstance(total, bool) or not isinstance(total, int) or not isinstance(data, list):
            raise self._bad_body(resource, "lacks an integer `total` or a `data` list")
        return total, [item for item in data if isinstance(item, dict)]

    @contextmanager
    def report(self, prompts: Mapping[str, str]) -> Iterator[IO[bytes]]:
        """Download the custom report as JSON (with the given prompts) and yield the body as a file."""
        params = {"format": "json", **prompts}
        with self._translated(), self.api.download("GET", self.report_path(), params=params) as body:
            yield body

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Say what a refusal means in Workday's terms (the token exchange already said its own)."""
        try:
            yield
        except AuthError as exc:
            if exc is self.auth.last_refusal or exc.status != httpx.codes.UNAUTHORIZED:
                raise
            raise AuthError(
                f"{exc.message.split('. Check ')[0]}. Workday refused a freshly issued access token: check "
                "that the API Client for Integrations includes the scopes (functional areas) this read "
                "needs, such as Staffing, Organizations and Roles, and Integration",
                connection=exc.connection,
                status=exc.status,
            ) from exc
        except PermissionDenied as exc:
            raise PermissionDenied(
                f"{exc.message.split('. The integration user')[0]}. Grant the integration system user's "
                "security group Get access to the domains behind this resource (for a report: every "
                "data source and field it uses)",
                connection=exc.connection,
                status=exc.status,
            ) from exc

    def _bad_body(self, resource: str, what: str) -> SourceDataError:
        return SourceDataError(
            f"connection `{self.connection}`: Workday's answer to GET {self.rest_path(resource)} {what}; "
            "the read stopped rather than use a partial org",
            connection=self.connection,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self.api.close()
