"""Import a ratings file: the review cycle's definition and the managers' ratings, all or nothing.

Re-importing the same file changes nothing and says so. A changed manager rating updates the
original; the current (calibrated) value follows it only while nobody has calibrated that person,
so an import never undoes a calibration. A finalized cycle refuses every import until reopened.
Ratings the file leaves out are kept.

Example:
    ```python
    result = import_ratings(engine, read_ratings_file(Path("config/ratings/acme-2026.yaml")))
    result.counts["ratings"]   # {"created": 36, "updated": 0, "unchanged": 0}
    ```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from hub.errors import ConfigError, ConfigErrors
from hub.okrs.people import ref_key, resolve_people
from hub.okrs.source import sort_errors
from hub.ratings.document import RatingsFile, ReviewCycleEntry
from hub.ratings.repository import cycle_from_row, cycle_values, load_rating_rows
from hub.store.engine import begin_write
from hub.store.models import StoredCalibration, StoredRating, StoredReviewCycle, utcnow
from okr_core.errors import OkrError
from okr_core.ratings import RatingScale, ReviewCycle, ScaleValue, new_rating

KINDS = ("review_cycles", "ratings")
"""What an import counts, in the order it is reported."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RatingsImportResult:
    """What an import did: counts per kind (created, updated, unchanged)."""

    source: str
    review_cycle: str
    counts: dict[str, dict[str, int]]

    @property
    def changed(self) -> bool:
        """Whether anything was created or updated."""
        return any(c["created"] or c["updated"] for c in self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {"source": self.source, "review_cycle": self.review_cycle, "counts": self.counts}


def import_ratings(engine: Engine, parsed: RatingsFile) -> RatingsImportResult:
    """Store the file's review cycle and ratings in one write transaction.

    Raises:
        ConfigErrors: A problem in the file (unknown person, off-scale value, ...); nothing stored.
        RatingRefused: The review cycle is finalized.
    """
    counts = {kind: {"created": 0, "updated": 0, "unchanged": 0} for kind in KINDS}
    with begin_write(engine) as conn:
        row = conn.execute(
            select(StoredReviewCycle).where(StoredReviewCycle.key == parsed.review_cycle_key)
        ).first()
        stored = None if row is None else cycle_from_row(row)
        if stored is not None:
            stored.require_open(f"import of {parsed.source}")
        cycle = _cycle(parsed, stored)
        if row is not None:
            _check_stored_values(conn, parsed, cycle, row.id)
        cycle_id = _save_cycle(conn, cycle, row, counts["review_cycles"])
        _save_ratings(conn, parsed, cycle, cycle_id, counts["ratings"])
    return RatingsImportResult(source=parsed.source, review_cycle=cycle.key, counts=counts)


def _cycle(parsed: RatingsFile, stored: ReviewCycle | None) -> ReviewCycle:
    entry = parsed.review_cycle
    if entry is None:
        if stored is None:
            loc = (*parsed.rating_loc(0), "review_cycle")
            raise ConfigErrors(
                [
                    parsed.locator.error(
                        f"unknown review cycle `{parsed.review_cycle_key}`; import its YAML definition "
                        "(scale, levels, guideline) first",
                        loc,
                    )
                ]
            )
        return stored
    return _build_cycle(parsed, entry)


def _build_cycle(parsed: RatingsFile, entry: ReviewCycleEntry) -> ReviewCycle:
    try:
        scale = RatingScale(values=tuple(ScaleValue(value=p.value, label=p.label) for p in entry.scale))
    except OkrError as exc:
        raise ConfigErrors([parsed.locator.error(str(exc), ("review_cycle", "scale"))]) from None
    try:
        return ReviewCycle(
            key=entry.key,
            name=entry.name,
            scale=scale,
            levels=tuple(entry.levels),
            okr_cycle_key=entry.okr_cycle,
            guideline=entry.guideline,
            tolerance=entry.tolerance,
        )
    except OkrError as exc:
        field = str(getattr(exc, "field", ""))
        loc = ("review_cycle", field) if field in ReviewCycleEntry.model_fields else ("review_cycle",)
        raise ConfigErrors([parsed.locator.error(str(exc), loc)]) from None


def _check_stored_values(conn: Connection, parsed: RatingsFile, cycle: ReviewCycle, cycle_id: int) -> None:
    """Refuse a new scale that stored ratings or calibrations fall off (the file may omit them)."""
    stored: set[int] = set()
    for row in load_rating_rows(conn, cycle_id):
        stored |= {row.manager_value, row.current_value} | ({row.potential} if row.potential else set())
    stored |= set(
        conn.scalars(
            select(StoredCalibration.previous_value).where(StoredCalibration.review_cycle_id == cycle_id)
        )
    )
    off = sorted(stored - set(cycle.scale.numbers))
    if off:
        message = (
            f"stored ratings of `{cycle.key}` use {', '.join(map(str, off))}, which the new scale lacks; "
            "keep those values on the scale"
        )
        raise ConfigErrors([parsed.locator.error(message, ("review_cycle", "scale"))])


def _save_cycle(conn: Connection, cycle: ReviewCycle, row: Any, counts: dict[str, int]) -> int:
    values = cycle_values(cycle)
    if row is None:
        counts["created"] += 1
        return int(
            conn.execute(
                insert(StoredReviewCycle).values(**values).returning(StoredReviewCycle.id)
            ).scalar_one()
        )
    if all(getattr(row, name) == value for name, value in values.items()):
        counts["unchanged"] += 1
    else:
        conn.execute(
            update(StoredReviewCycle)
            .where(StoredReviewCycle.id == row.id)
            .values(**values, updated_at=utcnow())
        )
        counts["updated"] += 1
    return int(row.id)


def _save_ratings(
    conn: Connection, parsed: RatingsFile, cycle: ReviewCycle, cycle_id: int, counts: dict[str, int]
) -> None:
    people = resolve_people(conn, [entry.employee for entry in parsed.ratings])
    errors: list[ConfigError] = []
    wanted: dict[str, tuple[int, int | None]] = {}
    for index, entry in enumerate(parsed.ratings):
        loc = parsed.rating_loc(index)
        person = people.get(ref_key(entry.employee))
        if person is None:
            errors.append(
                parsed.locator.error(
                    f"unknown person `{entry.employee}`; use an employee id or email of a synced person "
                    "(`okrhub people`)",
                    (*loc, "employee"),
                )
            )
            continue
        if person.employee_id in wanted:
            errors.append(
                parsed.locator.error(f"`{entry.employee}` is rated twice in this file", (*loc, "employee"))
            )
            continue
        try:
            rating = new_rating(
                cycle, employee_id=person.employee_id, value=entry.rating, potential=entry.potential
            )
        except OkrError as exc:
            field = "potential" if getattr(exc, "field", "") == "potential" else "rating"
            errors.append(parsed.locator.error(str(exc), (*loc, field)))
            continue
        wanted[person.employee_id] = (rating.manager_value, rating.potential)
    if errors:
        raise ConfigErrors(sort_errors(errors))
    existing = {row.employee_id: row for row in load_rating_rows(conn, cycle_id)}
    calibrated = set(
        conn.scalars(
            select(StoredCalibration.rating_id)
            .where(StoredCalibration.review_cycle_id == cycle_id)
            .group_by(StoredCalibration.rating_id)
            .having(func.count() > 0)
        )
    )
    new_rows = []
    for employee_id, (value, potential) in wanted.items():
        row = existing.get(employee_id)
        if row is None:
            new_rows.append(
                {
                    "review_cycle_id": cycle_id,
                    "employee_id": employee_id,
                    "manager_value": value,
                    "current_value": value,
                    "potential": potential,
                }
            )
            counts["created"] += 1
        elif (row.manager_value, row.potential) == (value, potential):
            counts["unchanged"] += 1
        else:
            changes: dict[str, Any] = {"manager_value": value, "potential": potential, "updated_at": utcnow()}
            if row.id not in calibrated:
                changes["current_value"] = value
            conn.execute(update(StoredRating).where(StoredRating.id == row.id).values(**changes))
            counts["updated"] += 1
    if new_rows:
        conn.execute(insert(StoredRating), new_rows)
