"""Load OKRs from the store as an `okr_core.AlignmentTree`, in a handful of bulk selects.

However big the store, loading the tree costs one select per table (cycles, objectives, key
results, owners), plus one per level of alignment above a filtered cycle; never one per row.

A cycle filter takes that cycle and its sub-cycles (a year takes its quarters). Objectives
aligned to objectives outside the filter keep their alignment: the ancestors are loaded too, with
their key results, so the tree stays whole; they are context, not part of the cycle.

Example:
    ```python
    tree = load_tree(engine, cycle="2026-Q4")
    report = compute_progress(tree, as_of=date(2026, 11, 23))
    last = last_check_ins(engine, tree.key_results)   # who or what checked in last, per key
    ```
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, func, select, text
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from hub.okrs.records import CheckInRecord
from hub.okrs.rows import check_in_from_row, cycle_from_row, key_result_from_row, objective_from_row
from hub.store.bulk import chunked
from hub.store.models import OkrCheckIn, OkrCycle, OkrKeyResult, OkrKeyResultOwner, OkrObjective
from okr_core.errors import UnknownReference
from okr_core.tree import AlignmentTree

_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredOkrs:
    """The stored tree and the row id behind each external key.

    Example:
        stored = load_okrs(conn)
        stored.key_result_ids["q4-arr"]   # 17
    """

    tree: AlignmentTree
    cycle_ids: Mapping[str, int]
    objective_ids: Mapping[str, int]
    key_result_ids: Mapping[str, int]


_PG_OKR_LOCK = 0x6F6B72686F6B72
"""Advisory lock key: imports take it exclusively, check-ins shared (PostgreSQL only)."""


def lock_okrs(conn: Connection, *, exclusive: bool) -> None:
    """Serialise imports against check-ins for the rest of `conn`'s transaction.

    An import plans from a snapshot of the whole tree and then writes key-result state; a
    check-in landing in between would be overwritten. On PostgreSQL imports take an advisory
    lock exclusively and check-ins take it shared (check-ins on one key result are further
    serialised by a row lock). SQLite needs nothing: `begin_write` already takes the write lock.
    """
    if conn.dialect.name == "postgresql":
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn.execute(text(f"SELECT {function}(:key)"), {"key": _PG_OKR_LOCK})


@contextmanager
def reading(source: Engine | Connection) -> Iterator[Connection]:
    """A connection on `source`: the connection itself, or a new one from the engine (closed after)."""
    if isinstance(source, Connection):
        yield source
        return
    with source.connect() as conn:
        yield conn


def load_tree(source: Engine | Connection, *, cycle: str | None = None) -> AlignmentTree:
    """The alignment tree in the store, or the part in `cycle` and its sub-cycles.

    Raises:
        UnknownReference: `cycle` is not a stored cycle's key.
    """
    return load_okrs(source, cycle=cycle).tree


def load_okrs(source: Engine | Connection, *, cycle: str | None = None) -> StoredOkrs:
    """The stored tree (or the part in `cycle`, see the module docstring) with row ids by key.

    Raises:
        UnknownReference: `cycle` is not a stored cycle's key.
    """
    with reading(source) as conn:
        cycle_rows = conn.execute(select(OkrCycle).order_by(OkrCycle.id)).all()
        cycle_keys = {row.id: row.key for row in cycle_rows}
        cycles = [cycle_from_row(row, cycle_keys.get(row.parent_id)) for row in cycle_rows]
        where: ColumnElement[bool] | None = None
        if cycle is not None:
            selected = _cycle_and_descendants(cycle, cycle_rows)
            where = OkrObjective.cycle_id.in_(selected)
        objective_rows = _objective_rows(conn, where)
        if where is not None:
            extra = _ancestor_rows(conn, objective_rows)
            objective_rows = sorted(objective_rows + extra, key=lambda row: row.id)
            if extra:
                where = where | OkrObjective.id.in_([row.id for row in extra])
        objectives = [
            objective_from_row(row, cycle_keys[row.cycle_id], row.parent_key) for row in objective_rows
        ]
        objective_keys = {row.id: row.key for row in objective_rows}
        owners: dict[int, list[str]] = defaultdict(list)
        owner_query = (
            select(OkrKeyResultOwner.key_result_id, OkrKeyResultOwner.employee_id)
            .join(OkrKeyResult, OkrKeyResult.id == OkrKeyResultOwner.key_result_id)
            .join(OkrObjective, OkrObjective.id == OkrKeyResult.objective_id)
            .order_by(OkrKeyResultOwner.key_result_id, OkrKeyResultOwner.position)
        )
        for kr_id, employee_id in conn.execute(_filtered(owner_query, where)):
            owners[kr_id].append(employee_id)
        kr_query = (
            select(OkrKeyResult)
            .join(OkrObjective, OkrObjective.id == OkrKeyResult.objective_id)
            .order_by(OkrKeyResult.id)
        )
        kr_rows = conn.execute(_filtered(kr_query, where)).all()
        key_results = [
            key_result_from_row(
                row, objective_keys[row.objective_id], cycle_keys[row.cycle_id], owners.get(row.id, ())
            )
            for row in kr_rows
        ]
    return StoredOkrs(
        tree=AlignmentTree(cycles=cycles, objectives=objectives, key_results=key_results),
        cycle_ids={row.key: row.id for row in cycle_rows},
        objective_ids={row.key: row.id for row in objective_rows},
        key_result_ids={row.key: row.id for row in kr_rows},
    )


def last_check_ins(source: Engine | Connection, key_result_keys: Iterable[str]) -> dict[str, CheckInRecord]:
    """The latest check-in of each key result named (by `at`, then by id), for those that have one."""
    keys = list(key_result_keys)
    latest = select(
        OkrCheckIn,
        OkrKeyResult.key.label("kr_key"),
        func.row_number()
        .over(partition_by=OkrCheckIn.key_result_id, order_by=(OkrCheckIn.at.desc(), OkrCheckIn.id.desc()))
        .label("rank"),
    ).join(OkrKeyResult, OkrKeyResult.id == OkrCheckIn.key_result_id)
    found: dict[str, CheckInRecord] = {}
    with reading(source) as conn:
        for batch in chunked(keys):
            ranked = latest.where(OkrKeyResult.key.in_(batch)).subquery()
            rows = conn.execute(select(ranked).where(ranked.c.rank == 1))
            for row in rows:
                found[row.kr_key] = check_in_from_row(row, row.kr_key)
    return found


def check_in_history(source: Engine | Connection, key_result_key: str) -> list[CheckInRecord]:
    """Every check-in of a key result, oldest first.

    Raises:
        UnknownReference: No key result has this key.
    """
    with reading(source) as conn:
        kr_id = conn.scalar(select(OkrKeyResult.id).where(OkrKeyResult.key == key_result_key))
        if kr_id is None:
            raise UnknownReference("check-in history", "key_result", key_result_key)
        rows = conn.execute(
            select(OkrCheckIn).where(OkrCheckIn.key_result_id == kr_id).order_by(OkrCheckIn.at, OkrCheckIn.id)
        )
        return [check_in_from_row(row, key_result_key) for row in rows]


def cycle_scope(tree: AlignmentTree, cycle: str | None) -> frozenset[str]:
    """Keys of `cycle` and its sub-cycles in `tree` (every cycle when `cycle` is None)."""
    if cycle is None:
        return frozenset(tree.cycles)
    scope = {cycle}
    while more := {c.id for c in tree.cycles.values() if c.parent_id in scope} - scope:
        scope |= more
    return frozenset(scope)


def _filtered(query: _S, where: ColumnElement[bool] | None) -> _S:
    return query if where is None else query.where(where)


def _objective_rows(conn: Connection, where: ColumnElement[bool] | None) -> list[Any]:
    parent = aliased(OkrObjective)
    query = (
        select(*OkrObjective.__table__.c, parent.key.label("parent_key"))
        .outerjoin(parent, parent.id == OkrObjective.parent_id)
        .order_by(OkrObjective.id)
    )
    return list(conn.execute(_filtered(query, where)).all())


def _ancestor_rows(conn: Connection, rows: list[Any]) -> list[Any]:
    """Objectives above `rows` that the filter left out, one select per level."""
    loaded = {row.key for row in rows}
    extra: list[Any] = []
    missing = {row.parent_key for row in rows if row.parent_key and row.parent_key not in loaded}
    while missing:
        level: list[Any] = []
        for batch in chunked(sorted(missing)):
            level += _objective_rows(conn, OkrObjective.key.in_(batch))
        loaded |= {row.key for row in level}
        extra += level
        missing = {row.parent_key for row in level if row.parent_key and row.parent_key not in loaded}
    return extra


def _cycle_and_descendants(key: str, rows: Iterable[Any]) -> list[int]:
    rows = list(rows)
    by_key = {row.key: row for row in rows}
    if key not in by_key:
        known = ", ".join(sorted(by_key)) or "none stored yet"
        raise UnknownReference(f"cycle filter (stored cycles: {known})", "cycle", key)
    children: dict[int | None, list[int]] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row.id)
    selected: list[int] = []
    stack = [by_key[key].id]
    while stack:
        current = stack.pop()
        selected.append(current)
        stack.extend(children.get(current, ()))
    return selected
