"""Load review cycles, ratings and reporting lines from the store as `okr_core.ratings` values.

Rows keep their integer ids; the domain sees external keys and employee ids. A cycle named
`None` means the most recently created review cycle, which is what the CLI's `--cycle` defaults to.

Example:
    ```python
    with engine.connect() as conn:
        stored = load_cycle(conn, "acme-2026")
        chain = manager_chain(conn, "1042", depth=len(stored.cycle.levels))
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from hub.store.bulk import chunked
from hub.store.models import Person, StoredRating, StoredReviewCycle
from okr_core.errors import UnknownReference
from okr_core.ratings import RatingScale, ReviewCycle, ScaleValue


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredCycle:
    """A review cycle and its row id."""

    id: int
    cycle: ReviewCycle


def cycle_from_row(row: Any) -> ReviewCycle:
    """The domain cycle of a `review_cycles` row."""
    guideline = row.guideline
    return ReviewCycle(
        key=row.key,
        name=row.name,
        scale=scale_from_json(row.scale),
        levels=tuple(row.levels),
        okr_cycle_key=row.okr_cycle_key,
        state=row.state,
        guideline=None if guideline is None else {int(k): float(v) for k, v in guideline.items()},
        tolerance=row.tolerance,
    )


def cycle_values(cycle: ReviewCycle) -> dict[str, Any]:
    """The `review_cycles` columns a cycle's definition sets (not its state)."""
    return {
        "key": cycle.key,
        "name": cycle.name,
        "okr_cycle_key": cycle.okr_cycle_key,
        "scale": [{"value": p.value, "label": p.label} for p in cycle.scale.values],
        "levels": list(cycle.levels),
        # JSON object keys are strings; `cycle_from_row` turns them back into scale values.
        "guideline": None if cycle.guideline is None else {str(k): v for k, v in cycle.guideline.items()},
        "tolerance": cycle.tolerance,
    }


def scale_from_json(points: list[dict[str, Any]]) -> RatingScale:
    """A scale from its stored `[{value, label}]`."""
    return RatingScale(values=tuple(ScaleValue(value=int(p["value"]), label=str(p["label"])) for p in points))


def load_cycle(conn: Connection, key: str | None) -> StoredCycle:
    """The review cycle `key`, or the most recently created one when `key` is None.

    Raises:
        UnknownReference: No such cycle (or none at all).
    """
    query = select(StoredReviewCycle)
    query = (
        query.order_by(StoredReviewCycle.id.desc()).limit(1)
        if key is None
        else query.where(StoredReviewCycle.key == key)
    )
    row = conn.execute(query).first()
    if row is None:
        known = ", ".join(conn.scalars(select(StoredReviewCycle.key).order_by(StoredReviewCycle.key)))
        raise UnknownReference(
            f"review cycle (stored: {known or 'none yet; run `okrhub ratings import FILE`'})",
            "cycle",
            key or "(latest)",
        )
    return StoredCycle(id=row.id, cycle=cycle_from_row(row))


def load_rating_rows(conn: Connection, cycle_id: int) -> list[Any]:
    """Every rating row of a cycle, by employee id."""
    return list(
        conn.execute(
            select(StoredRating)
            .where(StoredRating.review_cycle_id == cycle_id)
            .order_by(StoredRating.employee_id)
        ).all()
    )


def manager_chain(conn: Connection, employee_id: str, *, depth: int) -> tuple[str, ...]:
    """The person's manager, the manager's manager, ... (up to `depth`), from the synced reporting lines."""
    chain: list[str] = []
    seen = {employee_id}
    current: str | None = employee_id
    while current is not None and len(chain) < depth:
        current = conn.scalar(select(Person.manager_employee_id).where(Person.employee_id == current))
        if current is None or current in seen:
            break
        chain.append(current)
        seen.add(current)
    return tuple(chain)


def people_facts(conn: Connection, employee_ids: list[str]) -> Mapping[str, Any]:
    """Name, manager and department of each person named, by employee id (one select per 500)."""
    found: dict[str, Any] = {}
    columns = (Person.employee_id, Person.display_name, Person.manager_employee_id, Person.department_key)
    for batch in chunked(sorted(set(employee_ids))):
        for row in conn.execute(select(*columns).where(Person.employee_id.in_(batch))):
            found[row.employee_id] = row
    return found
