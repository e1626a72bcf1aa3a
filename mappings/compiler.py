"""The compiler: mappings plus the key results they target become a plan of few API calls.

For each mapping and each key result the hub job resolved for it, the compiler resolves the
window, renders every named query with the key result's parameters and records a `Binding`
(which request answers which input). Queries of a `for_each: owner` mapping that differ only in
the owner join one fan-out group, which becomes one grouped query per chunk of owners (2,000
owners on Salesforce = 1 SOQL); identical queries, from any mapping or key result, share one
request. A key result that cannot be planned (its owner has no Salesforce id, an unsafe value,
a cycle not yet started) gets a `PlanProblem`; the others go on. Each mapping's "today" is the
run's date in its schedule's time zone.

Example:
    ```python
    plan = compile_plan(mapping_set, {"closed_won_by_owner": krs}, now=datetime.now(UTC))
    plan.requests["salesforce"]      # [QueryRequest(key="salesforce:soql:...", query=SoqlQuery(...))]
    plan.naive_calls, plan.planned_calls   # (2000, 1)
    results = {r.key: r for r in connector.run_queries(plan.requests_for("salesforce"))}
    values = [evaluate(binding, results) for binding in plan.bindings]
    ```
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from hub.metrics import Ga4Query, QueryRequest, TimeWindow
from mappings.coalesce import Direct, FanOut, Planned, RequestTable
from mappings.errors import PlanningError
from mappings.ga4 import GA4_BATCH_SIZE
from mappings.mapping_set import MappingSet, MetricMapping
from mappings.model import OnNoData
from mappings.params import ParamContext
from mappings.targets import TargetKR
from mappings.windows import resolve_window


@dataclass(frozen=True, slots=True, kw_only=True)
class InputRef:
    """Where one named query's value comes from: a request, and the group (owner) in its result."""

    request_key: str
    group: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Binding:
    """How one key result gets its value from the plan's results.

    `inputs` maps each query name (`value` for a single-query mapping) to its request and group;
    `expression` combines them (None: the single input is the value). `queries` holds each
    query as it reads for this key result alone (one owner, this window), for provenance.
    """

    kr_key: str
    mapping_id: str
    connection: str
    inputs: Mapping[str, InputRef]
    expression: str | None
    queries: Mapping[str, str]
    window: TimeWindow
    on_no_data: OnNoData = "skip"
    max_change_factor: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanProblem:
    """A key result the plan leaves out, and why (in words an admin can act on)."""

    kr_key: str
    mapping_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryPlan:
    """Requests per connection, the bindings that read their results, and what coalescing saved.

    `naive_calls` is one call per key result and named query; `planned_calls` is the calls the
    plan needs (one per SOQL or JQL request, one per five GA4 reports of a property).
    """

    requests: dict[str, list[QueryRequest]]
    bindings: list[Binding]
    naive_calls: int
    planned_calls: int
    problems: list[PlanProblem]

    def requests_for(self, connection: str) -> list[QueryRequest]:
        """The requests to send on `connection` (none if it has none)."""
        return list(self.requests.get(connection, []))


@dataclass(frozen=True, slots=True)
class _Pending:
    mapping: MetricMapping
    kr: TargetKR
    window: TimeWindow
    planned: dict[str, Planned]


