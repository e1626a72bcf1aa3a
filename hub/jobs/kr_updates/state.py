"""What each automated key result last got from its mapping: value, rows, when, and how it went.

This is how a stale automated key result shows: `last_success_at` stops moving when a
mapping fails, while the key result keeps its last good value. Held (suspect) values wait here
until `--accept`. A value the OKR domain refuses (the key result is closed, its hard deadline has
passed) is `refused`: the fetch worked, but the key result is not being updated, so its state
says so rather than `ok`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, tuple_

from hub.store.bulk import chunked, upsert
from hub.store.models import KrMetricState


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricState:
    """One (key result, mapping) pair's last fetch."""

    kr_key: str
    mapping_id: str
    status: str  # ok | no_data | failed | held | refused
    last_value: float | None = None
    last_rows: int | None = None
    last_success_at: datetime | None = None
    fetched_at: datetime | None = None
    message: str | None = None
    held_value: float | None = None
    run_id: int | None = None

    @classmethod
    def of(cls, binding: object, before: MetricState | None, *, now: datetime, run_id: int) -> MetricState:
        """The state to update for a binding, starting from what was stored."""
        kr_key: str = binding.kr_key  # type: ignore[attr-defined]
        mapping_id: str = binding.mapping_id  # type: ignore[attr-defined]
        start = before or cls(kr_key=kr_key, mapping_id=mapping_id, status="ok")
        return replace(start, fetched_at=now, run_id=run_id)

    def succeeded(self, value: float | None, rows: int) -> MetricState:
        """A good value (or a confirmed no-data) was taken."""
        return replace(
            self,
            status="ok" if value is not None else "no_data",
            last_value=value if value is not None else self.last_value,
            last_rows=rows,
            last_success_at=self.fetched_at,
            message=None,
            held_value=None,
        )

    def failed(self, reason: str) -> MetricState:
        """The fetch failed; the last good value stays."""
        return replace(self, status="failed", message=reason)

    def held(self, value: float | None, reason: str) -> MetricState:
        """A suspect value waits for `--accept`."""
        return replace(self, status="held", held_value=value, message=reason)

    def refused(self, reason: str) -> MetricState:
        """The key result refused the check-in; its last value and last success stay as they were."""
        return replace(self, status="refused", held_value=None, message=reason)


def load_states(engine: Engine, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], MetricState]:
    """The stored state of each (key result, mapping) pair that has one."""
    states: dict[tuple[str, str], MetricState] = {}
    with engine.connect() as conn:
        for batch in chunked(keys, 400):
            pair = tuple_(KrMetricState.kr_key, KrMetricState.mapping_id)
            rows = conn.execute(select(*STATE_COLUMNS).where(pair.in_(batch)))
            for row in rows:
                states[(row.kr_key, row.mapping_id)] = _from_row(row)
    return states


def states_for(conn: Connection, kr_keys: Iterable[str]) -> dict[str, list[MetricState]]:
    """Every mapping state of these key results, for `okrhub okrs show`."""
    found: dict[str, list[MetricState]] = {}
    for batch in chunked(sorted(set(kr_keys)), 500):
        for row in conn.execute(select(*STATE_COLUMNS).where(KrMetricState.kr_key.in_(batch))):
            found.setdefault(row.kr_key, []).append(_from_row(row))
    return found


def save_states(conn: Connection, states: Sequence[MetricState]) -> None:
    """Upsert each state."""
    rows = [
        {
            "kr_key": s.kr_key,
            "mapping_id": s.mapping_id,
            "status": s.status,
            "last_value": s.last_value,
            "last_rows": s.last_rows,
            "last_success_at": s.last_success_at,
            "fetched_at": s.fetched_at,
            "message": s.message,
            "held_value": s.held_value,
            "run_id": s.run_id,
        }
        for s in states
    ]
    for batch in chunked(rows):
        upsert(conn, KrMetricState.__table__, batch, key=["kr_key", "mapping_id"])  # type: ignore[arg-type]


STATE_COLUMNS = tuple(KrMetricState.__table__.columns)
"""Read as plain rows: on a Core connection `select(KrMetricState).scalars()` gives the first column."""


def _from_row(row: Any) -> MetricState:
    return MetricState(
        kr_key=row.kr_key,
        mapping_id=row.mapping_id,
        status=row.status,
        last_value=row.last_value,
        last_rows=row.last_rows,
        last_success_at=row.last_success_at,
        fetched_at=row.fetched_at,
        message=row.message,
        held_value=row.held_value,
        run_id=row.run_id,
    )
