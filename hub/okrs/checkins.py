"""Record check-ins: the one way a key result's value changes, by hand or from a connector.

One check-in or ten thousand take the same three steps, so the rules live in one place:

1. `lock_for_check_in` loads the key results (with their cycles) inside the write transaction
   and locks them against imports and other check-ins;
2. `decide_check_in` lets `okr_core.record_check_in` decide, in memory (a refusal raises
   okr_core's error with the reason, and nothing is written), and returns the rows to store;
3. `write_check_ins` appends the check-ins to the history and stores each key result's new
   state, current value and last check-in time, a few bulk statements for any number.

`record_check_in` runs the three for one check-in (the CLI's `okrhub okrs checkin`); the
automated key-result updates (Salesforce, Jira, GA4) run them once per run for every key result.

Example:
    ```python
    stored = record_check_in(
        engine,
        "q4-sales-pipeline",
        2_650_000,
        author=ConnectorAuthor(connection="salesforce", mapping="pipeline_q4", run_id="412",
                               query="SELECT SUM(Amount) FROM Opportunity WHERE ...",
                               raw_result='{"totalSize": 1, "records": [{"expr0": 2650000.0}]}'),
        fetched_at=fetched,
    )
    stored.key_result.current      # 2650000.0

    with begin_write(engine) as conn:             # many at once
        targets = lock_for_check_in(conn, keys)
        writes = [decide_check_in(targets[k], v, author=author, at=now) for k, v in values.items()]
        write_check_ins(conn, writes)
    ```
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from hub.okrs.records import Author, CheckInRecord, StoredCheckIn, domain_author
from hub.okrs.repository import lock_okrs
from hub.okrs.rows import check_in_values, cycle_from_row, key_result_from_row
from hub.store.bulk import chunked
from hub.store.engine import begin_write
from hub.store.models import (
    OkrCheckIn,
    OkrCycle,
    OkrKeyResult,
    OkrKeyResultOwner,
    OkrObjective,
    Person,
    utcnow,
)
from okr_core.checkins import CheckIn, PersonAuthor
from okr_core.checkins import record_check_in as apply_check_in
from okr_core.cycles import Cycle
from okr_core.errors import UnknownReference
from okr_core.key_results import KeyResult

logger = logging.getLogger(__name__)

LOCK_CHUNK = 500
"""Key results loaded (and locked) per select."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckInTarget:
    """A key result as a check-in finds it: its row id, its current state and its cycle."""

    row_id: int
    key_result: KeyResult
    cycle: Cycle

    def after(self, write: CheckInWrite) -> CheckInTarget:
        """This key result as `write` left it, for a later check-in in the same transaction."""
        return replace(self, key_result=write.after)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckInWrite:
    """A check-in okr_core accepted, ready to store: the key result before and after, and the row.

    `values` are the `okr_check_ins` columns; `after` holds the key result's new state.
    """

    target: CheckInTarget
    check_in: CheckIn
    author: Author
    after: KeyResult
    values: dict[str, Any]

    @property
    def before(self) -> KeyResult:
        """The key result before this check-in."""
        return self.target.key_result


def lock_for_check_in(conn: Connection, keys: Collection[str]) -> dict[str, CheckInTarget]:
    """The key results named by `keys` that exist, each with its cycle, read in `conn`'s transaction.

    They stay locked until the transaction ends: imports wait (PostgreSQL's shared advisory
    lock) and so do other check-ins on the same key results (row locks, taken in key order).
    SQLite needs neither: `begin_write` holds the database's write lock. A few selects per 500
    key results, whatever their number.
    """
    lock_okrs(conn, exclusive=False)
    cycle_rows = conn.execute(select(OkrCycle)).all()
    cycle_keys = {row.id: row.key for row in cycle_rows}
    cycles = {row.id: cycle_from_row(row, cycle_keys.get(row.parent_id)) for row in cycle_rows}
    found: dict[str, CheckInTarget] = {}
    for batch in chunked(sorted(set(keys)), LOCK_CHUNK):
        query = (
            select(*OkrKeyResult.__table__.c, OkrObjective.key.label("objective_key"))
            .join(OkrObjective, OkrObjective.id == OkrKeyResult.objective_id)
            .where(OkrKeyResult.key.in_(batch))
            .order_by(OkrKeyResult.key)
            .with_for_update(of=OkrKeyResult.__table__)
        )
        rows = conn.execute(query).all()
        owners: dict[int, list[str]] = defaultdict(list)
        owner_rows = conn.execute(
            select(OkrKeyResultOwner.key_result_id, OkrKeyResultOwner.employee_id)
            .where(OkrKeyResultOwner.key_result_id.in_([row.id for row in rows]))
            .order_by(OkrKeyResultOwner.key_result_id, OkrKeyResultOwner.position)
        )
        for kr_id, employee_id in owner_rows:
            owners[kr_id].append(employee_id)
        for row in rows:
            cycle = cycles[row.cycle_id]
            found[row.key] = CheckInTarget(
                row_id=row.id,
                key_result=key_result_from_row(row, row.objective_key, cycle.id, owners.get(row.id, ())),
                cycle=cycle,
            )
    return found


