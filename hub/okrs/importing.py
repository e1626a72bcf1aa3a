"""Import an OKR file into the store: all or nothing, idempotent by external key.

`import_okrs` plans (`hub.okrs.plan`) and writes inside one write transaction, so a file with any
problem stores nothing, and two imports never interleave. Re-importing the same file changes
nothing and says so; a changed file updates what changed and creates what is new. Nothing the
file leaves out is deleted: removing OKRs is a decision an import should not make silently.

Example:
    ```python
    result = import_okrs(engine, read_okr_file(Path("config/okrs/acme.yaml")))
    result.counts["objectives"]   # {"created": 14, "updated": 0, "unchanged": 0}
    ```
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, delete, insert, update

from hub.okrs.plan import Action, ImportPlan, plan_import
from hub.okrs.repository import lock_okrs, reading
from hub.okrs.rows import check_in_values, cycle_values, key_result_values, objective_values
from hub.okrs.source import ParsedFile
from hub.store.engine import begin_write
from hub.store.models import OkrCheckIn, OkrCycle, OkrKeyResult, OkrKeyResultOwner, OkrObjective, utcnow

logger = logging.getLogger(__name__)

# Declarative models type `__table__` as a FromClause; these are Tables.
_CYCLES = cast(Table, OkrCycle.__table__)
_OBJECTIVES = cast(Table, OkrObjective.__table__)
_KEY_RESULTS = cast(Table, OkrKeyResult.__table__)

KINDS = ("cycles", "objectives", "key_results", "check_ins")
"""The kinds an import counts, in the order they are reported."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ImportResult:
    """What an import did (or, for a dry run, would do): counts per kind and the items that changed.

    Example:
        result = import_okrs(engine, parsed)
        print(result.summary())   # "cycles: 2 created · objectives: 14 created · ..."
    """

    source: str
    dry_run: bool
    counts: dict[str, dict[str, int]]
    changes: tuple[tuple[str, str, str], ...]
    """(kind, key, created | updated) for every item written."""

    @property
    def changed(self) -> bool:
        """Whether anything was (or would be) created or updated."""
        return bool(self.changes) or self.counts["check_ins"]["created"] > 0

    def summary(self) -> str:
        """One line: the counts per kind."""
        parts = []
        for kind in KINDS:
            counts = self.counts[kind]
            shown = [f"{counts[a]} {a}" for a in ("created", "updated", "unchanged") if counts[a]]
            parts.append(f"{kind.replace('_', ' ')}: {', '.join(shown) or 'none'}")
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "changes": [{"kind": k, "key": key, "action": a} for k, key, a in self.changes],
            "deletes": 0,
        }


def import_okrs(engine: Engine, parsed: ParsedFile, *, dry_run: bool = False) -> ImportResult:
    """Validate `parsed` against the store and write it in one transaction (nothing with `dry_run`).

    Raises:
        ConfigErrors: The file has problems (each at its position); the store is unchanged.
    """
    if dry_run:
        with reading(engine) as conn:
            plan = plan_import(conn, parsed)
    else:
        with begin_write(engine) as conn:
            lock_okrs(conn, exclusive=True)
            plan = plan_import(conn, parsed)
            apply_plan(conn, plan)
    changes = tuple(
        (kind, item.id, action.value)
        for kind, items in (
            ("cycle", plan.cycles),
            ("objective", plan.objectives),
            ("key_result", plan.key_results),
        )
        for item, action in items
        if action is not Action.UNCHANGED
    )
    result = ImportResult(source=parsed.source, dry_run=dry_run, counts=plan.counts(), changes=changes)
    logger.info("okr import of %s%s: %s", parsed.source, " (dry run)" if dry_run else "", result.summary())
    return result


def apply_plan(conn: Connection, plan: ImportPlan, *, now: Callable[[], datetime] = utcnow) -> None:
    """Write a plan on `conn` (inside the caller's transaction)."""
    stamp = now()
    stored = plan.stored
    tree = stored.tree

    cycle_ids = dict(stored.cycle_ids)
    _write(conn, _CYCLES, plan.cycles, cycle_ids, cycle_values, tree.cycles, stamp)
    _write_parents(conn, _CYCLES, plan.cycles, cycle_ids, tree.cycles)

    objective_ids = dict(stored.objective_ids)
    _write(
        conn,
        _OBJECTIVES,
        plan.objectives,
        objective_ids,
        lambda o: {**objective_values(o), "cycle_id": cycle_ids[o.cycle_id]},
        tree.objectives,
        stamp,
    )
    _write_parents(conn, _OBJECTIVES, plan.objectives, objective_ids, tree.objectives)

    kr_ids = dict(stored.key_result_ids)
    _write(
        conn,
        _KEY_RESULTS,
        plan.key_results,
        kr_ids,
        lambda kr: {
            **key_result_values(kr),
            "objective_id": objective_ids[kr.objective_id],
            "cycle_id": cycle_ids[kr.cycle_id],
        },
        tree.key_results,
        stamp,
    )
    _write_owners(conn, plan, kr_ids)
    if plan.check_ins:
        conn.execute(
            insert(OkrCheckIn),
            [
                check_in_values(
                    key_result_id=kr_ids[planned.check_in.key_result_id],
                    value=planned.check_in.value,
                    at=planned.check_in.at,
                    author=planned.author,
                    note=planned.check_in.note,
                    confidence=planned.check_in.confidence,
                    recorded_at=stamp,
                    fetched_at=None,
                )
                for planned in plan.check_ins
            ],
        )


def _write(
    conn: Connection,
    table: Table,
    items: Iterable[tuple[Any, Action]],
    ids: dict[str, int],
    values: Callable[[Any], dict[str, Any]],
    before: Any,
    stamp: datetime,
) -> None:
    """Insert new rows (without parents), and update rows whose item differs from the stored one."""
    items = list(items)
    new = [values(item) for item, action in items if action is Action.CREATED]
    if new:
        for key, row_id in conn.execute(insert(table).returning(table.c.key, table.c.id), new):
            ids[key] = row_id
    for item, action in items:
        # An unchanged definition may still carry a new state from the file's check-ins.
        if action is not Action.CREATED and before[item.id] != item:
            conn.execute(
                update(table).where(table.c.id == ids[item.id]).values(**values(item), updated_at=stamp)
            )


def _write_parents(
    conn: Connection, table: Table, items: Iterable[tuple[Any, Action]], ids: dict[str, int], before: Any
) -> None:
    for item, action in items:
        old = before.get(item.id)
        if item.parent_id is None and (old is None or old.parent_id is None):
            continue
        if action is Action.CREATED or old.parent_id != item.parent_id:
            parent = None if item.parent_id is None else ids[item.parent_id]
            conn.execute(update(table).where(table.c.id == ids[item.id]).values(parent_id=parent))


def _write_owners(conn: Connection, plan: ImportPlan, kr_ids: dict[str, int]) -> None:
    before = plan.stored.tree.key_results
    rows: list[dict[str, Any]] = []
    for kr, action in plan.key_results:
        old = before.get(kr.id)
        if action is not Action.CREATED and old is not None and old.owners == kr.owners:
            continue
        kr_id = kr_ids[kr.id]
        if old is not None:
            conn.execute(delete(OkrKeyResultOwner).where(OkrKeyResultOwner.key_result_id == kr_id))
        rows += [
            {"key_result_id": kr_id, "employee_id": owner, "position": position}
            for position, owner in enumerate(kr.owners)
        ]
    if rows:
        conn.execute(insert(OkrKeyResultOwner), rows)
