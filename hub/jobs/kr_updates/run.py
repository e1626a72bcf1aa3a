"""Run the metric mappings: plan, query every source once, and check in what changed.

One run: resolve each mapping's key results, compile the coalesced plan, send each
connection's requests in one batch, evaluate every key result's value, hold what looks wrong,
and write a check-in (with its provenance) only where the value changed. A failing connection
or mapping is recorded and the others go on; every run leaves a ledger row.

Example:
    ```python
    result = run_kr_updates(runtime, mappings, options=KrUpdateOptions(dry_run=True))
    for outcome in result.outcomes:
        print(outcome.kr_key, outcome.action, outcome.value)
    ```
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from hub.contracts import Capability
from hub.errors import OkrHubError
from hub.http.stats import CallStats
from hub.jobs.kr_updates.state import MetricState, load_states, save_states
from hub.jobs.kr_updates.targets import resolve_targets
from hub.metrics import MetricResult
from hub.okrs.checkins import record_check_in
from hub.okrs.repository import load_okrs
from hub.runtime import Runtime
from hub.store.engine import begin_write
from hub.store.ledger import Rejection, RunLedger
from hub.store.models import RunStatus
from mappings.compiler import Binding, QueryPlan, compile_plan
from mappings.evaluate import BoundValue, evaluate
from mappings.mapping_set import MappingSet
from okr_core.checkins import ConnectorAuthor
from okr_core.errors import OkrError

logger = logging.getLogger(__name__)

JOB = "kr_updates"
RAW_RESULT_LIMIT = 4000
"""Characters of raw result kept with each check-in: enough to trust a number, not a data dump."""
EVIDENCE_TEXT_LIMIT = 400
EVIDENCE_LIST_LIMIT = 5
"""A too-long raw result keeps this much of each evidence text and list (a fan-out's IN list)."""


@dataclass(frozen=True, kw_only=True)
class KrUpdateOptions:
    """`mapping` limits the run to one mapping; `dry_run` writes nothing; `accept` publishes held values."""

    mapping: str | None = None
    dry_run: bool = False
    accept: bool = False
    trigger: str = "cli"


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What happened to one key result in a run."""

    kr_key: str
    mapping_id: str
    action: str  # checked_in | unchanged | held | no_data | failed | refused | would_check_in
    value: float | None = None
    previous: float | None = None
    reason: str | None = None


@dataclass
class KrUpdateResult:
    """A run of the metric mappings, as the CLI and the workers report it."""

    run_id: int
    status: str
    dry_run: bool
    outcomes: list[Outcome]
    naive_calls: int
    planned_calls: int
    api_calls: int
    retries: int
    usage: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Outcomes by action, plus the plan's problems."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.action] = counts.get(outcome.action, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "naive_calls": self.naive_calls,
            "planned_calls": self.planned_calls,
            "api_calls": self.api_calls,
            "retries": self.retries,
            "usage": self.usage,
            "outcomes": [asdict(o) for o in self.outcomes],
        }


def fetch_results(
    runtime: Runtime, plan: QueryPlan, stats: CallStats, usage: dict[str, Any]
) -> dict[str, MetricResult]:
    """Send each connection's requests in one batch; a failed connection fails its requests only."""
    results: dict[str, MetricResult] = {}
    for connection, requests in plan.requests.items():
        try:
            with runtime.connector(connection, stats, capability=Capability.METRIC_SOURCE) as source:
                for result in source.run_queries(requests):
                    results[result.key] = result
                usage[connection] = dict(source.usage())
        except OkrHubError as exc:
            logger.error("connection `%s` failed: %s", connection, exc)  # noqa: TRY400 - kept in the ledger
            for request in requests:
                results.setdefault(request.key, MetricResult(key=request.key, error=exc))
    return results


def _raw_result(binding: Binding, results: Mapping[str, MetricResult]) -> str:
    """Each input's group, value, row count and the connector's evidence, as JSON of at most 4,000 characters.

    A fan-out's evidence holds the grouped query with every owner's id (2,000 owners make a
    SOQL of 40,000 characters): cut blindly, the JSON would not parse and this key result's own
    number could be gone. Long texts and lists in the evidence are shortened first, and the
    evidence is left out only if that is still too long, so the raw result always parses and
    always shows the value this key result got.
    """
    inputs: dict[str, dict[str, Any]] = {}
    for name, ref in binding.inputs.items():
        result = results.get(ref.request_key)
        value = None
        if result is not None:
            value = result.groups.get(ref.group) if ref.group is not None else result.value
        inputs[name] = {
            "group": ref.group,
            "value": value,
            "rows": result.rows if result is not None else 0,
            "evidence": dict(result.evidence) if result is not None else {},
        }
    text = json.dumps(inputs, default=str)
    if len(text) <= RAW_RESULT_LIMIT:
        return text
    for entry in inputs.values():
        entry["evidence"] = _shortened(entry["evidence"])
    text = json.dumps(inputs, default=str)
    if len(text) <= RAW_RESULT_LIMIT:
        return text
    for entry in inputs.values():
        entry["evidence"] = {"omitted": "the connector's evidence is too long to keep with a check-in"}
    return json.dumps(inputs, default=str)


def _shortened(value: Any) -> Any:
    """`value` with texts over 400 characters and lists over 5 items cut, saying how much was cut."""
    if isinstance(value, str) and len(value) > EVIDENCE_TEXT_LIMIT:
        return f"{value[:EVIDENCE_TEXT_LIMIT]}… ({len(value) - EVIDENCE_TEXT_LIMIT} more characters)"
    if isinstance(value, Mapping):
        return {str(key): _shortened(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        kept = [_shortened(item) for item in value[:EVIDENCE_LIST_LIMIT]]
        if len(value) > EVIDENCE_LIST_LIMIT:
            kept.append(f"… {len(value) - EVIDENCE_LIST_LIMIT} more")
        return kept
    return value


def _number(value: float) -> str:
    """`1,021,200` or `33.3`, never `1.0212e+06`: the numbers in a held value's reason."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.6f}".rstrip("0").rstrip(".")


def _suspect(binding: Binding, bound: BoundValue, state: MetricState | None) -> str | None:
    """Why a value looks wrong, or None: rows gone where there were rows, or a jump past the factor."""
    if state is None or state.last_value is None:
        return None
    if bound.status == "no_data" and (state.last_rows or 0) > 0:
        return f"the query returned no data where it returned {state.last_rows} rows before"
    if bound.value is None or binding.max_change_factor is None:
        return None
    before, now = abs(state.last_value), abs(bound.value)
    if before == 0 and now == 0:
        return None
    factor = (max(before, now) / min(before, now)) if min(before, now) > 0 else float("inf")
    if factor > binding.max_change_factor:
        return (
            f"the value moved from {_number(state.last_value)} to {_number(bound.value)}, more than the "
            f"mapping's max_change_factor {binding.max_change_factor:g}"
        )
    return None


def _rows(binding: Binding, results: Mapping[str, MetricResult]) -> int:
    return sum(results[ref.request_key].rows for ref in binding.inputs.values() if ref.request_key in results)


def run_kr_updates(
    runtime: Runtime,
    mappings: MappingSet,
    *,
    options: KrUpdateOptions = KrUpdateOptions(),
    today: date | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> KrUpdateResult:
    """Run every mapping (or `options.mapping`) once and record the run; never raises an `OkrHubError`."""
    engine = runtime.engine
    ledger = RunLedger(engine)
    now = clock()
    today = today or now.date()
    run_id = ledger.start(job=JOB, connection=None, dry_run=options.dry_run, trigger=options.trigger)
    stats = CallStats()
    usage: dict[str, Any] = {}
    outcomes: list[Outcome] = []
    if options.mapping is not None:
        mappings = MappingSet(tuple(m for m in mappings if m.id == options.mapping))
    try:
        with engine.connect() as conn:
            stored = load_okrs(conn)
            targets, problems = resolve_targets(conn, mappings, stored)
        plan = compile_plan(mappings, targets, today=today)
        problems = [*problems, *plan.problems]
        outcomes.extend(
            Outcome(kr_key=p.kr_key, mapping_id=p.mapping_id, action="failed", reason=p.reason)
            for p in problems
        )
        results = fetch_results(runtime, plan, stats, usage)
        states = load_states(engine, [(b.kr_key, b.mapping_id) for b in plan.bindings])
        updates: list[MetricState] = []
        with begin_write(engine) as conn:
            for binding in plan.bindings:
                outcome, state = _apply(
                    conn,
                    binding,
                    results,
                    states.get((binding.kr_key, binding.mapping_id)),
                    stored,
                    run_id,
                    options,
                    now,
                )
                outcomes.append(outcome)
                if state is not None:
                    updates.append(state)
            if not options.dry_run:
                save_states(conn, updates)
    except OkrHubError as exc:
        ledger.finish(
            run_id,
            status=RunStatus.FAILED.value,
            counts=_count(outcomes),
            api_calls=stats.api_calls,
            retries=stats.retries,
            error=exc.attrs(),
            summary=f"metric update failed: {exc.message.splitlines()[0]}",
        )
        return KrUpdateResult(
            run_id,
            RunStatus.FAILED.value,
            options.dry_run,
            outcomes,
            0,
            0,
            stats.api_calls,
            stats.retries,
            usage,
        )
    except BaseException as exc:
        ledger.finish(
            run_id,
            status=RunStatus.FAILED.value,
            counts=_count(outcomes),
            api_calls=stats.api_calls,
            retries=stats.retries,
            error={"type": type(exc).__name__, "message": str(exc) or repr(exc)},
            summary=f"crashed: {type(exc).__name__}",
        )
        raise
    counts = _count(outcomes)
    counts.update({"naive_calls": plan.naive_calls, "planned_calls": plan.planned_calls})
    failed = [o for o in outcomes if o.action in ("failed", "held", "refused")]
    ledger.finish(
        run_id,
        status=RunStatus.SUCCEEDED.value,
        counts=counts,
        api_calls=stats.api_calls,
        retries=stats.retries,
        summary=_summary(counts, options.dry_run),
        rejections=[
            Rejection(
                record_key=o.kr_key,
                reason=f"{o.mapping_id}: {o.reason}",
                detail={"mapping": o.mapping_id, "action": o.action, "value": o.value},
            )
            for o in failed
        ],
    )
    return KrUpdateResult(
        run_id=run_id,
        status=RunStatus.SUCCEEDED.value,
        dry_run=options.dry_run,
        outcomes=outcomes,
        naive_calls=plan.naive_calls,
        planned_calls=plan.planned_calls,
        api_calls=stats.api_calls,
        retries=stats.retries,
        usage=usage,
    )


def _apply(
    conn: Any,
    binding: Binding,
    results: Mapping[str, MetricResult],
    state: MetricState | None,
    stored: Any,
    run_id: int,
    options: KrUpdateOptions,
    now: datetime,
) -> tuple[Outcome, MetricState | None]:
    kr = stored.tree.key_results[binding.kr_key]
    previous = kr.current
    bound = evaluate(binding, results)
    rows = _rows(binding, results)
    base = MetricState.of(binding, state, now=now, run_id=run_id)
    if bound.status == "error":
        return (
            Outcome(
                kr_key=kr.id,
                mapping_id=binding.mapping_id,
                action="failed",
                previous=previous,
                reason=bound.error,
            ),
            base.failed(bound.error or "query failed"),
        )
    suspect = _suspect(binding, bound, state)
    if suspect is None and bound.action == "hold":
        suspect = "the query returned no data and the mapping says `on_no_data: hold`"
    if suspect is not None and not options.accept:
        return (
            Outcome(
                kr_key=kr.id,
                mapping_id=binding.mapping_id,
                action="held",
                value=bound.value,
                previous=previous,
                reason=f"{suspect}; rerun with --accept to publish it",
            ),
            base.held(bound.value, suspect),
        )
    if bound.value is None:
        return (
            Outcome(
                kr_key=kr.id,
                mapping_id=binding.mapping_id,
                action="no_data",
                previous=previous,
                reason="no data",
            ),
            base.succeeded(None, rows),
        )
    if previous is not None and abs(previous - bound.value) < 1e-9:
        return (
            Outcome(
                kr_key=kr.id,
                mapping_id=binding.mapping_id,
                action="unchanged",
                value=bound.value,
                previous=previous,
            ),
            base.succeeded(bound.value, rows),
        )
    if options.dry_run:
        return (
            Outcome(
                kr_key=kr.id,
                mapping_id=binding.mapping_id,
                action="would_check_in",
                value=bound.value,
                previous=previous,
            ),
            None,
        )
    author = ConnectorAuthor(
        connection=binding.connection,
        mapping=binding.mapping_id,
        run_id=str(run_id),
        query=json.dumps(dict(binding.queries))
        if len(binding.queries) > 1
        else next(iter(binding.queries.values())),
        raw_result=_raw_result(binding, results),
    )
    try:
        with conn.begin_nested():
            record_check_in(conn, kr.id, bound.value, author=author, at=now, fetched_at=now)
    except OkrError as exc:
        return (
            Outcome(
                kr_key=kr.id,
                mapping_id=binding.mapping_id,
                action="refused",
                value=bound.value,
                previous=previous,
                reason=str(exc),
            ),
            base.refused(str(exc)),
        )
    return (
        Outcome(
            kr_key=kr.id,
            mapping_id=binding.mapping_id,
            action="checked_in",
            value=bound.value,
            previous=previous,
        ),
        base.succeeded(bound.value, rows),
    )


def _count(outcomes: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    return counts


def _summary(counts: Mapping[str, int], dry_run: bool) -> str:
    shown = ("checked_in", "would_check_in", "unchanged", "held", "no_data", "refused", "failed")
    parts = ", ".join(f"{counts[name]} {name.replace('_', ' ')}" for name in shown if counts.get(name))
    prefix = "dry run: " if dry_run else ""
    calls = f"{counts.get('planned_calls', 0)} calls planned (naive {counts.get('naive_calls', 0)})"
    return f"{prefix}{parts or 'nothing to do'}; {calls}"
