"""Settings of a Google Analytics 4 (Data API) connection."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationInfo, field_validator

from hub.config.context import context_of
from hub.config.secrets import SecretRef
from hub.http.settings import HttpConnectionSettings

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
"""The only OAuth scope the connector asks for."""

MAX_BATCH = 5
"""`batchRunReports` takes at most five reports."""

MAX_PAGE_SIZE = 250_000
"""The Data API returns at most this many rows per report request."""

_REQUIRED_KEY_FIELDS = ("client_email", "private_key", "token_uri")
_PROPERTY_ID = re.compile(r"^(?:properties/)?(\d+)$")


def normalize_property_id(value: str) -> str | None:
    """`123` for `123` or `properties/123`; None when `value` is not a property id."""
    match = _PROPERTY_ID.fullmatch(value.strip())
    return match.group(1) if match else None


def parse_service_account_key(text: str) -> dict[str, Any]:
    """The service-account key as a dict; `ValueError` (never quoting the key) when it is not one."""
    try:
        info = json.loads(text)
    except ValueError:
        raise ValueError(
            "is not JSON: it must be the content of a service-account key file (`${file:/path/key.json}`)"
        ) from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ValueError(
            'is not a service-account key (its "type" is not "service_account"); download a JSON key '
            "from Google Cloud IAM > Service accounts > Keys"
        )
    missing = [name for name in _REQUIRED_KEY_FIELDS if not isinstance(info.get(name), str) or not info[name]]
    if missing:
        raise ValueError(f"is a service-account key without {', '.join(missing)}; download a fresh JSON key")
    return info


class GoogleAnalyticsSettings(HttpConnectionSettings):
    """A GA4 connection: the service-account key, the properties it may read, and how to batch.

    The service account's email must be a Viewer on every property queried (GA4 Admin >
    Property access management).

    Example:
        ```yaml
        connections:
          web-analytics:
            type: google_analytics
            service_account_json: ${file:/run/secrets/ga4-key.json}
            property_ids: ["123456789"]
        ```
    """

    type: Literal["google_analytics"] = "google_analytics"
    """The connector type; always `google_analytics`."""
    base_url: AnyHttpUrl = AnyHttpUrl("https://analyticsdata.googleapis.com")
    """The Data API root: Google's, a proxy's, or the sandbox emulator's."""
    service_account_json: SecretRef
    """The service-account JSON key file's content, usually as `${file:/run/secrets/ga4-key.json}`."""
    property_ids: list[str] = []
    """GA4 property ids (`123456789` or `properties/123456789`) queries may use; empty allows any."""
    max_batch: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)
    """Reports per `batchRunReports` call (the API takes at most 5)."""
    page_size: int = Field(default=10_000, ge=1, le=MAX_PAGE_SIZE)
    """Rows per report page (`limit`); a report with more rows is read with further `offset` pages."""

    @field_validator("service_account_json")
    @classmethod
    def _is_a_service_account_key(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        key = parse_service_account_key(value.get_secret_value())
        found = context_of(info.context).get("secrets")
        if found is not None:
            # The whole file is already remembered; the key alone may turn up in text too.
            found.add(str(key["private_key"]))
        return value

    @field_validator("property_ids", mode="before")
    @classmethod
    def _property_ids(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value  # pydantic reports the wrong type
        normalized = []
        for raw in value:
            # YAML reads `property_ids: [123456789]` as numbers; they are ids all the same.
            number = normalize_property_id(str(raw)) if isinstance(raw, str | int) else None
            if number is None or isinstance(raw, bool):
                raise ValueError(
                    f"{raw!r} is not a GA4 property id: use the number shown in GA4 Admin > Property "
                    "details (e.g. 123456789), not a measurement id like G-XXXXXXX"
                )
            normalized.append(number)
        return normalized

    def key_info(self) -> dict[str, Any]:
        """The parsed service-account key."""
        return parse_service_account_key(self.service_account_json.get_secret_value())

    def service_account_email(self) -> str:
        """The service account's email, which must be a Viewer on each property."""
        return str(self.key_info()["client_email"])