def compile_plan(
    mappings: MappingSet,
    targets: Mapping[str, Sequence[TargetKR]],
    *,
    now: datetime | None = None,
    today: date | None = None,
) -> QueryPlan:
    """Plan every targeted key result's queries in as few API calls as possible.

    Args:
        mappings: The loaded mappings.
        targets: Mapping id to the key results its `targets` selected (resolved by the job).
        now: The run's time (aware). Each mapping's windows and `{today}` use the date it falls
            on in the mapping's schedule time zone (UTC without a schedule), so a run at 23:30
            UTC on Nov 4 is Nov 5 for a mapping scheduled in Asia/Tokyo.
        today: One date for every mapping instead (tests, previews); wins over `now`.

    Returns:
        The plan: requests per connection, one binding per plannable key result, problems for the rest.

    Raises:
        TypeError: Neither `now` nor `today` is given, or `now` is naive.
    """
    if today is not None:
        days = dict.fromkeys(mappings.ids, today)
    elif now is not None and now.utcoffset() is not None:
        days = {mapping.id: run_date(mapping, now) for mapping in mappings}
    else:
        raise TypeError("compile_plan needs `now`, an aware datetime, or `today`")
    problems: list[PlanProblem] = []
    known = set(mappings.ids)
    for mapping_id, krs in targets.items():
        if mapping_id not in known:
            problems += [
                PlanProblem(kr_key=kr.key, mapping_id=mapping_id, reason="no mapping has this id")
                for kr in krs
            ]
    pending: list[_Pending] = []
    groups: dict[tuple[str, FanOut], dict[str, None]] = {}
    bound_by: dict[str, str] = {}
    for mapping in mappings:
        day = days[mapping.id]
        for kr in targets.get(mapping.id, ()):
            owner_mapping = bound_by.get(kr.key)
            if owner_mapping is not None:
                reason = (
                    f"key result {kr.key} already takes its value from mapping `{owner_mapping}`"
                    if owner_mapping != mapping.id
                    else f"key result {kr.key} is listed twice"
                )
                problems.append(PlanProblem(kr_key=kr.key, mapping_id=mapping.id, reason=reason))
                continue
            try:
                item = _plan_one(mapping, kr, day)
            except PlanningError as exc:
                problems.append(PlanProblem(kr_key=kr.key, mapping_id=mapping.id, reason=exc.message))
                continue
            bound_by[kr.key] = mapping.id
            pending.append(item)
            for planned in item.planned.values():
                if not isinstance(planned, Direct):
                    groups.setdefault((mapping.connection, planned.group), {})[planned.value] = None
    table = RequestTable()
    members: dict[tuple[str, FanOut, str], str] = {}
    for (connection, group), values in groups.items():
        for chunk in group.chunks(sorted(values)):
            key = table.add(connection, group.build(chunk))
            members.update({(connection, group, value): key for value in chunk})
    bindings = [_binding(item, table, members) for item in pending]
    requests = table.requests()
    return QueryPlan(
        requests=requests,
        bindings=bindings,
        naive_calls=sum(len(item.mapping.queries) for item in pending),
        planned_calls=planned_calls(requests),
        problems=problems,
    )


def run_date(mapping: MetricMapping, now: datetime) -> date:
    """The date `now` (aware) falls on in `mapping`'s schedule time zone (UTC without a schedule).

    Example:
        run_date(tokyo_mapping, datetime(2026, 11, 4, 23, 30, tzinfo=UTC))  # date(2026, 11, 5)
    """
    zone = mapping.schedule.timezone if mapping.schedule is not None else "UTC"
    return now.astimezone(ZoneInfo(zone)).date()


def _plan_one(mapping: MetricMapping, kr: TargetKR, today: date) -> _Pending:
    window = resolve_window(mapping.window, today=today, cycle_start=kr.cycle_start, cycle_end=kr.cycle_end)
    context = ParamContext(
        window=window, cycle_start=kr.cycle_start, cycle_end=kr.cycle_end, today=today, owner=kr.owner
    )
    planned = {
        name: query.template.plan(context, fan_out=mapping.fans_out)
        for name, query in mapping.queries.items()
    }
    return _Pending(mapping=mapping, kr=kr, window=window, planned=planned)


def _binding(item: _Pending, table: RequestTable, members: Mapping[tuple[str, FanOut, str], str]) -> Binding:
    connection = item.mapping.connection
    inputs: dict[str, InputRef] = {}
    for name, planned in item.planned.items():
        if isinstance(planned, Direct):
            inputs[name] = InputRef(request_key=table.add(connection, planned.query))
        else:
            key = members[(connection, planned.group, planned.value)]
            inputs[name] = InputRef(request_key=key, group=planned.value)
    return Binding(
        kr_key=item.kr.key,
        mapping_id=item.mapping.id,
        connection=connection,
        inputs=inputs,
        expression=item.mapping.expression,
        queries={name: planned.text for name, planned in item.planned.items()},
        window=item.window,
        on_no_data=item.mapping.on_no_data,
        max_change_factor=item.mapping.max_change_factor,
    )


def planned_calls(requests: Mapping[str, Sequence[QueryRequest]]) -> int:
    """API calls the requests need: one per SOQL or JQL query, one per five GA4 reports of a property.

    A lower bound where answers page: Jira reads every matching issue (100 a page) and a plain
    SOQL query pages by 2,000 records; a grouped SOQL query never pages (at most 2,000 groups).
    """
    calls = 0
    for connection_requests in requests.values():
        reports: Counter[str] = Counter()
        for request in connection_requests:
            if isinstance(request.query, Ga4Query):
                reports[request.query.property_id] += 1
            else:
                calls += 1
        calls += sum(math.ceil(count / GA4_BATCH_SIZE) for count in reports.values())
    return calls
