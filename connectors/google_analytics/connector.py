"""The GA4 metric source: key-result values from Data API reports, five reports per call."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel

from connectors.google_analytics.client import Ga4Client
from connectors.google_analytics.queries import ReportJob, check_request, jobs_by_property, report_request
from connectors.google_analytics.settings import GoogleAnalyticsSettings, normalize_property_id
from hub.contracts import Capability, CheckResult, ConnectorContext
from hub.errors import (
    OkrHubError,
    PermissionDenied,
    QueryRejected,
    QuotaExhausted,
    SourceDataError,
    TransientError,
)
from hub.metrics import Ga4Query, MetricResult, QueryRequest

logger = logging.getLogger(__name__)

_QUOTA_BUCKETS = (
    "tokensPerDay",
    "tokensPerHour",
    "tokensPerProjectPerHour",
    "concurrentRequests",
    "serverErrorsPerProjectPerHour",
    "potentiallyThresholdedRequestsPerHour",
)

_PROPERTY_STOP = (QuotaExhausted, PermissionDenied, TransientError, SourceDataError)
"""Errors after which no further call goes to that property this run (retries already spent)."""


@dataclass(frozen=True, slots=True)
class _Page:
    job: ReportJob
    offset: int


class GoogleAnalyticsConnector:
    """GA4 as a metric source, over the Data API v1beta with a service-account key.

    `run_queries` groups the queries by property and sends them `max_batch` (5) reports per
    `batchRunReports` call; a report with more rows than `page_size` is read with further
    `offset` pages, batched the same way. A property whose quota is spent (429
    `RESOURCE_EXHAUSTED`) or that refuses the service account (403) fails its remaining queries
    without another call, while other properties go on. When the API refuses a batch (400), its
    reports are re-run one by one so only the bad query carries `QueryRejected`.

    Example:
        ```python
        context = ConnectorContext(connection="ga", stats=CallStats())
        connector = GoogleAnalyticsConnector(settings, context=context)
        connector.check()
        query = Ga4Query(property_id="123456789", metric="sessions",
                         date_range=TimeWindow(date(2026, 10, 1), date(2026, 10, 31)),
                         group_by="customEvent:owner_email")
        result = next(connector.run_queries([QueryRequest(key="kr-17", query=query)]))
        result.groups["maya.ito.1042@acme.example"]   # 1834.0
        connector.usage()   # {"properties": {"123456789": {"tokensPerDay": {"consumed": 11, ...}}}}
        ```
    """

    type_name: ClassVar[str] = "google_analytics"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.METRIC_SOURCE})
    settings_model: ClassVar[type[BaseModel]] = GoogleAnalyticsSettings

    def __init__(self, settings: GoogleAnalyticsSettings, *, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context
        self._client = Ga4Client(settings, context=context)
        self._usage: dict[str, dict[str, dict[str, int]]] = {}
        self._stopped: dict[str, OkrHubError] = {}

    # --- the capability --------------------------------------------------------------------------
    def check(self) -> CheckResult:
        """Read the metadata of every configured property (or the common metadata when none is set)."""
        properties = self.settings.property_ids or ["0"]
        counts = []
        for property_id in properties:
            metadata = self._client.get_metadata(property_id)
            dimensions, metrics = len(metadata.get("dimensions", [])), len(metadata.get("metrics", []))
            counts.append(f"{dimensions} dimensions, {metrics} metrics")
        email = self._client.service_account_email
        if self.settings.property_ids:
            seen = "; ".join(f"property {p}: {c}" for p, c in zip(properties, counts, strict=True))
        else:
            seen = (
                f"no property_ids configured, so only the common metadata was read ({counts[0]}); each "
                "query's property is checked when it runs"
            )
        return CheckResult(
            ok=True, detail=f"GA4 Data API at {self._client.base_url} accepted {email}; {seen}"
        )

    def run_queries(self, requests: Sequence[QueryRequest]) -> Iterator[MetricResult]:
        """Answer every request, one result each, in request order (see the class docstring)."""
        outcomes: list[ReportJob | MetricResult] = [self._plan(request) for request in requests]
        jobs = [item for item in outcomes if isinstance(item, ReportJob)]
        for property_id, property_jobs in jobs_by_property(jobs).items():
            self._run_property(property_id, property_jobs)
        for item in outcomes:
            yield item.result() if isinstance(item, ReportJob) else item

    def usage(self) -> Mapping[str, Any]:
        """Tokens spent (summed over the run) and left (after the last answer), per property."""
        report: dict[str, Any] = {
            "properties": {
                pid: {k: dict(v) for k, v in buckets.items()} for pid, buckets in self._usage.items()
            }
        }
        exhausted = sorted(pid for pid, err in self._stopped.items() if isinstance(err, QuotaExhausted))
        if exhausted:
            report["exhausted"] = exhausted
        return report

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    # --- planning --------------------------------------------------------------------------------
    def _plan(self, request: QueryRequest) -> ReportJob | MetricResult:
        query = request.query
        connection = self.context.connection
        if not isinstance(query, Ga4Query):
            return self._refused(
                request, f"query `{request.key}` is a {type(query).__name__}, not a GA4 query"
            )
        property_id = normalize_property_id(query.property_id)
        if property_id is None:
            return self._refused(
                request,
                f"query `{request.key}`: {query.property_id!r} is not a GA4 property id (use the number from "
                "GA4 Admin > Property details)",
            )
        if self.settings.property_ids and property_id not in self.settings.property_ids:
            return MetricResult(
                key=request.key,
                error=PermissionDenied(
                    f"connection `{connection}`: query `{request.key}` reads GA4 property {property_id}, "
                    f"which is not in the connection's `property_ids` "
                    f"({', '.join(self.settings.property_ids)}); add it there if this connection may read it",
                    connection=connection,
                ),
            )
        body = report_request(query, page_size=self.settings.page_size)
        problem = check_request(body)
        if problem is not None:
            return self._refused(
                request, f"query `{request.key}`: the dimension filter is malformed: {problem}"
            )
        return ReportJob(
            request=request,
            query=query,
            property_id=property_id,
            body=body,
            page_size=self.settings.page_size,
        )

    def _refused(self, request: QueryRequest, message: str) -> MetricResult:
        connection = self.context.connection
        return MetricResult(
            key=request.key,
            error=QueryRejected(f"connection `{connection}`: {message}", connection=connection),
        )

    # --- running ---------------------------------------------------------------------------------
    def _run_property(self, property_id: str, jobs: Sequence[ReportJob]) -> None:
        queue: deque[_Page] = deque(_Page(job, 0) for job in jobs)
        if isinstance(self._stopped.get(property_id), QuotaExhausted | PermissionDenied):
            self._stop(property_id, list(queue))  # an earlier batch of this run already hit it
            return
        while queue:
            chunk: list[_Page] = []
            while queue and len(chunk) < self.settings.max_batch:
                page = queue.popleft()
                if page.job.error is None:
                    chunk.append(page)
            if not chunk:
                break
            try:
                reports = self._client.batch_run_reports(property_id, [p.job.page(p.offset) for p in chunk])
            except QueryRejected as exc:
                if len(chunk) == 1:
                    chunk[0].job.error = self._rejected(chunk[0].job, exc)
                    continue
                logger.info(
                    "connection `%s`: property %s refused a batch of %d reports; running them one by one",
                    self.context.connection,
                    property_id,
                    len(chunk),
                )
                if not self._run_singly(property_id, chunk, queue):
                    self._stop(property_id, [*chunk, *queue])
                    return
                continue
            except _PROPERTY_STOP as exc:
                self._stopped[property_id] = exc
                self._stop(property_id, [*chunk, *queue])
                return
            for page, report in zip(chunk, reports, strict=True):
                self._absorb(property_id, page, report, queue)

    def _run_singly(self, property_id: str, chunk: Sequence[_Page], queue: deque[_Page]) -> bool:
        """Run each page alone; False when the property must stop (its error is in `_stopped`)."""
        for page in chunk:
            if page.job.error is not None:
                continue
            try:
                report = self._client.run_report(property_id, page.job.page(page.offset))
            except QueryRejected as exc:
                page.job.error = self._rejected(page.job, exc)
                continue
            except _PROPERTY_STOP as exc:
                self._stopped[property_id] = exc
                return False
            self._absorb(property_id, page, report, queue)
        return True

    def _absorb(self, property_id: str, page: _Page, report: Mapping[str, Any], queue: deque[_Page]) -> None:
        for offset in page.job.add_page(page.offset, report):
            queue.append(_Page(page.job, offset))
        quota = report.get("propertyQuota")
        if isinstance(quota, Mapping):
            self._record_quota(property_id, quota)

    def _record_quota(self, property_id: str, quota: Mapping[str, Any]) -> None:
        buckets = self._usage.setdefault(property_id, {})
        for name in _QUOTA_BUCKETS:
            status = quota.get(name)
            if not isinstance(status, Mapping):
                continue
            # proto3 JSON drops zeros: no `remaining` means none is left, no `consumed` means none was spent.
            bucket = buckets.setdefault(name, {"consumed": 0, "remaining": 0})
            bucket["consumed"] += int(status.get("consumed", 0) or 0)
            bucket["remaining"] = int(status.get("remaining", 0) or 0)

    def _stop(self, property_id: str, pages: Sequence[_Page]) -> None:
        error = self._stopped.get(property_id)
        if error is None:  # pragma: no cover - callers record the error first
            return
        for page in pages:
            if page.job.error is None:
                page.job.error = error
        logger.warning(
            "connection `%s`: no more calls to GA4 property %s this run: %s",
            self.context.connection,
            property_id,
            error,
        )

    def _rejected(self, job: ReportJob, exc: QueryRejected) -> QueryRejected:
        return QueryRejected(
            f"{exc.message} (query `{job.request.key}`, metric `{job.query.metric}`)",
            connection=exc.connection,
            status=exc.status,
        )
