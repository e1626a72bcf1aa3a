"""From a `Ga4Query` to `runReport` request JSON, and from the report pages back to a `MetricResult`.

A query becomes one report of one metric over one date range, with the compiler's dimension
filter, the `group_by` dimension (ordered by it, so pages are stable) and a TOTAL aggregation
(so a grouped query also knows its overall value, ratios included), asking for the property's
quota. Values arrive as strings and are summed as floats.

Example:
    ```python
    job = ReportJob.for_query(request, property_id="123", page_size=10_000)
    job.add_page(offset=0, report=client.run_report("123", job.page(0)))
    result = job.result()
    ```
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.analytics.data_v1beta.types import RunReportRequest
from google.protobuf import json_format

from hub.errors import OkrHubError
from hub.metrics import Ga4Query, MetricResult, QueryRequest

EVIDENCE_ROWS = 5
"""How many raw rows a result keeps as evidence."""


def plain(value: Any) -> Any:
    """`value` with every mapping turned into a dict and every sequence into a list (JSON-ready)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def report_request(query: Ga4Query, *, page_size: int) -> dict[str, Any]:
    """The `RunReportRequest` JSON of a query's first page (no property: the URL names it)."""
    body: dict[str, Any] = {
        "dateRanges": [
            {"startDate": query.date_range.start.isoformat(), "endDate": query.date_range.end.isoformat()}
        ],
        "metrics": [{"name": query.metric}],
        "limit": str(page_size),
        "returnPropertyQuota": True,
    }
    if query.group_by:
        body["dimensions"] = [{"name": query.group_by}]
        body["orderBys"] = [{"dimension": {"dimensionName": query.group_by}}]
        body["metricAggregations"] = ["TOTAL"]
    if query.dimension_filter:
        body["dimensionFilter"] = plain(query.dimension_filter)
    return body


def check_request(body: Mapping[str, Any]) -> str | None:
    """Why the library would refuse this request JSON (a malformed filter), or None if it is fine."""
    try:
        RunReportRequest.from_json(json.dumps(body))
    except (json_format.ParseError, TypeError, ValueError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def _values(row: Mapping[str, Any], key: str) -> list[str]:
    return [str(item.get("value", "")) for item in row.get(key, []) if isinstance(item, Mapping)]


@dataclass
class ReportJob:
    """One query's report, read page by page, then folded into a `MetricResult`."""

    request: QueryRequest
    query: Ga4Query
    property_id: str
    body: dict[str, Any]
    page_size: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    row_count: int = 0
    pages: int = 0
    totals: list[dict[str, Any]] = field(default_factory=list)
    quota: dict[str, Any] = field(default_factory=dict)
    error: OkrHubError | None = None

    def page(self, offset: int) -> dict[str, Any]:
        """The request JSON of the page starting at row `offset`."""
        return {**self.body, "offset": str(offset)} if offset else dict(self.body)

    def add_page(self, offset: int, report: Mapping[str, Any]) -> list[int]:
        """Keep a page's rows; after the first page, return the offsets of the pages still to read."""
        self.pages += 1
        self.rows.extend(row for row in report.get("rows", []) if isinstance(row, dict))
        quota = report.get("propertyQuota")
        if isinstance(quota, dict):
            self.quota = quota
        if offset:
            return []
        # proto3 JSON leaves out a zero rowCount: an empty report has neither rows nor rowCount.
        self.row_count = int(report.get("rowCount", 0) or 0)
        self.totals = [t for t in report.get("totals", []) if isinstance(t, dict)]
        return list(range(self.page_size, self.row_count, self.page_size))

    def result(self) -> MetricResult:
        """The query's answer, with its evidence; the error instead when it failed."""
        evidence: dict[str, Any] = {"property_id": self.property_id, "request": self.body}
        if self.error is not None:
            return MetricResult(key=self.request.key, evidence=evidence, error=self.error)
        evidence |= {
            "rowCount": self.row_count,
            "pages": self.pages,
            "rows": self.rows[:EVIDENCE_ROWS],
            "propertyQuota": self.quota,
        }
        if self.totals:
            evidence["totals"] = self.totals
        metrics = [_number(v) for row in self.rows for v in _values(row, "metricValues")[:1]]
        if not self.query.group_by:
            value = sum(metrics) if self.rows else None
            return MetricResult(key=self.request.key, value=value, rows=self.row_count, evidence=evidence)
        groups: dict[str, float | None] = {}
        for row in self.rows:
            dimensions, values = _values(row, "dimensionValues"), _values(row, "metricValues")
            if dimensions and values:
                groups[dimensions[0]] = (groups.get(dimensions[0]) or 0.0) + _number(values[0])
        total = _values(self.totals[0], "metricValues") if self.totals else []
        return MetricResult(
            key=self.request.key,
            value=_number(total[0]) if total else None,
            groups=groups,
            rows=self.row_count,
            evidence=evidence,
        )


def jobs_by_property(jobs: Sequence[ReportJob]) -> dict[str, list[ReportJob]]:
    """Jobs grouped by property, in the order properties first appear."""
    grouped: dict[str, list[ReportJob]] = {}
    for job in jobs:
        grouped.setdefault(job.property_id, []).append(job)
    return grouped
