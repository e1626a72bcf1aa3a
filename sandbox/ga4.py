"""A Google Analytics 4 Data API (v1beta) emulator, serving synthetic 2026 traffic owned by the org.

Routes, as on `analyticsdata.googleapis.com` (the `$alt=json;enum-encoding=int` query string the
client library adds is ignored; enums are accepted as names or numbers):

- `POST /v1beta/properties/{id}:runReport`: a `RunReportRequest` in, a `RunReportResponse` out;
- `POST /v1beta/properties/{id}:batchRunReports`: `{"requests": [...]}` (at most 5) in,
  `{"reports": [...], "kind": "analyticsData#batchRunReports"}` out;
- `GET /v1beta/properties/{id}/metadata`: the dimensions and metrics (`properties/0` too).

The data: every Marketing-division person of the org owns one or two campaigns, each on a paid
channel in two countries for part of 2026, plus unowned organic/direct/referral traffic all year.
Dimensions are `date` (YYYYMMDD), `sessionDefaultChannelGroup`, `country`,
`sessionCampaignName`, `customEvent:owner_email` (the owner's email, `(not set)` when unowned)
and `dateRange`; metrics are `sessions`, `totalUsers`, `conversions`, `screenPageViews`,
`engagedSessions`, `engagementRate` (a ratio) and `purchaseRevenue` (currency). The same org
and seed give the same numbers; `facts(property_id)` exposes them so tests compute expected
values independently of the report engine.

Quirks kept: every value is a string; proto3 JSON omits empty fields (an empty report has no
`rows` and no `rowCount`, a spent `QuotaStatus` has no `remaining`); several date ranges add a
`dateRange` dimension; errors are Google JSON bodies (`{"error": {"code", "message", "status"}}`).
Each report costs `10 + rowCount // 100` tokens of the property's day, hour and
project-per-hour buckets; once one is spent every request to that property answers 429
`RESOURCE_EXHAUSTED` until `refresh_quota`. Auth: a Bearer self-signed JWT (what
google-auth sends for a service-account key) whose `iss`/`sub` is the configured service
account; signatures are verified against keys registered with `trust_key` (or `issue_key`).

Example:
    ```python
    app = Ga4Emulator(generate_org(300, seed=7), property_ids=("123", "456"))
    key_info = app.issue_key()            # a service-account JSON key the emulator trusts
    with ServerThread(app) as server:
        creds = service_account.Credentials.from_service_account_info(key_info, scopes=[SCOPE])
        client = BetaAnalyticsDataClient(
            transport="rest", credentials=creds, client_options={"api_endpoint": server.url}
        )
        client.run_report(RunReportRequest(property="properties/123", ...))
    ```
"""

from __future__ import annotations

import base64
import binascii
import bisect
import difflib
import functools
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from typing_extensions import override
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.org import SyntheticOrg, people_rows
from sandbox.server import EmulatorApp, json_response

YEAR = 2026
NOT_SET = "(not set)"
OWNER_DIMENSION = "customEvent:owner_email"
SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
SCHEMA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
MAX_BATCH = 5
MAX_LIMIT = 250_000
DEFAULT_LIMIT = 10_000

DIMENSIONS: dict[str, str] = {
    "date": "Date",
    "sessionDefaultChannelGroup": "Session default channel group",
    "country": "Country",
    "sessionCampaignName": "Session campaign",
    OWNER_DIMENSION: "Owner email (custom event dimension)",
    "dateRange": "Date range",
}
"""Dimension api names the emulator knows, with their UI names."""

METRICS: dict[str, str] = {
    "sessions": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "conversions": "TYPE_INTEGER",
    "screenPageViews": "TYPE_INTEGER",
    "engagedSessions": "TYPE_INTEGER",
    "engagementRate": "TYPE_FLOAT",
    "purchaseRevenue": "TYPE_CURRENCY",
}
"""Metric api names the emulator knows, with their `MetricType`."""

_SUMMED = ("sessions", "totalUsers", "conversions", "screenPageViews", "engagedSessions", "purchaseRevenue")
_SESSIONS, _ENGAGED = _SUMMED.index("sessions"), _SUMMED.index("engagedSessions")
PAID_CHANNELS = ("Paid Search", "Paid Social", "Email", "Display")
FREE_CHANNELS = {
    "Organic Search": "(organic)",
    "Direct": "(direct)",
    "Referral": "(referral)",
    "Organic Social": NOT_SET,
}
COUNTRIES = ("United States", "United Kingdom", "Germany", "Canada", "Singapore", "Australia", "France")
THEMES = ("spring-launch", "webinar-series", "brand-lift", "retargeting", "newsletter", "summer-promo")

_MATCH_TYPES = (
    "MATCH_TYPE_UNSPECIFIED",
    "EXACT",
    "BEGINS_WITH",
    "ENDS_WITH",
    "CONTAINS",
    "FULL_REGEXP",
    "PARTIAL_REGEXP",
)
_OPERATIONS = (
    "OPERATION_UNSPECIFIED",
    "EQUAL",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
)
_AGGREGATIONS = ("METRIC_AGGREGATION_UNSPECIFIED", "TOTAL", "MINIMUM", "MAXIMUM", "COUNT")
_ORDER_TYPES = ("ORDER_TYPE_UNSPECIFIED", "ALPHANUMERIC", "CASE_INSENSITIVE_ALPHANUMERIC", "NUMERIC")
_AGGREGATION_KEYS = {
    "TOTAL": ("totals", "RESERVED_TOTAL"),
    "MINIMUM": ("minimums", "RESERVED_MIN"),
    "MAXIMUM": ("maximums", "RESERVED_MAX"),
}
_REQUEST_FIELDS = frozenset(
    {
        "property", "dimensions", "metrics", "dateRanges", "dimensionFilter", "metricFilter", "offset",
        "limit", "metricAggregations", "orderBys", "currencyCode", "cohortSpec", "keepEmptyRows",
        "returnPropertyQuota", "comparisons",
    }
)  # fmt: skip


