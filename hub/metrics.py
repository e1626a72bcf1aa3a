"""The metric-query contract between the mapping compiler, the metric connectors and the update job.

The compiler (`mappings/`) turns an admin's YAML into `QueryRequest`s that are already rendered
and coalesced (one SOQL grouped by owner instead of 2,000 queries); a `MetricSource` connector
executes a batch of them in as few API calls as its vendor allows (GA4 `batchRunReports` takes
five) and answers one `MetricResult` per request; the job maps results back to key results.

Example:
    ```python
    requests = [QueryRequest(key="q1", query=SoqlQuery(
        soql="SELECT OwnerId, SUM(Amount) total FROM Opportunity WHERE OwnerId IN ('005A','005B') "
             "GROUP BY OwnerId",
        value="total", group_by="OwnerId"))]
    for result in connector.run_queries(requests):
        result.groups["005A"]   # 125000.0
    ```
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol, runtime_checkable

from hub.contracts import Connector
from hub.errors import OkrHubError


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A closed range of calendar days, both ends included."""

    start: date
    end: date


@dataclass(frozen=True, slots=True, kw_only=True)
class SoqlQuery:
    """A complete SOQL query; every literal in it was rendered and escaped by the compiler.

    `value` names the column holding the number in each row: an aggregate alias (`total`),
    `expr0` for an unaliased aggregate, or `totalSize` for `SELECT COUNT() ...`. `group_by`
    names the column holding each row's group key (the owner id) when the query is grouped.
    """

    soql: str
    value: str
    group_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JqlQuery:
    """A bounded JQL search and what to compute over all its pages.

    `aggregate` is computed client-side over every page (Jira has no server-side sums);
    `field` is the numeric field for `sum`/`average` (story points, for one); `group_by` is an
    issue field (`assignee`) whose value (the account id) groups the results; `approximate`
    asks the approximate-count endpoint instead (count only, never grouped).
    """

    jql: str
    aggregate: Literal["count", "sum", "average"] = "count"
    field: str | None = None
    group_by: str | None = None
    approximate: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Ga4Query:
    """One GA4 `runReport` for one metric over one date range.

    `dimension_filter` is a GA4 `FilterExpression` as JSON (values rendered by the compiler);
    `group_by` is a dimension whose values group the result (the owner's dimension).
    """

    property_id: str
    metric: str
    date_range: TimeWindow
    dimension_filter: Mapping[str, Any] | None = None
    group_by: str | None = None


MetricQuery = SoqlQuery | JqlQuery | Ga4Query


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryRequest:
    """One query of a plan, under the key the plan uses to find its result."""

    key: str
    query: MetricQuery


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricResult:
    """The answer to one `QueryRequest`.

    Ungrouped queries fill `value` (None: the query matched nothing); grouped ones fill
    `groups` (group key to value; a key absent from `groups` had no data). `rows` counts the
    records, issues or report rows the value came from. `evidence` is what an admin needs to
    trust the number: the query as sent, the first rows of the raw result, totals, paging.
    `error` is set when this query failed; other results of the batch still stand.
    """

    key: str
    value: float | None = None
    groups: Mapping[str, float | None] = field(default_factory=dict)
    rows: int = 0
    evidence: Mapping[str, Any] = field(default_factory=dict)
    error: OkrHubError | None = None


@runtime_checkable
class MetricSource(Connector, Protocol):
    """A system key-result values come from (Salesforce, Jira, GA4).

    Example:
        ```python
        results = {r.key: r for r in source.run_queries(plan.requests_for("salesforce"))}
        usage = source.usage()   # {"api_usage": {"used": 10018, "limit": 100000}} for the ledger
        ```
    """

    def run_queries(self, requests: Sequence[QueryRequest]) -> Iterator[MetricResult]:
        """Answer every request, one result each, in as few API calls as the vendor allows.

        A failure that concerns one query (a malformed query, a quota for one property) is
        reported in that result's `error`; a failure of the whole connection (auth) raises.
        """
        ...

    def usage(self) -> Mapping[str, Any]:
        """What the run has spent of the vendor's limits so far, for the run ledger."""
        ...
