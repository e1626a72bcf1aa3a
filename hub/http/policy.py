"""What to do with each HTTP status, as a table rather than a chain of branches.

`STATUS_POLICY` maps a status to a `Resolution`: retry it, fail the run, or fail just the
record, and whose problem it is. Connectors merge their own overrides (BambooHR's 503 means
"throttled" in old tenants; Workday SOAP faults arrive as 500) and `raise_for_policy` applies it.

Example:
    ```python
    policy = merged_policy({503: Resolution(Action.RETRY, Kind.TRANSIENT)})
    raise_for_policy(response, policy=policy, connection="hr", detail=describe(response))
    ```
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import MappingProxyType

import httpx

from hub.errors import (
    AuthError,
    ConnectorError,
    OkrHubError,
    PermissionDenied,
    RateLimited,
    RecordRejected,
    TransientError,
)


class Action(enum.Enum):
    """What the runner does with a response."""

    SUCCEED = "succeed"
    RETRY = "retry"
    FAIL = "fail"
    SKIP = "skip"


class Kind(enum.Enum):
    """Who must act: nobody (transient), the admin (auth/config), or the vendor/system."""

    TRANSIENT = "transient"
    AUTH = "auth"
    PERMISSION = "permission"
    CONFIG = "config"
    RECORD = "record"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Resolution:
    """An action and whose problem it is."""

    action: Action
    kind: Kind


STATUS_POLICY: Mapping[int, Resolution] = MappingProxyType(
    {
        400: Resolution(Action.FAIL, Kind.CONFIG),
        401: Resolution(Action.FAIL, Kind.AUTH),
        403: Resolution(Action.FAIL, Kind.PERMISSION),
        404: Resolution(Action.FAIL, Kind.CONFIG),
        406: Resolution(Action.SKIP, Kind.RECORD),
        408: Resolution(Action.RETRY, Kind.TRANSIENT),
        409: Resolution(Action.SKIP, Kind.RECORD),
        410: Resolution(Action.FAIL, Kind.CONFIG),
        422: Resolution(Action.SKIP, Kind.RECORD),
        429: Resolution(Action.RETRY, Kind.TRANSIENT),
        500: Resolution(Action.RETRY, Kind.TRANSIENT),
        502: Resolution(Action.RETRY, Kind.TRANSIENT),
        503: Resolution(Action.RETRY, Kind.TRANSIENT),
        504: Resolution(Action.RETRY, Kind.TRANSIENT),
    }
)
"""The default table. Statuses absent from it: 2xx/3xx succeed, other 4xx fail, other 5xx retry."""


def merged_policy(overrides: Mapping[int, Resolution] | None = None) -> Mapping[int, Resolution]:
    """The default table with a connector's overrides on top."""
    if not overrides:
        return STATUS_POLICY
    return MappingProxyType({**STATUS_POLICY, **overrides})


def resolve(status: int, policy: Mapping[int, Resolution] = STATUS_POLICY) -> Resolution:
    """The resolution for `status` under `policy`, with sensible fallbacks by status class."""
    if status in policy:
        return policy[status]
    if status < 400:
        return Resolution(Action.SUCCEED, Kind.TRANSIENT)
    if status < 500:
        return Resolution(Action.FAIL, Kind.CONFIG)
    return Resolution(Action.RETRY, Kind.TRANSIENT)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date; None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_for_response(
    response: httpx.Response,
    *,
    policy: Mapping[int, Resolution] = STATUS_POLICY,
    connection: str | None = None,
    detail: str = "",
    record_key: str | None = None,
) -> OkrHubError | None:
    """The error `response` stands for under `policy`, or None when it is a success."""
    status = response.status_code
    resolution = resolve(status, policy)
    if resolution.action is Action.SUCCEED:
        return None
    request = response.request
    where = f"{request.method} {request.url.copy_with(query=None)}"
    said = f": {detail}" if detail else ""
    prefix = f"connection `{connection}`: " if connection else ""
    if status == 429 or (resolution.action is Action.RETRY and "retry-after" in response.headers):
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return RateLimited(
            f"{prefix}{where} was rate limited (HTTP {status}){said}", retry_after=retry_after, status=status
        )
    if resolution.action is Action.RETRY:
        return TransientError(f"{prefix}{where} failed with HTTP {status}{said}", status=status)
    if resolution.kind is Kind.AUTH:
        return AuthError(
            f"{prefix}the vendor rejected the credentials (HTTP {status} from {where}){said}. "
            "Check the API key or token this connection references.",
            connection=connection,
            status=status,
        )
    if resolution.kind is Kind.PERMISSION:
        return PermissionDenied(
            f"{prefix}access denied (HTTP {status} from {where}){said}. "
            "The integration user needs permission for this resource.",
            connection=connection,
            status=status,
        )
    if resolution.action is Action.SKIP and record_key is not None:
        return RecordRejected(record_key, f"HTTP {status} from {where}{said}")
    return ConnectorError(
        f"{prefix}{where} failed with HTTP {status}{said}", connection=connection, status=status
    )
