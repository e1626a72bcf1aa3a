"""Record a check-in: the one way a key result's value changes, by hand or from a connector.

`record_check_in` loads the key result and its cycle, lets `okr_core.record_check_in` decide (a
refusal raises okr_core's error with the reason, and nothing is written), then appends the
check-in to the history and stores the key result's new state, current value and last check-in
time, all in one transaction. The CLI's `okrhub okrs checkin` and the automated key-result
updates (Salesforce, Jira, GA4) both come through here.

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
    ```
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from hub.okrs.records import Author, CheckInRecord, StoredCheckIn, domain_author
from hub.okrs.repository import lock_okrs
from hub.okrs.rows import check_in_values, cycle_from_row, key_result_from_row, key_result_values
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
from okr_core.errors import UnknownReference

logger = logging.getLogger(__name__)


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
    moment = now if at is None else at
    if moment.utcoffset() is not None:
        moment = moment.astimezone(UTC)
    with _transaction(target) as conn:
        lock_okrs(conn, exclusive=False)
        row = conn.execute(
            select(
                *OkrKeyResult.__table__.c,
                OkrObjective.key.label("objective_key"),
                OkrCycle.key.label("cycle_key"),
            )
            .join(OkrObjective, OkrObjective.id == OkrKeyResult.objective_id)
            .join(OkrCycle, OkrCycle.id == OkrKeyResult.cycle_id)
            .where(OkrKeyResult.key == key_result_key)
            .with_for_update(of=OkrKeyResult.__table__)
        ).one_or_none()
        if row is None:
            raise UnknownReference("check-in", "key_result", key_result_key)
        if isinstance(author, PersonAuthor) and (
            conn.scalar(select(Person.id).where(Person.employee_id == author.person_id)) is None
        ):
            raise UnknownReference("check-in", "author", author.person_id)
        cycle_row = conn.execute(select(OkrCycle).where(OkrCycle.id == row.cycle_id)).one()
        parent_key = (
            None
            if cycle_row.parent_id is None
            else conn.scalar(select(OkrCycle.key).where(OkrCycle.id == cycle_row.parent_id))
        )
        owners = conn.scalars(
            select(OkrKeyResultOwner.employee_id)
            .where(OkrKeyResultOwner.key_result_id == row.id)
            .order_by(OkrKeyResultOwner.position)
        ).all()
        before = key_result_from_row(row, row.objective_key, row.cycle_key, owners)
        check_in = CheckIn(
            id=f"{key_result_key}@{moment.isoformat()}",
            key_result_id=key_result_key,
            value=value,
            at=moment,
            author=domain_author(author),
            note=note or "",
            confidence=confidence,
        )
        after = apply_check_in(before, check_in, cycle=cycle_from_row(cycle_row, parent_key))
        values = check_in_values(
            key_result_id=row.id,
            value=value,
            at=moment,
            author=author,
            note=check_in.note,
            confidence=confidence,
            recorded_at=now,
            fetched_at=fetched_at,
        )
        check_in_id = conn.execute(insert(OkrCheckIn).returning(OkrCheckIn.id), values).scalar_one()
        state = key_result_values(after)
        conn.execute(
            update(OkrKeyResult)
            .where(OkrKeyResult.id == row.id)
            .values(
                state=state["state"],
                current_value=state["current_value"],
                last_check_in_at=state["last_check_in_at"],
                updated_at=now,
            )
        )
    logger.info("check-in on %s: %s (%s -> %s)", key_result_key, value, before.state.value, after.state.value)
    record = CheckInRecord(
        id=check_in_id,
        key_result_key=key_result_key,
        value=float(value),
        at=moment,
        author=author,
        note=check_in.note,
        confidence=confidence,
        recorded_at=now,
        fetched_at=values["fetched_at"],
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
