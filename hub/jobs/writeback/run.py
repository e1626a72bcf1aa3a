"""Write finalized ratings back to the HCM through the outbox, exactly once per value.

One run:

1. settle rows a previous run left `sending` or `sent` by reading the HCM back (held: confirmed,
   not held: pending), without resending anything;
2. plan: finalized ratings in the HCM's scale, minus what the HCM is known to hold;
3. per batch: mark `sending` and commit, send (one HCM call per rating), record each outcome and
   commit;
4. settle what came back without a clear answer (a 500 or a timeout after the HCM stored it) by
   reading back once more.

A crash between any two steps leaves rows the next run settles by reading back, so every rating
lands in the HCM once. Every run leaves a ledger row; it never raises an `OkrHubError`.

Example:
    ```python
    with runtime.connector(settings.connection, stats, capability=Capability.RATING_SINK) as sink:
        result = run_writeback(runtime.engine, sink, settings, stats=stats)
    ```
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from hub.errors import OkrHubError
from hub.http.stats import CallStats
from hub.jobs.writeback.outbox import UNSETTLED, load_rows, mark_sending, record_outcomes, settle
from hub.jobs.writeback.plan import (
    FinalRatingLike,
    OutboxState,
    Problem,
    desired_ratings,
    plan_sends,
    to_write,
)
from hub.jobs.writeback.settings import WritebackSettings
from hub.ratings.service import finalized_ratings
from hub.ratings_contract import RatingSink, WriteOutcome
from hub.store.ledger import Rejection, RunLedger
from hub.store.models import OutboxStatus, RunStatus
from okr_core.errors import OkrError

logger = logging.getLogger(__name__)

JOB = "writeback"
READ_BACK_BY_ID_LIMIT = 200
"""Up to this many unsettled rows are read back by employee id; more read the whole cycle once."""

FinalizedRatings = Callable[[Engine, str], Sequence[FinalRatingLike]]
"""`finalized(engine, review_cycle)`: the finalized ratings of a cycle (`hub.ratings.service`)."""
Checkpoint = Callable[[str], None]
"""Called with a step name (`settled`, `marked`, `sent`, `recorded`) after each step; tests crash here."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What happened to one rating in a run."""

    key: str
    employee_id: str
    action: (
        str  # confirmed | rejected | unconfirmed | would_send | settled_confirmed | settled_pending | problem
    )
    value: str | None = None
    reason: str | None = None
    detail: str | None = None


