"""What `okrhub ratings distribution` and `okrhub ratings show` display, as JSON-ready data.

Distributions group the current ratings by the rated person's manager or department, or by
calibration level: the ``original`` group holds the managers' ratings, and the group of each
level the ratings as they stood after that level's calibration (adjustments at that level and
below, the latest by time winning), so a calibration committee sees how each pass moved the curve.

Example:
    ```python
    report = distribution_report(engine, cycle="acme-2026", by="department")
    [g["key"] for g in report["groups"] if g["flagged"]]
    ```
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal

from sqlalchemy import Engine, select

from hub.okrs.people import department_names
from hub.okrs.repository import load_tree, reading
from hub.ratings.repository import load_cycle, load_rating_rows, people_facts
from hub.store.models import StoredCalibration, utcnow
from okr_core.errors import UnknownReference
from okr_core.ratings import Distribution, ReviewCycle, distribution, nine_box
from okr_core.rollup import compute_progress

GroupBy = Literal["manager", "department", "level"]
"""How `distribution_report` groups ratings."""


def distribution_report(
    engine: Engine, *, cycle: str | None = None, by: GroupBy = "manager"
) -> dict[str, Any]:
    """The rating distribution of a review cycle, overall and per group, with guideline deviations.

    Raises:
        UnknownReference: Unknown cycle.
    """
    with reading(engine) as conn:
        stored = load_cycle(conn, cycle)
        rows = load_rating_rows(conn, stored.id)
        review = stored.cycle
        groups: dict[str, list[int]] = defaultdict(list)
        names: dict[str, str] = {}
        if by == "level":
            adjustments = conn.execute(
                select(StoredCalibration.rating_id, StoredCalibration.level, StoredCalibration.new_value)
                .where(StoredCalibration.review_cycle_id == stored.id)
                .order_by(StoredCalibration.at, StoredCalibration.id)
            ).all()
            groups = _by_level(review, rows, adjustments)
        else:
            facts = people_facts(conn, [row.employee_id for row in rows])
            for row in rows:
                fact = facts.get(row.employee_id)
                key = getattr(fact, "manager_employee_id" if by == "manager" else "department_key", None)
                groups[key or "(none)"].append(row.current_value)
            if by == "manager":
                names = {
                    k: getattr(f, "display_name", None) or k
                    for k, f in people_facts(conn, list(groups)).items()
                }
            else:
                names = department_names(conn, groups)
    overall = _dist(review, [row.current_value for row in rows])
    return {
        "review_cycle": review.key,
        "state": review.state.value,
        "by": by,
        "tolerance": review.tolerance,
        "guideline": None if review.guideline is None else {str(k): v for k, v in review.guideline.items()},
        "overall": _dist_dict(overall),
        "groups": [
            {"key": key, "name": names.get(key, key), **_dist_dict(_dist(review, values))}
            for key, values in groups.items()
        ],
    }


def ratings_overview(
    engine: Engine, *, cycle: str | None = None, as_of: date | None = None
) -> dict[str, Any]:
    """Each person's original and calibrated rating, adjustments, 9-box and OKR progress.

    OKR progress is the person's progress (`compute_progress`) in the review cycle's linked OKR
    cycle at `as_of` (default today); None when the cycle links none, or it is not in the store.

    Raises:
        UnknownReference: Unknown cycle.
    """
    day = as_of or utcnow().date()
    with reading(engine) as conn:
        stored = load_cycle(conn, cycle)
        review = stored.cycle
        rows = load_rating_rows(conn, stored.id)
        facts = people_facts(conn, [row.employee_id for row in rows])
        adjustments: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for adj in conn.execute(
            select(StoredCalibration)
            .where(StoredCalibration.review_cycle_id == stored.id)
            .order_by(StoredCalibration.at, StoredCalibration.id)
        ):
            adjustments[adj.rating_id].append(
                {
                    "previous": adj.previous_value,
                    "new": adj.new_value,
                    "level": adj.level,
                    "by": adj.by_employee_id,
                    "rationale": adj.rationale,
                    "at": adj.at.isoformat(),
                }
            )
        progress, okr_note = _okr_progress(conn, review, day)
    scale = review.scale
    people = []
    for row in rows:
        box = nine_box(scale, performance=row.current_value, potential=row.potential)
        fact = facts.get(row.employee_id)
        people.append(
            {
                "employee_id": row.employee_id,
                "name": getattr(fact, "display_name", None) or row.employee_id,
                "manager_rating": {"value": row.manager_value, "label": scale.label(row.manager_value)},
                "calibrated_rating": {"value": row.current_value, "label": scale.label(row.current_value)},
                "potential": row.potential,
                "adjustments": len(adjustments[row.id]),
                "history": adjustments[row.id],
                "nine_box": None
                if box is None
                else {
                    "box": box.box,
                    "name": box.name,
                    "performance": box.performance.value,
                    "potential": box.potential.value,
                },
                "okr_progress": progress.get(row.employee_id) if progress is not None else None,
            }
        )
    return {
        "review_cycle": review.key,
        "name": review.name,
        "state": review.state.value,
        "levels": list(review.levels),
        "okr_cycle": review.okr_cycle_key,
        "okr_note": okr_note,
        "as_of": day.isoformat(),
        "people": people,
    }


def _okr_progress(conn: Any, review: ReviewCycle, day: date) -> tuple[Mapping[str, float] | None, str | None]:
    if review.okr_cycle_key is None:
        return None, "the review cycle links no OKR cycle"
    try:
        tree = load_tree(conn, cycle=review.okr_cycle_key)
    except UnknownReference:
        return None, f"OKR cycle `{review.okr_cycle_key}` is not in the store (`okrhub okrs import`)"
    report = compute_progress(tree, as_of=day)
    return {person: p.progress for person, p in report.people.items()}, None


def _by_level(review: ReviewCycle, rows: Sequence[Any], adjustments: Sequence[Any]) -> dict[str, list[int]]:
    depth = {level: index + 1 for index, level in enumerate(review.levels)}
    by_rating: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for rating_id, level, new_value in adjustments:
        by_rating[rating_id].append((depth.get(level, len(review.levels)), new_value))
    groups: dict[str, list[int]] = {"original": [row.manager_value for row in rows]}
    for level, limit in depth.items():
        values = []
        for row in rows:
            value = row.manager_value
            for level_depth, new_value in by_rating[row.id]:
                if level_depth <= limit:
                    value = new_value
            values.append(value)
        groups[level] = values
    return groups


def _dist(review: ReviewCycle, values: list[int]) -> Distribution:
    return distribution(values, review.scale, guideline=review.guideline, tolerance=review.tolerance)


def _dist_dict(dist: Distribution) -> dict[str, Any]:
    return {
        "total": dist.total,
        "flagged": [bucket.value for bucket in dist.flagged],
        "buckets": [
            {
                "value": b.value,
                "label": b.label,
                "count": b.count,
                "share": round(b.share, 4),
                "guideline": b.guideline,
                "deviation": None if b.deviation is None else round(b.deviation, 4),
                "flagged": b.flagged,
            }
            for b in dist.buckets
        ],
    }
