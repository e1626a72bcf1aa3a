"""Calibrate ratings, finalize and reopen review cycles, and hand finalized ratings to write-back.

Every change happens in one write transaction and leaves a row behind: a calibration keeps the
previous and new value, the level, who and why (`calibration_adjustments`); finalize and reopen
are `review_cycle_events` with who, why and when. The manager's original rating is never
overwritten by calibration.

The write-back job reads `finalized_ratings(engine, review_cycle_key)`: the ratings of a
finalized cycle only, so nothing still under calibration ever reaches the HCM.

Example:
    ```python
    result = calibrate_rating(engine, employee="1042", new_value=4, by="1007",
                              rationale="shipped the migration", cycle="acme-2026")
    finalize_cycle(engine, cycle="acme-2026", by="1001")
    for final in finalized_ratings(engine, "acme-2026"):
        outbox.add(final.employee_id, final.value, final.label)
    ```
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from hub.okrs.people import ref_key, resolve_people
from hub.okrs.repository import reading
from hub.ratings.repository import load_cycle, manager_chain
from hub.store.engine import begin_write
from hub.store.models import (
    StoredCalibration,
    StoredRating,
    StoredReviewCycle,
    StoredReviewCycleEvent,
    utcnow,
)
from okr_core.errors import UnknownReference
from okr_core.ratings import CalibrationAdjustment, Rating, ReviewState, calibrate, finalize, reopen

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class FinalRating:
    """A finalized rating, as the write-back job sends it.

    Attributes:
        employee_id: The HCM's employee id of the person rated.
        review_cycle: The review cycle's key.
        value: The calibrated value on the cycle's scale (e.g. 4).
        label: The scale's label of `value` (e.g. ``Exceeds``).
        finalized_at: When the cycle was (last) finalized, UTC.
    """

    employee_id: str
    review_cycle: str
    value: int
    label: str
    finalized_at: datetime


def finalized_ratings(engine: Engine, review_cycle_key: str) -> list[FinalRating]:
    """The calibrated ratings of a finalized review cycle, by employee id; empty while it is open.

    This is the write-back job's only entry into ratings. A cycle that is open (never finalized,
    or reopened) returns an empty list: its ratings may still move, so none is eligible.
    `finalized_at` is the time of the latest finalize, so a reopen-and-finalize shows as a newer
    time (the job may use it to notice ratings that changed after they were first written).

    Args:
        engine: The store.
        review_cycle_key: The review cycle's key, e.g. ``acme-2026``.

    Returns:
        One `FinalRating` per rated person, sorted by employee id.

    Raises:
        UnknownReference: No review cycle has this key.

    Example:
        ```python
        writes = [RatingWrite(idempotency_key=f"{r.review_cycle}:{r.employee_id}:overall",
                              employee_id=r.employee_id, value=str(r.value), ...)
                  for r in finalized_ratings(engine, "acme-2026")]
        ```
    """
    with reading(engine) as conn:
        stored = load_cycle(conn, review_cycle_key)
        row = conn.execute(
            select(StoredReviewCycle.state, StoredReviewCycle.finalized_at).where(
                StoredReviewCycle.id == stored.id
            )
        ).one()
        if row.state != ReviewState.FINALIZED.value or row.finalized_at is None:
            return []
        values = conn.execute(
            select(StoredRating.employee_id, StoredRating.current_value)
            .where(StoredRating.review_cycle_id == stored.id)
            .order_by(StoredRating.employee_id)
        ).all()
    scale = stored.cycle.scale
    return [
        FinalRating(
            employee_id=employee_id,
            review_cycle=stored.cycle.key,
            value=value,
            label=scale.label(value),
            finalized_at=row.finalized_at,
        )
        for employee_id, value in values
    ]


@dataclass(frozen=True, kw_only=True, slots=True)
class CalibrationResult:
    """A recorded calibration: the rating before and after, and the adjustment row's data."""

    before: Rating
    after: Rating
    adjustment: CalibrationAdjustment
    before_label: str
    after_label: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        a = self.adjustment
        return {
            "employee_id": a.employee_id,
            "review_cycle": a.review_cycle,
            "manager_rating": self.before.manager_value,
            "before": {"value": a.previous_value, "label": self.before_label},
            "after": {"value": a.new_value, "label": self.after_label},
            "level": a.level,
            "by": a.by,
            "rationale": a.rationale,
            "at": a.at.isoformat(),
        }


