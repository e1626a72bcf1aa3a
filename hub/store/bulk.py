"""Bulk writes that work the same on SQLite and PostgreSQL: chunked inserts and upserts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")

CHUNK = 1000
"""Rows per statement: big enough to amortise round trips, small enough for SQLite's variable limit."""


def chunked(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """`items` in lists of at most `size`."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str] | None = None,
    overrides: Callable[[Any], Mapping[str, ColumnElement[Any]]] | None = None,
) -> None:
    """Insert `rows`, updating `update` columns (default: all but the key) where `key` already exists.

    `overrides(excluded)` returns SQL expressions to write on conflict instead of the incoming
    value for some columns; `excluded` is the incoming row, as in `excluded.status`.
    """
    if not rows:
        return
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = list(rows[0].keys())
    to_update = [c for c in (update if update is not None else columns) if c not in key]
    stmt = insert(table)
    set_: dict[str, Any] = {name: stmt.excluded[name] for name in to_update}
    if overrides is not None:
        set_.update(overrides(stmt.excluded))
    stmt = (
        stmt.on_conflict_do_update(index_elements=list(key), set_=set_)
        if set_
        else stmt.on_conflict_do_nothing(index_elements=list(key))
    )
    conn.execute(stmt, list(rows))