# --- data --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Ga4Fact:
    """One day of one traffic segment: the dimension values and the additive metrics."""

    day: date
    date_text: str
    channel: str
    country: str
    campaign: str
    owner: str
    sessions: int
    total_users: int
    conversions: int
    page_views: int
    engaged_sessions: int
    revenue: float

    def dimension(self, name: str) -> str:
        """The value of dimension `name` (`dateRange` excluded) as GA4 would print it."""
        return _DIMENSION_OF[name](self)

    def summed(self) -> tuple[float, ...]:
        """The additive metrics in `_SUMMED` order."""
        return (
            self.sessions,
            self.total_users,
            self.conversions,
            self.page_views,
            self.engaged_sessions,
            self.revenue,
        )


_DIMENSION_OF: dict[str, Callable[[Ga4Fact], str]] = {
    "date": lambda f: f.date_text,
    "sessionDefaultChannelGroup": lambda f: f.channel,
    "country": lambda f: f.country,
    "sessionCampaignName": lambda f: f.campaign,
    OWNER_DIMENSION: lambda f: f.owner,
}


@dataclass(frozen=True, slots=True)
class _Segment:
    channel: str
    country: str
    campaign: str
    owner: str
    level: float
    start: date
    end: date


def _segments(rng: random.Random, owners: Sequence[str]) -> list[_Segment]:
    first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)
    segments: list[_Segment] = []
    for email in owners:
        local = email.split("@", 1)[0]
        for number in range(1 + (rng.random() < 0.4)):
            theme = rng.choice(THEMES)
            channel = rng.choice(PAID_CHANNELS)
            start = first + timedelta(days=rng.randrange(0, 240))
            end = min(last, start + timedelta(days=rng.randrange(45, 300)))
            level = rng.uniform(15, 120)
            name = f"{theme}-{local}" + (f"-{number + 1}" if number else "")
            for share, country in zip((0.65, 0.35), rng.sample(COUNTRIES, 2), strict=True):
                segments.append(_Segment(channel, country, name, email, level * share, start, end))
    for channel, campaign in FREE_CHANNELS.items():
        for country in COUNTRIES[:3]:
            segments.append(_Segment(channel, country, campaign, NOT_SET, rng.uniform(40, 400), first, last))
    return segments


@functools.lru_cache(maxsize=16)
def _generate(seed: str, owners: tuple[str, ...]) -> tuple[Ga4Fact, ...]:
    # Pure and cached: a test suite builds many emulators over the same org.
    rng = random.Random(seed)
    facts: list[Ga4Fact] = []
    for segment in _segments(rng, owners):
        day = segment.start
        while day <= segment.end:
            weekday = 0.7 if day.weekday() >= 5 else 1.0
            sessions = int(segment.level * weekday * rng.uniform(0.6, 1.4))
            if sessions > 0:
                conversions = int(sessions * rng.uniform(0.0, 0.06))
                facts.append(
                    Ga4Fact(
                        day=day,
                        date_text=day.strftime("%Y%m%d"),
                        channel=segment.channel,
                        country=segment.country,
                        campaign=segment.campaign,
                        owner=segment.owner,
                        sessions=sessions,
                        total_users=max(1, int(sessions * rng.uniform(0.7, 0.95))),
                        conversions=conversions,
                        page_views=int(sessions * rng.uniform(1.5, 4.0)),
                        engaged_sessions=int(sessions * rng.uniform(0.4, 0.8)),
                        revenue=round(conversions * rng.uniform(20.0, 150.0), 2),
                    )
                )
            day += timedelta(days=1)
    facts.sort(key=lambda f: f.day)
    return tuple(facts)


# --- errors ------------------------------------------------------------------------------------------
class ApiError(Exception):
    """A Google API error: HTTP code, canonical status and message."""

    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message

    def response(self) -> Response:
        """The Google JSON error body for this error."""
        body = {"error": {"code": self.code, "message": self.message, "status": self.status}}
        return json_response(body, status=self.code)


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)


def _unknown_field(name: str, kind: str, known: Iterable[str]) -> ApiError:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    return _invalid(
        f"Field {name} is not a valid {kind}. For a list of valid dimensions and metrics, "
        f"see {SCHEMA_URL}.{hint}"
    )


# --- request parsing ---------------------------------------------------------------------------------
def _camel(value: Any) -> Any:
    # json_format accepts snake_case and lowerCamelCase field names alike; so does the emulator.
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _enum(value: Any, names: Sequence[str], where: str) -> str:
    if isinstance(value, bool):
        raise _invalid(f"Invalid value at '{where}': {value!r}")
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str) and value in names:
        return value
    raise _invalid(f"Invalid value at '{where}' ({names[0].rsplit('_', 1)[0]}), {json.dumps(value)}")