def calibrate_rating(
    engine: Engine,
    *,
    employee: str,
    new_value: int,
    by: str,
    rationale: str,
    level: str | None = None,
    cycle: str | None = None,
    at: datetime | None = None,
) -> CalibrationResult:
    """Move a person's current rating at a calibration level and record the change.

    Args:
        engine: The store.
        employee: Employee id or email of the person rated.
        new_value: The calibrated value.
        by: Employee id or email of the adjuster (in the person's management chain).
        rationale: Why (required).
        level: The calibration level; by default the level `by` holds over the person.
        cycle: The review cycle's key (default: the latest).
        at: When (default: now).

    Raises:
        RatingRefused: Finalized cycle, adjuster not at that level of the chain, or no change.
        InvalidValue: Off-scale value, unknown level or empty rationale.
        UnknownReference: Unknown cycle, person, or no rating for the person.
    """
    moment = at or utcnow()
    with begin_write(engine) as conn:
        stored = load_cycle(conn, cycle)
        people = resolve_people(conn, [employee, by])
        person = people.get(ref_key(employee))
        if person is None:
            raise UnknownReference("calibration", "person", employee)
        adjuster = people.get(ref_key(by))
        by_id = adjuster.employee_id if adjuster else by
        row = conn.execute(
            select(StoredRating).where(
                StoredRating.review_cycle_id == stored.id, StoredRating.employee_id == person.employee_id
            )
        ).first()
        if row is None:
            raise UnknownReference(
                f"review cycle `{stored.cycle.key}` (no rating for this person; import one first)",
                "person",
                person.employee_id,
            )
        before = Rating(
            employee_id=row.employee_id,
            review_cycle=stored.cycle.key,
            manager_value=row.manager_value,
            current_value=row.current_value,
            potential=row.potential,
        )
        chain = manager_chain(conn, person.employee_id, depth=len(stored.cycle.levels))
        after, adjustment = calibrate(
            stored.cycle,
            before,
            new_value=new_value,
            by=by_id,
            rationale=rationale,
            at=moment,
            chain=chain,
            level=level,
        )
        conn.execute(
            update(StoredRating)
            .where(StoredRating.id == row.id)
            .values(current_value=after.current_value, updated_at=moment)
        )
        conn.execute(
            insert(StoredCalibration).values(
                rating_id=row.id,
                review_cycle_id=stored.id,
                employee_id=adjustment.employee_id,
                previous_value=adjustment.previous_value,
                new_value=adjustment.new_value,
                level=adjustment.level,
                by_employee_id=adjustment.by,
                rationale=adjustment.rationale,
                at=adjustment.at,
            )
        )
    logger.info(
        "calibrated %s in %s: %s -> %s at %s by %s",
        person.employee_id,
        stored.cycle.key,
        adjustment.previous_value,
        adjustment.new_value,
        adjustment.level,
        adjustment.by,
    )
    scale = stored.cycle.scale
    return CalibrationResult(
        before=before,
        after=after,
        adjustment=adjustment,
        before_label=scale.label(before.current_value),
        after_label=scale.label(after.current_value),
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class CycleEvent:
    """A finalize or reopen of a review cycle."""

    review_cycle: str
    action: str
    by: str
    reason: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "review_cycle": self.review_cycle,
            "action": self.action,
            "by": self.by,
            "reason": self.reason,
            "at": self.at.isoformat(),
        }


def finalize_cycle(
    engine: Engine,
    *,
    by: str,
    cycle: str | None = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> CycleEvent:
    """Finalize a review cycle: lock its ratings and make them eligible for write-back.

    Raises:
        InvalidTransition: It is finalized already.
        UnknownReference: Unknown cycle.
    """
    return _transition(engine, "finalize", by=by, cycle=cycle, reason=reason, at=at)


def reopen_cycle(
    engine: Engine, *, by: str, reason: str, cycle: str | None = None, at: datetime | None = None
) -> CycleEvent:
    """Reopen a finalized review cycle so calibration can resume; the reason is recorded.

    Raises:
        InvalidTransition: It is not finalized.
        InvalidValue: `reason` is empty.
        UnknownReference: Unknown cycle.
    """
    return _transition(engine, "reopen", by=by, cycle=cycle, reason=reason, at=at)


def cycle_events(engine: Engine, cycle: str | None = None) -> list[CycleEvent]:
    """Every finalize and reopen of a review cycle, oldest first."""
    with reading(engine) as conn:
        stored = load_cycle(conn, cycle)
        rows = conn.execute(
            select(StoredReviewCycleEvent)
            .where(StoredReviewCycleEvent.review_cycle_id == stored.id)
            .order_by(StoredReviewCycleEvent.at, StoredReviewCycleEvent.id)
        ).all()
    return [
        CycleEvent(
            review_cycle=stored.cycle.key, action=r.action, by=r.by_employee_id, reason=r.reason, at=r.at
        )
        for r in rows
    ]


def _transition(
    engine: Engine, action: str, *, by: str, cycle: str | None, reason: str | None, at: datetime | None
) -> CycleEvent:
    moment = at or utcnow()
    with begin_write(engine) as conn:
        stored = load_cycle(conn, cycle)
        person = resolve_people(conn, [by]).get(ref_key(by)) if by.strip() else None
        if person is None:
            raise UnknownReference(f"{action} of review cycle `{stored.cycle.key}` (--by)", "person", by)
        by = person.employee_id
        changed = (
            finalize(stored.cycle) if action == "finalize" else reopen(stored.cycle, reason=reason or "")
        )
        finalized = changed.state is ReviewState.FINALIZED
        conn.execute(
            update(StoredReviewCycle)
            .where(StoredReviewCycle.id == stored.id)
            .values(
                state=changed.state.value,
                finalized_at=moment if finalized else None,
                finalized_by=by if finalized else None,
                updated_at=moment,
            )
        )
        conn.execute(
            insert(StoredReviewCycleEvent).values(
                review_cycle_id=stored.id, action=action, by_employee_id=by, reason=reason, at=moment
            )
        )
    logger.info("%s of review cycle %s by %s", action, stored.cycle.key, by)
    return CycleEvent(review_cycle=stored.cycle.key, action=action, by=by, reason=reason, at=moment)
