"""Salesforce as a metric source: rendered SOQL queries in, one `MetricResult` each out."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.queries import QueryTally
from connectors.salesforce.settings import SalesforceSettings
from hub.contracts import Capability, CheckResult, ConnectorContext
from hub.errors import AuthError, ConnectorError, QueryRejected, QuotaExhausted, TransientError
from hub.metrics import MetricResult, QueryRequest, SoqlQuery

logger = logging.getLogger(__name__)


class SalesforceConnector:
    """Salesforce as a metric source, over the REST query API through simple-salesforce.

    Each `SoqlQuery` is sent as it is (the mapping compiler rendered and escaped it) and every
    page of its answer is read. A query Salesforce refuses becomes that result's `QueryRejected`
    and the batch goes on; credentials that stop working raise `AuthError`. When the org's API
    usage would pass `max_daily_api_share`, or Salesforce answers `REQUEST_LIMIT_EXCEEDED`, the
    run stops calling: that query and every later one get the same `QuotaExhausted`.

    Example:
        ```python
        context = ConnectorContext(connection="crm", stats=CallStats())
        connector = SalesforceConnector(settings, context=context)
        connector.check()
        query = SoqlQuery(soql="SELECT COUNT() FROM Opportunity WHERE IsWon = true", value="totalSize")
        [result] = connector.run_queries([QueryRequest(key="won", query=query)])
        connector.usage()   # {"api_usage": {"used": 3, "limit": 100000}}
        connector.close()
        ```
    """

    type_name: ClassVar[str] = "salesforce"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.METRIC_SOURCE})
    settings_model: ClassVar[type[BaseModel]] = SalesforceSettings

    def __init__(self, settings: SalesforceSettings, *, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context
        self._client = SalesforceClient(settings, context=context)

    def check(self) -> CheckResult:
        """Get a token and `GET limits`; report the daily API requests that remain."""
        limits = self._client.limits()
        daily = limits.get("DailyApiRequests")
        instance = self._client.instance_url
        head = (
            f"Salesforce at {instance} accepted the `{self.settings.auth}` credentials "
            f"(API v{self.settings.api_version})"
        )
        if not isinstance(daily, Mapping) or not isinstance(daily.get("Max"), int):
            return CheckResult(ok=True, detail=f"{head}; the org did not report DailyApiRequests")
        limit, remaining = int(daily["Max"]), int(daily.get("Remaining", 0))
        detail = f"{head}; {remaining:,} of {limit:,} daily API requests remain"
        share = self.settings.max_daily_api_share
        if limit and (limit - remaining) >= share * limit:
            detail += (
                f". Usage is already at or past this connection's share ({share:.0%}, "
                "`max_daily_api_share`), so runs will stop before their first query"
            )
        return CheckResult(ok=True, detail=detail)

    def run_queries(self, requests: Sequence[QueryRequest]) -> Iterator[MetricResult]:
        """One result per request, in order; `AuthError` raises, other failures fill `error`."""
        stopped: QuotaExhausted | None = None
        for request in requests:
            query = request.query
            if not isinstance(query, SoqlQuery):
                yield MetricResult(key=request.key, error=self._not_soql(request))
                continue
            if stopped is not None:
                yield MetricResult(
                    key=request.key, error=stopped, evidence={"soql": query.soql, "sent": False}
                )
                continue
            tally: QueryTally | None = None
            try:
                tally = QueryTally(request.key, query, connection=self.context.connection)
                for page in self._client.query_pages(query.soql):
                    tally.add(page)
                result = tally.result(api_usage=self._usage())
            except AuthError:
                raise
            except QuotaExhausted as exc:
                stopped = exc
                yield self._failed(request.key, query, tally, exc)
                continue
            except (ConnectorError, TransientError) as exc:
                yield self._failed(request.key, query, tally, exc)
                continue
            logger.info(
                "connection `%s`: query `%s` read %d rows over %d pages",
                self.context.connection,
                request.key,
                result.rows,
                tally.pages,
            )
            yield result

    def usage(self) -> Mapping[str, Any]:
        """The org's API usage as of the last call: `{"api_usage": {"used": N, "limit": M}}`."""
        return {"api_usage": self._usage()}

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    # --- internals ------------------------------------------------------------------------------------
    def _usage(self) -> dict[str, int] | None:
        usage = self._client.usage
        return {"used": usage.used, "limit": usage.limit} if usage else None

    def _failed(
        self, key: str, query: SoqlQuery, tally: QueryTally | None, error: ConnectorError | TransientError
    ) -> MetricResult:
        logger.warning("connection `%s`: query `%s` failed: %s", self.context.connection, key, error)
        evidence = tally.evidence(api_usage=self._usage()) if tally else {"soql": query.soql}
        return MetricResult(key=key, error=error, evidence=evidence)

    def _not_soql(self, request: QueryRequest) -> QueryRejected:
        kind = type(request.query).__name__
        return QueryRejected(
            f"connection `{self.context.connection}`: request `{request.key}` holds a {kind}; a Salesforce "
            "connection runs SOQL queries only. Point the mapping at a connection of the right type.",
            connection=self.context.connection,
        )
