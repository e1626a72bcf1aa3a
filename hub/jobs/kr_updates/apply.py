"""Apply one run's values to the key results: judge each in memory, then write them in bulk.

Each binding's value is evaluated and judged against the key result as the run loaded it:
failed, held, no data, unchanged, or changed. Inside the run's write transaction the changed
key results are then locked and read again in a few selects, okr_core's rules accept or refuse
each check-in in memory (through the same `decide_check_in` the CLI's single check-in uses), and
the check-ins, the key results' new state and the mappings' state are written with a few bulk
statements per 1,000 key results, not a handful of statements per key result.

Example:
    ```python
    with begin_write(engine) as conn:
        outcomes = apply_values(conn, plan.bindings, results, states, known=stored.tree.key_results,
                                run=RunContext(run_id=run_id, now=now, dry_run=False, accept=False,
                                               raw=RawResults(results, limit=4000)))
    ```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from hub.jobs.kr_updates.provenance import RawResults, query_text
from hub.jobs.kr_updates.state import MetricState, save_states
from hub.metrics import MetricResult
from hub.okrs.checkins import CheckInTarget, CheckInWrite, decide_check_in, lock_for_check_in, write_check_ins
from hub.store.bulk import chunked
from hub.store.models import utcnow
from mappings.compiler import Binding
from mappings.evaluate import BoundValue, GroupLookup, evaluate
from okr_core.checkins import ConnectorAuthor
from okr_core.errors import OkrError, UnknownReference
from okr_core.key_results import KeyResult

WRITE_CHUNK = 1000
"""Key results locked, judged and written per batch, so their raw results (up to 4,000 characters
each) and reloaded state never pile up for a whole run."""
UNCHANGED_TOLERANCE = 1e-9
"""A value this close to the key result's current one is unchanged: no check-in is written."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What happened to one key result in a run."""

    kr_key: str
    mapping_id: str
    action: str  # checked_in | unchanged | held | no_data | failed | refused | would_check_in
    value: float | None = None
    previous: float | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContext:
    """What every key result of a run shares: the run, its clock, its options, its raw results."""

    run_id: int
    now: datetime
    dry_run: bool
    accept: bool
    raw: RawResults
    groups: GroupLookup = field(default_factory=GroupLookup)


def apply_values(
    conn: Connection,
    bindings: Sequence[Binding],
    results: Mapping[str, MetricResult],
    states: Mapping[tuple[str, str], MetricState],
    *,
    known: Mapping[str, KeyResult],
    run: RunContext,
) -> list[Outcome]:
    """Judge every binding's value and, unless a dry run, write the check-ins and states in bulk.

    `known` are the key results as the run loaded them: what a value is compared with to tell
    a change. Only the key results that changed are then locked and read again, so okr_core's
    rules judge each check-in on the key result as it is now.
    """
    outcomes: list[Outcome | None] = []
    updates: list[MetricState | None] = []
    pending: list[_Pending] = []
    for binding in bindings:
        kr = known.get(binding.kr_key)
        judged = _judge(binding, results, states.get((binding.kr_key, binding.mapping_id)), kr, run)
        if isinstance(judged, _Pending):
            judged.index = len(outcomes)
            pending.append(judged)
            outcomes.append(None)
            updates.append(None)
        else:
            outcomes.append(judged[0])
            updates.append(judged[1])
    if run.dry_run:
        return [outcome for outcome in outcomes if outcome is not None]
    recorded_at = utcnow()
    # In key order, so that concurrent runs lock shared key results in the same order.
    for batch in chunked(sorted(pending, key=lambda item: item.binding.kr_key), WRITE_CHUNK):
        targets = lock_for_check_in(conn, {item.binding.kr_key for item in batch})
        writes: list[CheckInWrite] = []
        for item in batch:
            target = targets.get(item.binding.kr_key)
            outcomes[item.index], updates[item.index], write = _check_in(item, target, run, recorded_at)
            if write is not None and target is not None:
                writes.append(write)
                targets[item.binding.kr_key] = target.after(write)
        write_check_ins(conn, writes, updated_at=recorded_at)
    save_states(conn, [state for state in updates if state is not None])
    return [outcome for outcome in outcomes if outcome is not None]


@dataclass(slots=True, kw_only=True)
class _Pending:
    """A changed value waiting for okr_core's rules: it becomes a check-in or a refusal."""

    binding: Binding
    value: float
    previous: float | None
    base: MetricState
    rows: int
    index: int = -1


def _judge(
    binding: Binding,
    results: Mapping[str, MetricResult],
    state: MetricState | None,
    kr: KeyResult | None,
    run: RunContext,
) -> tuple[Outcome, MetricState | None] | _Pending:
    """What happened to one key result's value, or a pending check-in when it changed."""
    previous = kr.current if kr is not None else None
    bound = evaluate(binding, results, groups=run.groups)
    base = MetricState.of(binding, state, now=run.now, run_id=run.run_id)

    def outcome(action: str, value: float | None = None, reason: str | None = None) -> Outcome:
        return _outcome(binding, action, value=value, previous=previous, reason=reason)

    if bound.status == "error":
        return outcome("failed", reason=bound.error), base.failed(bound.error or "query failed")
    suspect = _suspect(binding, bound, state)
    if suspect is None and bound.action == "hold":
        suspect = "the query returned no data and the mapping says `on_no_data: hold`"
    if suspect is not None and not run.accept:
        reason = f"{suspect}; rerun with --accept to publish it"
        return outcome("held", bound.value, reason), base.held(bound.value, suspect)
    rows = _rows(binding, results)
    if bound.value is None:
        return outcome("no_data", reason="no data"), base.succeeded(None, rows)
    if previous is not None and abs(previous - bound.value) < UNCHANGED_TOLERANCE:
        return outcome("unchanged", bound.value), base.succeeded(bound.value, rows)
    if run.dry_run:
        return outcome("would_check_in", bound.value), None
    return _Pending(binding=binding, value=bound.value, previous=previous, base=base, rows=rows)


def _check_in(
    item: _Pending, target: CheckInTarget | None, run: RunContext, recorded_at: datetime
) -> tuple[Outcome, MetricState, CheckInWrite | None]:
    """Let okr_core's rules take or refuse a changed value (`decide_check_in`, as the CLI's check-in)."""
    binding = item.binding
    try:
        if target is None:
            raise UnknownReference("check-in", "key_result", binding.kr_key)
        author = ConnectorAuthor(
            connection=binding.connection,
            mapping=binding.mapping_id,
            run_id=str(run.run_id),
            query=query_text(binding),
            raw_result=run.raw.for_binding(binding),
        )
        write = decide_check_in(
            target, item.value, author=author, at=run.now, fetched_at=run.now, recorded_at=recorded_at
        )
    except OkrError as exc:
        refused = _outcome(binding, "refused", value=item.value, previous=item.previous, reason=str(exc))
        return refused, item.base.refused(str(exc)), None
    checked_in = _outcome(binding, "checked_in", value=item.value, previous=item.previous)
    return checked_in, item.base.succeeded(item.value, item.rows), write


def _outcome(
    binding: Binding,
    action: str,
    *,
    value: float | None = None,
    previous: float | None = None,
    reason: str | None = None,
) -> Outcome:
    return Outcome(
        kr_key=binding.kr_key,
        mapping_id=binding.mapping_id,
        action=action,
        value=value,
        previous=previous,
        reason=reason,
    )


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