@dataclass
class WritebackResult:
    """A write-back run as the CLI, workers and benchmark report it."""

    run_id: int
    status: str
    dry_run: bool
    connection: str
    review_cycle: str
    outcomes: list[Outcome] = field(default_factory=list)
    api_calls: int = 0
    retries: int = 0
    error: dict[str, Any] | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Outcomes by action."""
        return dict(Counter(outcome.action for outcome in self.outcomes))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "connection": self.connection,
            "review_cycle": self.review_cycle,
            "counts": self.counts,
            "api_calls": self.api_calls,
            "retries": self.retries,
            "error": self.error,
            "outcomes": [asdict(o) for o in self.outcomes],
        }


def _no_checkpoint(_step: str) -> None:
    return None


def run_writeback(
    engine: Engine,
    sink: RatingSink,
    settings: WritebackSettings,
    *,
    stats: CallStats | None = None,
    dry_run: bool = False,
    trigger: str = "cli",
    finalized: FinalizedRatings = finalized_ratings,
    checkpoint: Checkpoint = _no_checkpoint,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> WritebackResult:
    """Run the write-back once and record it in the ledger; never raises an `OkrHubError`.

    Args:
        engine: The store.
        sink: The HCM connector (a `RatingSink`).
        settings: The write-back config.
        stats: The sink's call counters (for the ledger).
        dry_run: Plan and show what would be sent to whom; write nothing anywhere.
        trigger: What started the run.
        finalized: Where finalized ratings come from (`hub.ratings.service.finalized_ratings`).
        checkpoint: Called after each step; an exception from it stops the run there (tests).
        clock: The aware current time.
    """
    stats = stats or CallStats()
    ledger = RunLedger(engine)
    run_id = ledger.start(job=JOB, connection=settings.connection, dry_run=dry_run, trigger=trigger)
    result = WritebackResult(
        run_id=run_id,
        status=RunStatus.SUCCEEDED.value,
        dry_run=dry_run,
        connection=settings.connection,
        review_cycle=settings.review_cycle,
    )
    try:
        _run(engine, sink, settings, result, dry_run, finalized, checkpoint, clock)
    except (OkrHubError, OkrError) as exc:
        attrs = (
            exc.attrs() if isinstance(exc, OkrHubError) else {"type": type(exc).__name__, "message": str(exc)}
        )
        logger.error("write-back run %d failed: %s", run_id, exc)  # noqa: TRY400 - kept in the ledger
        result.status, result.error = RunStatus.FAILED.value, attrs
        _finish(ledger, result, stats, summary=f"write-back failed: {str(exc).splitlines()[0]}")
        return result
    except BaseException as exc:
        result.status = RunStatus.FAILED.value
        result.error = {"type": type(exc).__name__, "message": str(exc) or repr(exc)}
        _finish(ledger, result, stats, summary=f"crashed: {type(exc).__name__}")
        raise
    _finish(ledger, result, stats, summary=_summary(result))
    return result


def _run(
    engine: Engine,
    sink: RatingSink,
    settings: WritebackSettings,
    result: WritebackResult,
    dry_run: bool,
    finalized: FinalizedRatings,
    checkpoint: Checkpoint,
    clock: Callable[[], datetime],
) -> None:
    cycle, connection, run_id = settings.review_cycle, settings.connection, result.run_id
    desired, problems = desired_ratings(finalized(engine, cycle), settings)
    result.outcomes.extend(_problem(p) for p in problems)
    rows = load_rows(engine, review_cycle=cycle, connection=connection)
    states = {key: row.state() for key, row in rows.items()}
    unsettled = [row for row in rows.values() if row.status in UNSETTLED]
    if unsettled:
        held = read_back(sink, cycle, settings.field, [row.employee_id for row in unsettled])
        for row in unsettled:
            value, _ = held.get(row.employee_id, (None, None))
            landed = value == row.value
            result.outcomes.append(
                Outcome(
                    key=row.idempotency_key,
                    employee_id=row.employee_id,
                    action="settled_confirmed" if landed else "settled_pending",
                    value=row.value,
                    detail=f"the HCM holds {value!r}" if value is not None else "the HCM holds nothing",
                )
            )
            status = OutboxStatus.CONFIRMED if landed else OutboxStatus.PENDING
            states[row.idempotency_key] = OutboxState(
                status=status.value,
                value=row.value,
                confirmed_value=row.value if landed else row.confirmed_value,
            )
        if not dry_run:
            settle(
                engine,
                [(r.idempotency_key, *held.get(r.employee_id, (None, None))) for r in unsettled],
                run_id=run_id,
                now=clock(),
            )
            rows = load_rows(engine, review_cycle=cycle, connection=connection)
            states = {key: row.state() for key, row in rows.items()}
        checkpoint("settled")
    sends = plan_sends(desired, states)
    if dry_run:
        result.outcomes.extend(
            Outcome(
                key=s.desired.key,
                employee_id=s.desired.employee_id,
                action="would_send",
                value=s.desired.value,
                reason=s.reason,
                detail=f"{s.desired.field}={s.desired.value} (ours: {s.desired.source_value}) "
                f"to {connection}",
            )
            for s in sends
        )
        return
    unclear: list[tuple[str, str, str]] = []
    for start in range(0, len(sends), settings.batch_size):
        batch = [s.desired for s in sends[start : start + settings.batch_size]]
        mark_sending(engine, batch, existing=rows, connection=connection, run_id=run_id, now=clock())
        checkpoint("marked")
        outcomes: list[tuple[WriteOutcome, str]] = []
        for rating, outcome in zip(
            batch, sink.write_ratings([to_write(r, settings) for r in batch]), strict=True
        ):
            outcomes.append((outcome, rating.value))
            checkpoint("sent")
        record_outcomes(engine, outcomes, run_id=run_id, now=clock())
        checkpoint("recorded")
        for rating, (outcome, _) in zip(batch, outcomes, strict=True):
            action = {"confirmed": "confirmed", "rejected": "rejected"}.get(outcome.status, "unconfirmed")
            result.outcomes.append(
                Outcome(
                    key=rating.key,
                    employee_id=rating.employee_id,
                    action=action,
                    value=rating.value,
                    detail=outcome.detail or None,
                )
            )
            if outcome.status == "retry":
                unclear.append((rating.key, rating.employee_id, rating.value))
    if unclear:
        _settle_unclear(engine, sink, settings, result, unclear, clock)


def _settle_unclear(
    engine: Engine,
    sink: RatingSink,
    settings: WritebackSettings,
    result: WritebackResult,
    unclear: list[tuple[str, str, str]],
    clock: Callable[[], datetime],
) -> None:
    """Read back what got no clear answer (a 500 or timeout after the HCM stored it)."""
    held = read_back(sink, settings.review_cycle, settings.field, [who for _, who, _ in unclear])
    settle(
        engine,
        [(key, *held.get(who, (None, None))) for key, who, _ in unclear],
        run_id=result.run_id,
        now=clock(),
    )
    landed = {key for key, who, value in unclear if held.get(who, (None, None))[0] == value}
    result.outcomes = [
        Outcome(
            key=o.key,
            employee_id=o.employee_id,
            action="confirmed" if o.key in landed else "retry",
            value=o.value,
            reason="confirmed by reading back" if o.key in landed else "not held after an unclear answer",
            detail=o.detail,
        )
        if o.action == "unconfirmed"
        else o
        for o in result.outcomes
    ]


def read_back(
    sink: RatingSink, review_cycle: str, rating_field: str, employee_ids: Sequence[str]
) -> dict[str, tuple[str, str | None]]:
    """Employee id to (value, HCM reference) the HCM holds for this cycle and field.

    Few employees are read by id; many read the whole cycle once (one call on BambooHR).
    """
    ids = sorted(set(employee_ids))
    ratings = sink.read_ratings(
        review_cycle=review_cycle, employee_ids=ids if len(ids) <= READ_BACK_BY_ID_LIMIT else None
    )
    return {r.employee_id: (r.value, r.hcm_reference) for r in ratings if r.field == rating_field}


def _problem(problem: Problem) -> Outcome:
    return Outcome(key=problem.key, employee_id=problem.employee_id, action="problem", reason=problem.reason)


def _finish(ledger: RunLedger, result: WritebackResult, stats: CallStats, *, summary: str) -> None:
    result.api_calls, result.retries = stats.api_calls, stats.retries
    ledger.finish(
        result.run_id,
        status=result.status,
        counts=result.counts,
        api_calls=stats.api_calls,
        retries=stats.retries,
        error=result.error,
        summary=summary,
        rejections=[
            Rejection(
                record_key=o.key,
                reason=o.detail or o.reason or o.action,
                detail={"employee_id": o.employee_id, "action": o.action, "value": o.value},
            )
            for o in result.outcomes
            if o.action in ("rejected", "problem", "retry")
        ],
    )


def _summary(result: WritebackResult) -> str:
    counts: Mapping[str, int] = result.counts
    shown = (
        "confirmed",
        "would_send",
        "rejected",
        "retry",
        "settled_confirmed",
        "settled_pending",
        "problem",
    )
    parts = ", ".join(f"{counts[name]} {name.replace('_', ' ')}" for name in shown if counts.get(name))
    prefix = "dry run: " if result.dry_run else ""
    return f"{prefix}{parts or 'nothing to send'} ({result.connection}, {result.review_cycle})"