def _int64(value: Any, where: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise _invalid(f"Invalid value at '{where}' (TYPE_INT64), {json.dumps(value)}")
    try:
        number = int(value)
    except (ValueError, OverflowError):
        raise _invalid(f"Invalid value at '{where}' (TYPE_INT64), {json.dumps(value)}") from None
    if isinstance(value, float) and value != number:
        raise _invalid(f"Invalid value at '{where}' (TYPE_INT64), {value}")
    return number


def _parse_date(text: Any, where: str, today: date) -> date:
    if not isinstance(text, str):
        raise _invalid(f"Invalid value at '{where}': a date is a string")
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    if match := re.fullmatch(r"(\d+)daysAgo", text):
        return today - timedelta(days=int(match.group(1)))
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise _invalid(f"Invalid {where}: {text}. Dates must be YYYY-MM-DD, NdaysAgo, yesterday, or today.")


Getter = Callable[[str], Any]
Predicate = Callable[[Getter], bool]


def _numeric(value: Any, where: str) -> float:
    if not isinstance(value, dict) or not ({"int64Value", "doubleValue"} & value.keys()):
        raise _invalid(f"{where} needs a NumericValue with int64Value or doubleValue")
    raw: Any = value.get("int64Value", value.get("doubleValue"))
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise _invalid(f"Invalid value at '{where}': {json.dumps(raw)}") from None


def _as_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _string_test(spec: Mapping[str, Any], where: str) -> Callable[[str], bool]:
    match_type = _enum(spec.get("matchType", 0), _MATCH_TYPES, f"{where}.match_type")
    wanted = spec.get("value", "")
    if not isinstance(wanted, str):
        raise _invalid(f"Invalid value at '{where}.value': a string")
    sensitive = bool(spec.get("caseSensitive", False))
    if match_type in ("FULL_REGEXP", "PARTIAL_REGEXP"):
        try:
            pattern = re.compile(wanted, 0 if sensitive else re.IGNORECASE)
        except re.error as exc:
            raise _invalid(f"Invalid regular expression {wanted!r} at '{where}.value': {exc}") from None
        if match_type == "FULL_REGEXP":
            return lambda text: pattern.fullmatch(text) is not None
        return lambda text: pattern.search(text) is not None
    fold: Callable[[str], str] = (lambda s: s) if sensitive else str.casefold
    target = fold(wanted)
    tests: dict[str, Callable[[str], bool]] = {
        "MATCH_TYPE_UNSPECIFIED": lambda text: fold(text) == target,
        "EXACT": lambda text: fold(text) == target,
        "BEGINS_WITH": lambda text: fold(text).startswith(target),
        "ENDS_WITH": lambda text: fold(text).endswith(target),
        "CONTAINS": lambda text: target in fold(text),
    }
    return tests[match_type]


def _value_test(name: str, spec: Mapping[str, Any], where: str, *, metric: bool) -> Callable[[Any], bool]:
    kinds = [
        k
        for k in ("stringFilter", "inListFilter", "numericFilter", "betweenFilter", "emptyFilter")
        if k in spec
    ]
    if len(kinds) != 1:
        raise _invalid(f"{where} for {name} must set exactly one of stringFilter, inListFilter, "
                       "numericFilter, betweenFilter, emptyFilter")  # fmt: skip
    kind = kinds[0]
    body = spec[kind] if isinstance(spec[kind], dict) else {}
    if metric and kind in ("stringFilter", "inListFilter", "emptyFilter"):
        raise _invalid(f"Metric filter on {name} must be a numericFilter or betweenFilter, not {kind}")
    if kind == "stringFilter":
        test = _string_test(body, f"{where}.string_filter")
        return lambda value: test(str(value))
    if kind == "inListFilter":
        values = body.get("values", [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise _invalid(f"Invalid value at '{where}.in_list_filter.values': a list of strings")
        if body.get("caseSensitive", False):
            exact = frozenset(values)
            return lambda value: str(value) in exact
        folded = frozenset(v.casefold() for v in values)
        return lambda value: str(value).casefold() in folded
    if kind == "emptyFilter":
        return lambda value: str(value) in ("", NOT_SET)
    if kind == "numericFilter":
        operation = _enum(body.get("operation", 0), _OPERATIONS, f"{where}.numeric_filter.operation")
        if operation == "OPERATION_UNSPECIFIED":
            raise _invalid(f"{where}.numeric_filter needs an operation")
        bound = _numeric(body.get("value"), f"{where}.numeric_filter.value")
        compare: Callable[[float], bool] = {
            "EQUAL": lambda x: x == bound,
            "LESS_THAN": lambda x: x < bound,
            "LESS_THAN_OR_EQUAL": lambda x: x <= bound,
            "GREATER_THAN": lambda x: x > bound,
            "GREATER_THAN_OR_EQUAL": lambda x: x >= bound,
        }[operation]
        return lambda value: (number := _as_number(value)) is not None and compare(number)
    low = _numeric(body.get("fromValue"), f"{where}.between_filter.from_value")
    high = _numeric(body.get("toValue"), f"{where}.between_filter.to_value")
    return lambda value: (number := _as_number(value)) is not None and low <= number <= high


def compile_filter(expr: Any, *, metric: bool, used: set[str], where: str = "dimension_filter") -> Predicate:
    """A predicate for a `FilterExpression`; `used` collects the field names it reads."""
    if not isinstance(expr, dict):
        raise _invalid(f"Invalid value at '{where}': a FilterExpression object")
    keys = [k for k in ("andGroup", "orGroup", "notExpression", "filter") if k in expr]
    if len(keys) != 1:
        raise _invalid(f"'{where}' must set exactly one of and_group, or_group, not_expression, filter")
    key = keys[0]
    if key in ("andGroup", "orGroup"):
        items = expr[key].get("expressions", []) if isinstance(expr[key], dict) else None
        if not isinstance(items, list):
            raise _invalid(f"Invalid value at '{where}.{key}': a FilterExpressionList")
        parts = [compile_filter(e, metric=metric, used=used, where=f"{where}.expressions[{i}]")
                 for i, e in enumerate(items)]  # fmt: skip
        combine = all if key == "andGroup" else any
        return lambda get: combine(part(get) for part in parts)
    if key == "notExpression":
        inner = compile_filter(expr[key], metric=metric, used=used, where=f"{where}.not_expression")
        return lambda get: not inner(get)
    spec = expr["filter"]
    if not isinstance(spec, dict):
        raise _invalid(f"Invalid value at '{where}.filter': a Filter object")
    name = spec.get("fieldName")
    if not isinstance(name, str) or not name:
        raise _invalid(f"'{where}.filter.field_name' is required")
    own, other = (METRICS, DIMENSIONS) if metric else (DIMENSIONS, METRICS)
    if name not in own:
        if name in other:
            raise _invalid(
                f"Field {name} is a {'dimension' if metric else 'metric'}; a "
                f"{'metric' if metric else 'dimension'} filter can only name "
                f"{'metrics' if metric else 'dimensions'}."
            )
        raise _unknown_field(name, "metric" if metric else "dimension", own)
    used.add(name)
    test = _value_test(name, spec, f"{where}.filter", metric=metric)
    return lambda get: test(get(name))


@dataclass(frozen=True, slots=True)
class _OrderBy:
    name: str
    is_metric: bool
    desc: bool
    numeric: bool
    folded: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportSpec:
    """A validated `RunReportRequest`."""

    ranges: tuple[tuple[date, date, str], ...]
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    dimension_filter: Predicate | None
    filter_fields: frozenset[str]
    metric_filter: Predicate | None
    order_bys: tuple[_OrderBy, ...]
    limit: int
    offset: int
    aggregations: tuple[str, ...]
    keep_empty_rows: bool
    return_quota: bool
    currency_code: str


def _names(items: Any, where: str) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("name"), str) for i in items
    ):
        raise _invalid(f"Invalid value at '{where}': a list of objects with a name")
    names = [str(i["name"]) for i in items]
    for name in names:
        if names.count(name) > 1:
            raise _invalid(f"Duplicate {where[:-1]} name: {name}")
    return names


def parse_report(raw: Any, *, property_name: str, today: date, where: str = "") -> ReportSpec:
    """Validate a `RunReportRequest` JSON object, as the API would, into a `ReportSpec`."""
    if not isinstance(raw, dict):
        raise _invalid("Invalid JSON payload received. Expected an object.")
    body = _camel(raw)
    at = f" at '{where}'" if where else ""
    for key in body:
        if key not in _REQUEST_FIELDS:
            raise _invalid(f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.')
    if body.get("property") not in (None, "", property_name):
        raise _invalid(f"Request property {body['property']} does not match {property_name} in the batch")
    for unsupported in ("cohortSpec", "comparisons"):
        if body.get(unsupported):
            raise _invalid(f"The emulator does not support {unsupported}")
    dimensions = _names(body.get("dimensions"), "dimensions")
    metrics = _names(body.get("metrics"), "metrics")
    for name in dimensions:
        if name not in DIMENSIONS:
            raise _unknown_field(name, "metric" if name in METRICS else "dimension", DIMENSIONS)
    for name in metrics:
        if name not in METRICS:
            raise _unknown_field(name, "metric", METRICS)
    if not metrics and not dimensions:
        raise _invalid("A report needs at least one dimension or metric.")
    if len(dimensions) > 9 or len(metrics) > 10:
        raise _invalid("Requests are limited to 9 dimensions and 10 metrics.")
    ranges_raw = body.get("dateRanges") or []
    if not isinstance(ranges_raw, list) or not ranges_raw:
        raise _invalid("Must specify at least one date range (date_ranges).")
    if len(ranges_raw) > 4:
        raise _invalid("Requests are limited to 4 date ranges.")
    ranges: list[tuple[date, date, str]] = []
    for index, item in enumerate(ranges_raw):
        if not isinstance(item, dict):
            raise _invalid(f"Invalid value at 'date_ranges[{index}]'")
        start = _parse_date(item.get("startDate"), f"date_ranges[{index}].start_date", today)
        end = _parse_date(item.get("endDate"), f"date_ranges[{index}].end_date", today)
        if start > end:
            raise _invalid(f"Date range {index}: start_date {start} is after end_date {end}.")
        ranges.append((start, end, str(item.get("name") or f"date_range_{index}")))
    if len(ranges) > 1 and "dateRange" not in dimensions:
        dimensions.append("dateRange")
    used: set[str] = set()
    dimension_filter = (
        compile_filter(body["dimensionFilter"], metric=False, used=used)
        if body.get("dimensionFilter")
        else None
    )
    metric_used: set[str] = set()
    metric_filter = (
        compile_filter(body["metricFilter"], metric=True, used=metric_used, where="metric_filter")
        if body.get("metricFilter")
        else None
    )
    for name in metric_used:
        if name not in metrics:
            raise _invalid(f"Metric filter field {name} must be one of the requested metrics.")
    limit = _int64(body.get("limit"), "limit", 0)
    offset = _int64(body.get("offset"), "offset", 0)
    if limit < 0 or offset < 0:
        raise _invalid("limit and offset must not be negative.")
    aggregations = tuple(
        _enum(a, _AGGREGATIONS, f"metric_aggregations[{i}]")
        for i, a in enumerate(body.get("metricAggregations") or [])
    )
    if "COUNT" in aggregations:
        raise _invalid("Metric aggregation COUNT is only available in pivot reports.")
    return ReportSpec(
        ranges=tuple(ranges),
        dimensions=tuple(dimensions),
        metrics=tuple(metrics),
        dimension_filter=dimension_filter,
        filter_fields=frozenset(used),
        metric_filter=metric_filter,
        order_bys=_order_bys(body.get("orderBys") or [], dimensions, metrics),
        limit=min(limit or DEFAULT_LIMIT, MAX_LIMIT),
        offset=offset,
        aggregations=tuple(a for a in aggregations if a != "METRIC_AGGREGATION_UNSPECIFIED"),
        keep_empty_rows=bool(body.get("keepEmptyRows", False)),
        return_quota=bool(body.get("returnPropertyQuota", False)),
        currency_code=str(body.get("currencyCode") or "USD"),
    )


def _order_bys(raw: Any, dimensions: Sequence[str], metrics: Sequence[str]) -> tuple[_OrderBy, ...]:
    if not isinstance(raw, list):
        raise _invalid("Invalid value at 'order_bys'")
    orders: list[_OrderBy] = []
    for index, item in enumerate(raw):
        desc = bool(item.get("desc", False)) if isinstance(item, dict) else False
        if isinstance(item, dict) and isinstance(item.get("metric"), dict):
            name = item["metric"].get("metricName")
            if name not in metrics:
                raise _invalid(f"order_bys[{index}]: metric {name} is not in the request's metrics.")
            orders.append(_OrderBy(str(name), True, desc, True, False))
        elif isinstance(item, dict) and isinstance(item.get("dimension"), dict):
            name = item["dimension"].get("dimensionName")
            if name not in dimensions:
                raise _invalid(f"order_bys[{index}]: dimension {name} is not in the request's dimensions.")
            kind = _enum(
                item["dimension"].get("orderType", 0), _ORDER_TYPES, f"order_bys[{index}].order_type"
            )
            orders.append(_OrderBy(str(name), False, desc, kind == "NUMERIC", kind != "ALPHANUMERIC"))
        else:
            raise _invalid(f"order_bys[{index}] must order by a metric or a dimension")
    return tuple(orders)


# --- the report engine -------------------------------------------------------------------------------
def metric_value(name: str, sums: Sequence[float]) -> float:
    """A metric's value from the additive sums of a row (`engagementRate` is a ratio of sums)."""
    if name == "engagementRate":
        return sums[_ENGAGED] / sums[_SESSIONS] if sums[_SESSIONS] else 0.0
    return float(sums[_SUMMED.index(name)])


def format_metric(name: str, value: float) -> str:
    """A metric value as the API prints it: always a string."""
    kind = METRICS[name]
    if kind == "TYPE_INTEGER":
        return str(round(value))
    if kind == "TYPE_CURRENCY":
        return repr(round(value, 2))
    return repr(value)


_Row = tuple[tuple[str, ...], list[float], list[float]]
"""A report row: dimension values, metric values, and the additive sums behind them."""


@dataclass(slots=True)
class Report:
    """A computed report: its JSON (without quota) and the rows it had before paging."""

    body: dict[str, Any]
    row_count: int


def run_report(spec: ReportSpec, facts: Sequence[Ga4Fact], days: Sequence[date]) -> Report:
    """Compute a report over `facts` (sorted by day; `days` is their day column for bisecting)."""
    groups: dict[tuple[str, ...], list[float]] = {}
    cache: dict[tuple[str, ...], bool] = {}
    per_row = "date" in spec.filter_fields
    for start, end, range_name in spec.ranges:
        lo, hi = bisect.bisect_left(days, start), bisect.bisect_right(days, end)
        for fact in facts[lo:hi]:
            if spec.dimension_filter is not None:
                combo = (
                    fact.date_text if per_row else "",
                    fact.channel,
                    fact.country,
                    fact.campaign,
                    fact.owner,
                )
                keep = cache.get(combo)
                if keep is None:
                    keep = cache[combo] = spec.dimension_filter(_fact_getter(fact, range_name))
                if not keep:
                    continue
            key = tuple(range_name if d == "dateRange" else fact.dimension(d) for d in spec.dimensions)
            sums = groups.get(key)
            if sums is None:
                sums = groups[key] = [0.0] * len(_SUMMED)
            for index, amount in enumerate(fact.summed()):
                sums[index] += amount
    rows: list[_Row] = []
    for key, sums in groups.items():
        values = [metric_value(m, sums) for m in spec.metrics]
        if spec.metrics and not spec.keep_empty_rows and not any(values):
            continue
        if spec.metric_filter is not None and not spec.metric_filter(
            dict(zip(spec.metrics, values, strict=True)).__getitem__
        ):
            continue
        rows.append((key, values, sums))
    _sort(rows, spec)
    body: dict[str, Any] = {}
    if spec.dimensions:
        body["dimensionHeaders"] = [{"name": d} for d in spec.dimensions]
    if spec.metrics:
        body["metricHeaders"] = [{"name": m, "type": METRICS[m]} for m in spec.metrics]
    page = rows[spec.offset : spec.offset + spec.limit]
    if page:
        body["rows"] = [_row(key, values, spec.metrics) for key, values, _ in page]
    if rows:
        for aggregation in spec.aggregations:
            body[_AGGREGATION_KEYS[aggregation][0]] = _aggregate(rows, spec, aggregation)
        body["rowCount"] = len(rows)
    body["metadata"] = {"currencyCode": spec.currency_code, "timeZone": "America/Los_Angeles"}
    body["kind"] = "analyticsData#runReport"
    return Report(body=body, row_count=len(rows))


def _row(key: Sequence[str], values: Sequence[float], metrics: Sequence[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    if key:
        row["dimensionValues"] = [{"value": v} for v in key]
    if metrics:
        row["metricValues"] = [{"value": format_metric(m, v)} for m, v in zip(metrics, values, strict=True)]
    return row


def _fact_getter(fact: Ga4Fact, range_name: str) -> Getter:
    def get(name: str) -> str:
        return range_name if name == "dateRange" else fact.dimension(name)

    return get


def _sort_key(order: _OrderBy, position: int) -> Callable[[_Row], Any]:
    if order.is_metric:
        return lambda row: row[1][position]
    if order.numeric:
        return lambda row: _as_number(row[0][position]) or 0.0
    if order.folded:
        return lambda row: row[0][position].casefold()
    return lambda row: row[0][position]


def _sort(rows: list[_Row], spec: ReportSpec) -> None:
    rows.sort(key=lambda row: row[0])
    default = (_OrderBy(spec.metrics[0], True, True, True, False),) if spec.metrics else ()
    for order in reversed(spec.order_bys or default):  # stable sorts, the last key first
        position = (spec.metrics if order.is_metric else spec.dimensions).index(order.name)
        rows.sort(key=_sort_key(order, position), reverse=order.desc)


def _aggregate(rows: Sequence[_Row], spec: ReportSpec, aggregation: str) -> list[dict[str, Any]]:
    label = _AGGREGATION_KEYS[aggregation][1]
    range_at = spec.dimensions.index("dateRange") if "dateRange" in spec.dimensions else None
    buckets: dict[str, list[_Row]] = {}
    for row in rows:
        buckets.setdefault(row[0][range_at] if range_at is not None else "", []).append(row)
    result = []
    for range_name, members in buckets.items():
        key = tuple(range_name if i == range_at else label for i in range(len(spec.dimensions)))
        if aggregation == "TOTAL":
            sums = [sum(m[2][i] for m in members) for i in range(len(_SUMMED))]
            values = [metric_value(name, sums) for name in spec.metrics]
        else:
            pick = min if aggregation == "MINIMUM" else max
            values = [pick(m[1][i] for m in members) for i in range(len(spec.metrics))]
        result.append(_row(key, values, spec.metrics))
    return result


# --- quota -------------------------------------------------------------------------------------------
def _status(consumed: int, remaining: int) -> dict[str, int]:
    # proto3 JSON leaves out zeros: a spent bucket has no `remaining`, a free request no `consumed`.
    return {k: v for k, v in (("consumed", consumed), ("remaining", max(0, remaining))) if v}


@dataclass
class PropertyQuota:
    """The token buckets of one property: per day, per hour, and per project per hour."""

    per_day: int
    per_hour: int
    per_project_hour: int
    day_used: int = 0
    hour_used: int = 0
    hour_started: float = field(default_factory=time.monotonic)

    def exhausted(self) -> str | None:
        """The name of the first spent bucket, or None."""
        if time.monotonic() - self.hour_started >= 3600:
            self.hour_used, self.hour_started = 0, time.monotonic()
        if self.day_used >= self.per_day:
            return "property tokens per day"
        if self.hour_used >= self.per_hour:
            return "property tokens per hour"
        if self.hour_used >= self.per_project_hour:
            return "property tokens per project per hour"
        return None

    def charge(self, tokens: int) -> dict[str, Any]:
        """Spend `tokens` and return the `PropertyQuota` JSON after this request."""
        self.day_used += tokens
        self.hour_used += tokens
        return {
            "tokensPerDay": _status(tokens, self.per_day - self.day_used),
            "tokensPerHour": _status(tokens, self.per_hour - self.hour_used),
            "concurrentRequests": _status(0, 10),
            "serverErrorsPerProjectPerHour": _status(0, 10),
            "potentiallyThresholdedRequestsPerHour": _status(0, 120),
            "tokensPerProjectPerHour": _status(tokens, self.per_project_hour - self.hour_used),
        }

    def state(self) -> dict[str, Any]:
        """Used and limit per bucket, for `GET /_sandbox/quota`."""
        return {
            "tokensPerDay": {"used": self.day_used, "limit": self.per_day},
            "tokensPerHour": {"used": self.hour_used, "limit": self.per_hour},
            "tokensPerProjectPerHour": {"used": self.hour_used, "limit": self.per_project_hour},
        }


def report_cost(row_count: int) -> int:
    """Tokens one report costs: a base of 10 plus one per hundred rows."""
    return 10 + row_count // 100


# --- auth --------------------------------------------------------------------------------------------
def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _unauthenticated() -> ApiError:
    return ApiError(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
        "other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    )


def make_service_account_key(
    email: str, *, key_id: str, project_id: str = "acme-analytics"
) -> tuple[dict[str, str], bytes]:
    """A throwaway RSA service-account JSON key for `email`, and its public key PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": key_id,
        "private_key": private_pem,
        "client_email": email,
        "client_id": str(int(key_id.encode().hex()[:15], 16)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "universe_domain": "googleapis.com",
    }
    return info, public_pem


# --- the emulator ------------------------------------------------------------------------------------
class Ga4Emulator(EmulatorApp):
    """The GA4 Data API v1beta over synthetic traffic owned by the org's Marketing people.

    Args:
        org: the synthetic company; its Marketing division owns the campaigns.
        property_ids: the properties the service account can read (others answer 403).
        service_account_email: the only `iss`/`sub` the emulator accepts.
        tokens_per_day: each property's daily token bucket.
        tokens_per_hour: each property's hourly token bucket.
        tokens_per_project_per_hour: the per-project hourly bucket (35% of the hourly one by default).
        seed: varies the traffic; defaults to the org's seed.
    """

    name = "ga4"

    def __init__(
        self,
        org: SyntheticOrg,
        *,
        property_ids: Sequence[str] = ("123456789",),
        service_account_email: str = "okrhub@acme-analytics.iam.gserviceaccount.com",
        tokens_per_day: int = 200_000,
        tokens_per_hour: int = 40_000,
        tokens_per_project_per_hour: int | None = None,
        seed: int | None = None,
    ) -> None:
        self.org = org
        self.property_ids = tuple(property_ids)
        self.service_account_email = service_account_email
        self.seed = org.seed if seed is None else seed
        self.owners = tuple(e.email for e in people_rows(org) if e.division == "Marketing")
        """Emails of the Marketing people when the emulator was built: the campaign owners."""
        self._limits = (
            tokens_per_day,
            tokens_per_hour,
            tokens_per_hour * 35 // 100
            if tokens_per_project_per_hour is None
            else tokens_per_project_per_hour,
        )
        self.quotas = {pid: PropertyQuota(*self._limits) for pid in self.property_ids}
        self.received: deque[tuple[str, Any]] = deque(maxlen=1000)
        """(property id, request JSON) of the last report requests that reached the engine."""
        self._days: dict[str, list[date]] = {}
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._not_before = 0
        self._lock = threading.Lock()
        super().__init__()

    # --- data --------------------------------------------------------------------------------------
    def facts(self, property_id: str) -> tuple[Ga4Fact, ...]:
        """Every day of every traffic segment of a property, sorted by day."""
        return _generate(f"ga4:{self.seed}:{property_id}", self.owners)

    def today(self) -> date:
        """What `today`, `yesterday` and `NdaysAgo` count from (UTC)."""
        return datetime.now(UTC).date()

    # --- auth --------------------------------------------------------------------------------------
    def trust_key(self, key_id: str, public_key_pem: bytes) -> None:
        """Verify JWTs signed with `key_id` against this key (once one key is trusted, all must be)."""
        key = serialization.load_pem_public_key(public_key_pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise TypeError("a service-account key is RSA")
        with self._lock:
            self._keys[key_id] = key

    def issue_key(self, key_id: str = "emulator-key-1") -> dict[str, str]:
        """A new service-account JSON key for the configured email, trusted by the emulator."""
        info, public_pem = make_service_account_key(self.service_account_email, key_id=key_id)
        self.trust_key(key_id, public_pem)
        return info

    @override
    def expire_tokens(self) -> None:
        """Refuse JWTs issued in an earlier second than now (google-auth then signs a new one)."""
        with self._lock:
            self._not_before = int(time.time())

    def authenticate(self, request: Request) -> None:
        """Accept a Bearer self-signed JWT of the service account, or raise 401/403."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise _unauthenticated()
        parts = header[len("Bearer ") :].strip().split(".")
        if len(parts) != 3:
            raise _unauthenticated()
        try:
            head = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (ValueError, binascii.Error):
            raise _unauthenticated() from None
        if not isinstance(head, dict) or not isinstance(claims, dict) or head.get("alg") != "RS256":
            raise _unauthenticated()
        with self._lock:
            keys, not_before = dict(self._keys), self._not_before
        if keys:
            key = keys.get(str(head.get("kid")))
            if key is None:
                raise _unauthenticated()
            try:
                key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                raise _unauthenticated() from None
        now = time.time()
        issued, expires = claims.get("iat"), claims.get("exp")
        if (
            claims.get("iss") != self.service_account_email
            or claims.get("sub", self.service_account_email) != self.service_account_email
            or not isinstance(issued, int | float)
            or not isinstance(expires, int | float)
            or expires <= now
            or issued > now + 60
            or issued < not_before
        ):
            raise _unauthenticated()
        scopes = str(claims.get("scope", "")).split()
        audience = str(claims.get("aud", ""))
        if not scopes and "analyticsdata.googleapis.com" not in audience:
            raise _unauthenticated()
        if scopes and not ({SCOPE, "https://www.googleapis.com/auth/analytics"} & set(scopes)):
            raise ApiError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")

    def _property(self, property_id: str) -> PropertyQuota:
        quota = self.quotas.get(property_id)
        if quota is None:
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                "User does not have sufficient permissions for this property. To learn more about Property "
                "ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.",
            )
        return quota

    # --- quota -------------------------------------------------------------------------------------
    def set_quota(
        self,
        property_id: str,
        *,
        tokens_per_day_remaining: int | None = None,
        tokens_per_hour_remaining: int | None = None,
    ) -> None:
        """Leave only this many tokens in a property's buckets (0 exhausts it)."""
        with self._lock:
            quota = self.quotas[property_id]
            if tokens_per_day_remaining is not None:
                quota.day_used = quota.per_day - tokens_per_day_remaining
            if tokens_per_hour_remaining is not None:
                quota.hour_used = quota.per_hour - tokens_per_hour_remaining

    def refresh_quota(self, property_id: str | None = None) -> None:
        """Refill one property's buckets, or every property's (midnight Pacific, in emulator time)."""
        with self._lock:
            for pid in [property_id] if property_id else list(self.quotas):
                self.quotas[pid] = PropertyQuota(*self._limits)

    # --- routes ------------------------------------------------------------------------------------
    @override
    def rules(self) -> Iterable[Rule]:
        """The Data API routes, plus `/_sandbox/<action>` for `admin`."""
        return (
            Rule("/v1beta/properties/<pid>:runReport", endpoint="run_report", methods=["POST"]),
            Rule("/v1beta/properties/<pid>:batchRunReports", endpoint="batch_run_reports", methods=["POST"]),
            Rule("/v1beta/properties/<pid>/metadata", endpoint="metadata", methods=["GET"]),
            Rule("/_sandbox/<action>", endpoint="sandbox_admin", methods=["GET", "POST"]),
        )

    @override
    def http_error(self, request: Request, exc: HTTPException) -> Response:
        """Unknown URL or method, as a Google JSON error."""
        status = "NOT_FOUND" if exc.code == 404 else "INVALID_ARGUMENT"
        return ApiError(
            exc.code or 404, status, f"{request.method} {request.path} is not a known method."
        ).response()

    def on_run_report(self, request: Request, pid: str) -> Response:
        """`POST properties/{id}:runReport`."""
        try:
            self.authenticate(request)
            self._property(pid)
            raw = self._json(request)
            spec = parse_report(raw, property_name=f"properties/{pid}", today=self.today())
            return json_response(self._answer(pid, [(spec, raw)])[0])
        except ApiError as exc:
            return exc.response()

    def on_batch_run_reports(self, request: Request, pid: str) -> Response:
        """`POST properties/{id}:batchRunReports` with at most five requests."""
        try:
            self.authenticate(request)
            self._property(pid)
            body = _camel(self._json(request))
            items = body.get("requests") if isinstance(body, dict) else None
            if not isinstance(items, list) or not items:
                raise _invalid("A batch needs at least one request (requests).")
            if len(items) > MAX_BATCH:
                raise _invalid(
                    f"The number of requests in a batch must be at most {MAX_BATCH}; "
                    f"this batch has {len(items)}."
                )
            if body.get("property") not in (None, "", f"properties/{pid}"):
                raise _invalid("The batch property does not match the URL.")
            specs = [
                (
                    parse_report(
                        item, property_name=f"properties/{pid}", today=self.today(), where=f"requests[{i}]"
                    ),
                    item,
                )
                for i, item in enumerate(items)
            ]
            reports = self._answer(pid, specs)
            return json_response({"reports": reports, "kind": "analyticsData#batchRunReports"})
        except ApiError as exc:
            return exc.response()

    def on_metadata(self, request: Request, pid: str) -> Response:
        """`GET properties/{id}/metadata`; `properties/0` answers the common metadata."""
        try:
            self.authenticate(request)
            if pid != "0":
                self._property(pid)
        except ApiError as exc:
            return exc.response()
        dimensions = [
            {"apiName": n, "uiName": ui, "description": ui, "category": "Custom" if ":" in n else "General"}
            | ({"customDefinition": True} if ":" in n else {})
            for n, ui in DIMENSIONS.items()
            if pid != "0" or ":" not in n
        ]
        metrics = [
            {"apiName": n, "uiName": n, "description": n, "type": t, "category": "General"}
            for n, t in METRICS.items()
        ]
        return json_response(
            {"name": f"properties/{pid}/metadata", "dimensions": dimensions, "metrics": metrics}
        )

    def on_sandbox_admin(self, request: Request, action: str) -> Response:
        """Route `/_sandbox/<action>` to `admin`."""
        return self.admin(request, action)

    @override
    def admin(self, request: Request, action: str) -> Response:
        """`GET|POST /_sandbox/quota` and `POST /_sandbox/expire_tokens`.

        POST quota takes `{"property_id": "123", "tokens_per_day_remaining": 0}` (or
        `tokens_per_hour_remaining`) to squeeze a property, or `{"refresh": true}` to refill all.
        """
        if action == "expire_tokens" and request.method == "POST":
            self.expire_tokens()
            return json_response({"expired": True})
        if action == "quota":
            if request.method == "POST":
                spec = request.get_json(force=True)
                if spec.get("refresh"):
                    self.refresh_quota(spec.get("property_id"))
                else:
                    self.set_quota(
                        str(spec["property_id"]),
                        tokens_per_day_remaining=spec.get("tokens_per_day_remaining"),
                        tokens_per_hour_remaining=spec.get("tokens_per_hour_remaining"),
                    )
            with self._lock:
                return json_response({pid: quota.state() for pid, quota in self.quotas.items()})
        return ApiError(404, "NOT_FOUND", f"unknown sandbox action {action}").response()

    # --- internals ---------------------------------------------------------------------------------
    @staticmethod
    def _json(request: Request) -> Any:
        try:
            return json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            raise _invalid("Invalid JSON payload received. Unexpected token.") from None

    def _answer(self, pid: str, specs: Sequence[tuple[ReportSpec, Any]]) -> list[dict[str, Any]]:
        facts = self.facts(pid)
        with self._lock:
            days = self._days.get(pid)
            if days is None:
                days = self._days[pid] = [f.day for f in facts]
            spent = self._property(pid).exhausted()
        if spent:
            raise ApiError(
                429,
                "RESOURCE_EXHAUSTED",
                f"Exhausted {spent} quota. Consider reducing the number of requests, the date range, or "
                "the number of dimensions; property quotas refresh as documented at "
                "https://developers.google.com/analytics/devguides/reporting/data/v1/quotas.",
            )
        bodies = []
        for spec, raw in specs:
            report = run_report(spec, facts, days)
            with self._lock:
                self.received.append((pid, raw))
                quota_after = self._property(pid).charge(report_cost(report.row_count))
            if spec.return_quota:
                report.body["propertyQuota"] = quota_after
            bodies.append(report.body)
        return bodies


def expected_total(
    facts: Iterable[Ga4Fact],
    metric: str,
    start: date,
    end: date,
    where: Callable[[Ga4Fact], bool] | None = None,
) -> float | None:
    """A metric over the facts of a date range, the plain way (for tests); None when nothing matched."""
    chosen = [f for f in facts if start <= f.day <= end and (where is None or where(f))]
    if not chosen:
        return None
    sums = [sum(values) for values in zip(*(f.summed() for f in chosen), strict=True)]
    return metric_value(metric, sums)