def decide_check_in(
    target: CheckInTarget,
    value: float,
    *,
    author: Author,
    at: datetime,
    note: str | None = None,
    confidence: int | None = None,
    fetched_at: datetime | None = None,
    recorded_at: datetime,
) -> CheckInWrite:
    """Apply okr_core's check-in rules to `target` in memory; the rows to store if they accept it.

    Pure: reads and writes nothing. `at` is converted to UTC; the check-in's id is
    `<key>@<at>`, as the single and the bulk path both store it.

    Raises:
        CheckInRefused: The cycle is not in progress, the key result is closed, its hard
            deadline has passed, or the check-in predates the cycle; the reason says which.
        InvalidValue: The value or confidence is out of range (a binary key result takes 0 or 1).
    """
    moment = at.astimezone(UTC) if at.utcoffset() is not None else at
    key = target.key_result.id
    check_in = CheckIn(
        id=f"{key}@{moment.isoformat()}",
        key_result_id=key,
        value=value,
        at=moment,
        author=domain_author(author),
        note=note or "",
        confidence=confidence,
    )
    after = apply_check_in(target.key_result, check_in, cycle=target.cycle)
    values = check_in_values(
        key_result_id=target.row_id,
        value=value,
        at=moment,
        author=author,
        note=check_in.note,
        confidence=confidence,
        recorded_at=recorded_at,
        fetched_at=fetched_at,
    )
    return CheckInWrite(target=target, check_in=check_in, author=author, after=after, values=values)


_KEY_RESULT_STATE = (
    update(OkrKeyResult)
    .where(OkrKeyResult.id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"),
        current_value=bindparam("b_current"),
        last_check_in_at=bindparam("b_last"),
        updated_at=bindparam("b_updated"),
    )
)


def write_check_ins(conn: Connection, writes: Sequence[CheckInWrite], *, updated_at: datetime) -> None:
    """Append the check-ins and store each key result's new state: a few bulk statements.

    The caller holds the lock `lock_for_check_in` took. A key result checked in twice ends in
    the state of its last write.
    """
    for batch in chunked([write.values for write in writes]):
        conn.execute(insert(OkrCheckIn), batch)
    _store_states(conn, writes, updated_at=updated_at)


def _store_states(conn: Connection, writes: Sequence[CheckInWrite], *, updated_at: datetime) -> None:
    last = {write.target.row_id: write.after for write in writes}
    states = [
        {
            "b_id": row_id,
            "b_state": after.state.value,
            "b_current": after.current,
            "b_last": after.last_check_in_at,
            "b_updated": updated_at,
        }
        for row_id, after in last.items()
    ]
    for batch in chunked(states):
        conn.execute(_KEY_RESULT_STATE, batch)


def record_check_in(
    target: Engine | Connection,
    key_result_key: str,
    value: float,
    *,
    author: Author,
    note: str | None = None,
    confidence: int | None = None,
    at: datetime | None = None,
    fetched_at: datetime | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> StoredCheckIn:
    """Check in `value` on the key result `key_result_key` and store it with its provenance.

    Args:
        target: An engine (a write transaction is opened and committed here), or a connection
            (its open transaction is joined, or one is begun and committed).
        key_result_key: The key result's external key.
        value: The new value (0 or 1 for binary key results).
        author: A person (`PersonAuthor`, who must be in the people table), a connector
            (`ConnectorAuthor` with connection, mapping, run id, rendered query and raw result)
            or `AdminAuthor` (a manual check-in nobody was named for).
        note: What happened.
        confidence: 0 (no chance) to 10 (certain) that the key result will be met.
        at: When the value held (aware); now when None.
        fetched_at: When a connector read the value; `at` when None. Ignored for people.
        clock: The current time (tests pin it).

    Returns:
        The stored check-in with the key result before and after it.

    Raises:
        UnknownReference: No key result has this key, or the person author is not in the people table.
        CheckInRefused: The cycle is not in progress, the key result is closed, its hard
            deadline has passed, or the check-in predates the cycle; the reason says which.
        InvalidValue: The value or confidence is out of range (a binary key result takes 0 or 1).
    """
    now = clock()
    with _transaction(target) as conn:
        found = lock_for_check_in(conn, [key_result_key]).get(key_result_key)
        if found is None:
            raise UnknownReference("check-in", "key_result", key_result_key)
        if isinstance(author, PersonAuthor) and (
            conn.scalar(select(Person.id).where(Person.employee_id == author.person_id)) is None
        ):
            raise UnknownReference("check-in", "author", author.person_id)
        write = decide_check_in(
            found,
            value,
            author=author,
            at=now if at is None else at,
            note=note,
            confidence=confidence,
            fetched_at=fetched_at,
            recorded_at=now,
        )
        check_in_id = conn.execute(insert(OkrCheckIn).returning(OkrCheckIn.id), write.values).scalar_one()
        _store_states(conn, [write], updated_at=now)
    before, after = write.before, write.after
    logger.info("check-in on %s: %s (%s -> %s)", key_result_key, value, before.state.value, after.state.value)
    record = CheckInRecord(
        id=check_in_id,
        key_result_key=key_result_key,
        value=float(value),
        at=write.check_in.at,
        author=author,
        note=write.check_in.note,
        confidence=confidence,
        recorded_at=now,
        fetched_at=write.values["fetched_at"],
    )
    return StoredCheckIn(record=record, key_result=after, previous=before)


@contextmanager
def _transaction(target: Engine | Connection) -> Iterator[Connection]:
    if isinstance(target, Engine):
        with begin_write(target) as conn:
            yield conn
    elif target.in_transaction():
        yield target
    else:
        with target.begin():
            yield target
