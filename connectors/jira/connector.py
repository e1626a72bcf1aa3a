"""The Jira metric source: counts, sums and averages over JQL searches, grouped or not."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from connectors.jira.client import JiraClient
from connectors.jira.queries import FieldCatalogue, JiraField, Tally, group_keys, number_of
from connectors.jira.settings import JiraSettings
from hub.contracts import Capability, CheckResult, ConnectorContext
from hub.errors import AuthError, OkrHubError, QueryRejected, SourceDataError
from hub.metrics import JqlQuery, MetricResult, QueryRequest

logger = logging.getLogger(__name__)

EVIDENCE_KEYS = 5
"""How many issue keys a result quotes as evidence."""


class JiraConnector:
    """Jira Cloud or Data Center as a `MetricSource`: every `JqlQuery` is searched page by page.

    Example:
        ```python
        connector = JiraConnector(settings, context=ConnectorContext(connection="jira", stats=CallStats()))
        query = JqlQuery(jql='project = ENG AND statusCategory = Done AND resolved >= "2026-10-01"',
                         aggregate="sum", field="Story point estimate", group_by="assignee")
        for result in connector.run_queries([QueryRequest(key="q1", query=query)]):
            result.groups   # {"5b10ac8d82e05b22cc7d4ef5": 21.0, ...}
        connector.close()
        ```
    """

    type_name: ClassVar[str] = "jira"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.METRIC_SOURCE})
    settings_model: ClassVar[type[BaseModel]] = JiraSettings

    def __init__(self, settings: JiraSettings, *, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context
        self.connection = context.connection
        self.client = JiraClient(settings, context=context)
        self._catalogue: FieldCatalogue | None = None

    def check(self) -> CheckResult:
        """Sign in (`serverInfo`, `myself`) and list the fields; raise `AuthError` with a fix when refused."""
        self.client.connect()
        me = self.client.myself()
        info = self.client.server_info
        who = me.get("displayName") or me.get("emailAddress") or "?"
        ident = me.get("accountId") or me.get("name") or "?"
        fields = self.client.fields()
        points = [
            f"{f.get('name')} ({f.get('id')})"
            for f in fields
            if "story point" in str(f.get("name", "")).lower()
        ]
        kind = f"{info.get('deploymentType', '?')} {info.get('version', '')}".strip()
        detail = (
            f"connection `{self.connection}`: Jira {kind} at {self.client.base_url}: signed in as "
            f"{who} ({ident}); {len(fields)} fields visible"
            + (f", story points in {', '.join(points)}" if points else ", no story-point field found")
        )
        return CheckResult(ok=True, detail=detail)

    def run_queries(self, requests: Sequence[QueryRequest]) -> Iterator[MetricResult]:
        """Answer each `JqlQuery`; a query that fails carries its error, an `AuthError` raises.

        The connection is made (and the deployment checked) before the first query: a failure
        there concerns every query and raises.
        """
        if requests:
            self.client.connect()
        for request in requests:
            try:
                result = self._run(request)
            except AuthError:
                raise
            except OkrHubError as exc:
                logger.warning("connection `%s`: query `%s` failed: %s", self.connection, request.key, exc)
                jql = request.query.jql if isinstance(request.query, JqlQuery) else None
                result = MetricResult(key=request.key, error=exc, evidence={"jql": jql} if jql else {})
            yield result

    def usage(self) -> Mapping[str, Any]:
        """Requests sent this run and the rate-limit budget Jira last reported (None if it never did)."""
        remaining = self.client.rate_limit.get("X-RateLimit-Remaining")
        return {
            "requests": self.client.request_count,
            "rate_limit_remaining": int(remaining) if remaining and remaining.isdigit() else None,
        }

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    # --- one query ---------------------------------------------------------------------------------
    def _run(self, request: QueryRequest) -> MetricResult:
        query = request.query
        if not isinstance(query, JqlQuery):
            raise self._rejected(request, f"Jira answers JQL queries only, not {type(query).__name__}")
        if query.approximate:
            return self._approximate(request, query)
        numeric = self._numeric_field(request, query)
        group = self._field(request, query.group_by, "group_by") if query.group_by else None
        wanted = list(dict.fromkeys(f.id for f in (numeric, group) if f is not None)) or ["id"]
        overall = Tally()
        groups: dict[str, Tally] = {}
        ungrouped = 0
        keys: list[str] = []
        pages = 0
        for page in self._pages(request, query.jql, wanted):
            pages += 1
            for issue in page:
                if len(keys) < EVIDENCE_KEYS and issue.get("key"):
                    keys.append(str(issue["key"]))
                raw_values = issue.get("fields")
                values: Mapping[str, Any] = raw_values if isinstance(raw_values, Mapping) else {}
                number = number_of(values.get(numeric.id)) if numeric else None
                overall.add(number)
                if group is None:
                    continue
                members = group_keys(values.get(group.id), group)
                if not members:
                    ungrouped += 1
                for member in members:
                    groups.setdefault(member, Tally()).add(number)
        evidence: dict[str, Any] = {
            "jql": query.jql,
            "aggregate": query.aggregate,
            "fields": wanted,
            "pages": pages,
            "issues": overall.issues,
            "first_issue_keys": keys,
            "rate_limit": dict(self.client.rate_limit),
        }
        if numeric is not None:
            evidence["field"] = f"{numeric.name} ({numeric.id})"
            evidence["valued_issues"] = overall.valued
        if group is not None:
            evidence["group_by"] = f"{group.name} ({group.id})"
            evidence["ungrouped_issues"] = ungrouped
        logger.info(
            "connection `%s`: query `%s`: %s over %d issues in %d pages",
            self.connection,
            request.key,
            query.aggregate,
            overall.issues,
            pages,
        )
        if group is not None:
            return MetricResult(
                key=request.key,
                groups={member: tally.value(query.aggregate) for member, tally in groups.items()},
                rows=overall.issues,
                evidence=evidence,
            )
        return MetricResult(
            key=request.key, value=overall.value(query.aggregate), rows=overall.issues, evidence=evidence
        )

    def _pages(self, request: QueryRequest, jql: str, fields: list[str]) -> Iterator[list[dict[str, Any]]]:
        size = self.settings.page_size
        if self.client.is_cloud:
            token: str | None = None
            seen: set[str] = set()
            while True:
                page = self.client.search_page(jql, fields=fields, page_size=size, token=token)
                yield page["issues"]
                token = page.get("nextPageToken") or None
                # The token is left out on the last page (JRACLOUD-92184); trust either signal.
                if page.get("isLast") is True or token is None:
                    return
                if token in seen:
                    raise SourceDataError(
                        f"connection `{self.connection}`: query `{request.key}`: Jira sent the same "
                        "nextPageToken twice; stopped rather than loop",
                        connection=self.connection,
                    )
                seen.add(token)
        else:
            start = 0
            while True:
                page = self.client.search_from(jql, fields=fields, page_size=size, start_at=start)
                issues = page["issues"]
                yield issues
                start += len(issues)
                total = page.get("total")
                if not issues or not isinstance(total, int) or start >= total:
                    return

    def _approximate(self, request: QueryRequest, query: JqlQuery) -> MetricResult:
        if query.aggregate != "count" or query.group_by or query.field:
            raise self._rejected(
                request,
                "an approximate query counts issues only: set aggregate: count, no field, no group_by",
            )
        if self.client.is_cloud:
            count = self.client.approximate_count(query.jql)
            evidence = {"jql": query.jql, "approximate": True, "count": count}
        else:
            # Data Center has no approximate count, but its classic search reports an exact total.
            page = self.client.search_from(query.jql, fields=["id"], page_size=1, start_at=0)
            total = page.get("total")
            if not isinstance(total, int):
                raise SourceDataError(
                    f"connection `{self.connection}`: query `{request.key}`: search returned no total",
                    connection=self.connection,
                )
            count = total
            evidence = {"jql": query.jql, "approximate": False, "count": count, "source": "search total"}
        evidence["rate_limit"] = dict(self.client.rate_limit)
        return MetricResult(key=request.key, value=float(count), rows=0, evidence=evidence)

    # --- fields --------------------------------------------------------------------------------------
    def _numeric_field(self, request: QueryRequest, query: JqlQuery) -> JiraField | None:
        if query.aggregate == "count":
            return None
        if not query.field:
            raise self._rejected(
                request, f"aggregate `{query.aggregate}` needs `field`, the numeric field to add"
            )
        found = self._field(request, query.field, "field", numeric=True)
        if not found.numeric:
            raise self._rejected(
                request,
                f"field `{query.field}` is {found.name} ({found.id}), of type {found.type}, not a number; "
                f"numeric fields: {', '.join(self._catalogue_now().suggestions('', numeric=True)) or 'none'}",
            )
        return found

    def _field(self, request: QueryRequest, name: str, setting: str, *, numeric: bool = False) -> JiraField:
        catalogue = self._catalogue_now()
        try:
            found = catalogue.resolve(name)
        except LookupError as exc:
            raise self._rejected(request, f"`{setting}`: {exc}") from None
        if found is None:
            close = catalogue.suggestions(name, numeric=numeric)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise self._rejected(
                request,
                f"`{setting}`: Jira has no field `{name}` the account can see{hint} "
                "Name a field by its id (customfield_10016) or its exact name",
            )
        return found

    def _catalogue_now(self) -> FieldCatalogue:
        if self._catalogue is None:
            self._catalogue = FieldCatalogue(self.client.fields())
        return self._catalogue

    def _rejected(self, request: QueryRequest, reason: str) -> QueryRejected:
        return QueryRejected(
            f"connection `{self.connection}`: query `{request.key}`: {reason}", connection=self.connection
        )
