"""The outbox table: every state change of a write-back, each in its own committed transaction.

The order of commits is what makes a crash harmless: a row is `sending` (committed) before the
HCM is called, and becomes `confirmed`, `rejected` or `sent` (committed) after it answered. A
row found `sending` or `sent` later is settled by reading the HCM back, never by resending.

Example:
    ```python
    rows = load_rows(engine, review_cycle="acme-2026", connection="workday")
    mark_sending(engine, [p.desired for p in sends], connection="workday", run_id=7, now=now)
    ```
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from hub.errors import StoreError
from hub.jobs.writeback.plan import DesiredRating, OutboxState
from hub.ratings_contract import WriteOutcome
from hub.store.engine import begin_write
from hub.store.models import Outbox, OutboxStatus

UNSETTLED = (OutboxStatus.SENDING.value, OutboxStatus.SENT.value)
"""Statuses that mean "the HCM may or may not hold it": settled by reading back."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxRow:
    """One outbox row as the CLI and the job read it."""

    idempotency_key: str
    employee_id: str
    review_cycle: str
    field: str
    connection: str
    value: str
    source_value: str | None
    status: str
    attempts: int
    last_error: str | None
    confirmed_value: str | None
    hcm_reference: str | None
    cancel_reason: str | None
    last_run_id: int | None
    updated_at: datetime

    def state(self) -> OutboxState:
        """The part planning needs."""
        return OutboxState(status=self.status, value=self.value, confirmed_value=self.confirmed_value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "key": self.idempotency_key,
            "employee_id": self.employee_id,
            "review_cycle": self.review_cycle,
            "field": self.field,
            "connection": self.connection,
            "value": self.value,
            "source_value": self.source_value,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "confirmed_value": self.confirmed_value,
            "hcm_reference": self.hcm_reference,
            "cancel_reason": self.cancel_reason,
            "last_run_id": self.last_run_id,
            "updated_at": self.updated_at.isoformat(),
        }


_COLUMNS = [getattr(Outbox, name) for name in OutboxRow.__dataclass_fields__]


def load_rows(
    engine: Engine,
    *,
    review_cycle: str | None = None,
    connection: str | None = None,
    status: str | None = None,
    key: str | None = None,
) -> dict[str, OutboxRow]:
    """Outbox rows by key, optionally of one cycle, connection, status or key."""
    query = select(*_COLUMNS).order_by(Outbox.idempotency_key)
    if key is not None:
        query = query.where(Outbox.idempotency_key == key)
    if review_cycle is not None:
        query = query.where(Outbox.review_cycle == review_cycle)
    if connection is not None:
        query = query.where(Outbox.connection == connection)
    if status is not None:
        query = query.where(Outbox.status == status)
    with engine.connect() as conn:
        return {row.idempotency_key: OutboxRow(**row._mapping) for row in conn.execute(query)}


def mark_sending(
    engine: Engine,
    ratings: Sequence[DesiredRating],
    *,
    existing: Mapping[str, OutboxRow],
    connection: str,
    run_id: int,
    now: datetime,
) -> None:
    """Insert or update each rating's row as `sending` (attempts + 1) and commit, before any send."""
    with begin_write(engine) as conn:
        fresh = [r for r in ratings if r.key not in existing]
        if fresh:
            conn.execute(
                insert(Outbox),
                [
                    {
                        "idempotency_key": r.key,
                        "employee_id": r.employee_id,
                        "review_cycle": r.review_cycle,
                        "field": r.field,
                        "connection": connection,
                        "value": r.value,
                        "source_value": r.source_value,
                        "status": OutboxStatus.SENDING.value,
                        "attempts": 1,
                        "created_run_id": run_id,
                        "last_run_id": run_id,
                        "created_at": now,
                        "updated_at": now,
                        "sent_at": now,
                    }
                    for r in fresh
                ],
            )
        for r in ratings:
            if r.key in existing:
                conn.execute(
                    update(Outbox)
                    .where(Outbox.idempotency_key == r.key)
                    .values(
                        value=r.value,
                        source_value=r.source_value,
                        connection=connection,
                        status=OutboxStatus.SENDING.value,
                        attempts=Outbox.attempts + 1,
                        cancel_reason=None,
                        last_run_id=run_id,
                        updated_at=now,
                        sent_at=now,
                    )
                )


def record_outcomes(
    engine: Engine, outcomes: Iterable[tuple[WriteOutcome, str]], *, run_id: int, now: datetime
) -> None:
    """Record what the HCM said (outcome, value sent) and commit.

    `confirmed` sets `confirmed_value`; `rejected` keeps the HCM's words in `last_error`; `retry`
    (no clear answer) leaves the row `sent`, to be settled by reading back.
    """
    with begin_write(engine) as conn:
        for outcome, value in outcomes:
            values: dict[str, Any] = {"last_run_id": run_id, "updated_at": now}
            if outcome.status == "confirmed":
                values |= {
                    "status": OutboxStatus.CONFIRMED.value,
                    "confirmed_value": value,
                    "confirmed_at": now,
                    "last_error": None,
                }
                if outcome.hcm_reference:
                    values["hcm_reference"] = outcome.hcm_reference
            elif outcome.status == "rejected":
                values |= {"status": OutboxStatus.REJECTED.value, "last_error": outcome.detail}
            else:
                values |= {"status": OutboxStatus.SENT.value, "last_error": outcome.detail}
            conn.execute(
                update(Outbox).where(Outbox.idempotency_key == outcome.idempotency_key).values(**values)
            )


def settle(
    engine: Engine,
    settled: Iterable[tuple[str, str | None, str | None]],
    *,
    run_id: int,
    now: datetime,
) -> None:
    """Settle unsettled rows from a read-back: `(key, value the HCM holds or None, hcm reference)`.

    A row whose value the HCM holds is `confirmed` without resending; any other goes back to
    `pending`, to be sent by this run.
    """
    with begin_write(engine) as conn:
        for key, held, reference in settled:
            row = conn.execute(select(Outbox.value, Outbox.status).where(Outbox.idempotency_key == key)).one()
            if row.status not in UNSETTLED:
                continue
            if held is not None and held == row.value:
                values: dict[str, Any] = {
                    "status": OutboxStatus.CONFIRMED.value,
                    "confirmed_value": held,
                    "confirmed_at": now,
                    "last_error": None,
                }
                if reference:
                    values["hcm_reference"] = reference
            else:
                values = {"status": OutboxStatus.PENDING.value}
            conn.execute(
                update(Outbox)
                .where(Outbox.idempotency_key == key)
                .values(last_run_id=run_id, updated_at=now, **values)
            )


def cancel(engine: Engine, key: str, *, reason: str, now: datetime) -> OutboxRow:
    """Cancel one row (it is never sent again for this value); confirmed rows cannot be cancelled.

    Raises:
        StoreError: No such key, or the row is confirmed already.
    """
    with begin_write(engine) as conn:
        status = conn.execute(select(Outbox.status).where(Outbox.idempotency_key == key)).scalar_one_or_none()
        if status is None:
            raise StoreError(f"no outbox row with key `{key}`; list them with `okrhub writeback outbox`")
        if status == OutboxStatus.CONFIRMED.value:
            raise StoreError(f"outbox row `{key}` is confirmed: the HCM holds it; there is nothing to cancel")
        conn.execute(
            update(Outbox)
            .where(Outbox.idempotency_key == key)
            .values(status=OutboxStatus.CANCELLED.value, cancel_reason=reason, updated_at=now)
        )
    return load_rows(engine, key=key)[key]
