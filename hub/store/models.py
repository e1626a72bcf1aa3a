"""The store's tables, as SQLAlchemy declarative models.

Every table is created by the Alembic migrations in `hub/store/migrations/`; these models are
what the code reads and writes, and a test checks that both agree on SQLite and PostgreSQL.

Types are portable: datetimes are timezone-aware and stored as UTC (`UTCDateTime`), JSON is
`JSON` (JSONB on PostgreSQL), and integer primary keys are `BIGINT` on PostgreSQL and
`INTEGER` on SQLite (where only `INTEGER PRIMARY KEY` autoincrements).

Example:
    ```python
    with Session(engine) as session:
        person = session.scalars(select(Person).where(Person.email_lower == "ana@example.com")).one()
    ```
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names are derived, so migrations can name what they alter on every backend."""


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A `DateTime(timezone=True)` that only takes aware datetimes and always returns UTC.

    SQLite has no timezone type: values are converted to UTC before they are written and read
    back as UTC. PostgreSQL's `timestamptz` returns the session's zone; it is converted too.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes (a silent local-time guess corrupts the ledger) and shift to UTC."""
        if value is None or value.tzinfo is UTC:
            return value
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store; pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the backend handed back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
"""An autoincrementing primary key: `BIGINT` on PostgreSQL, `INTEGER` (the rowid) on SQLite."""

JSONValue = JSON().with_variant(JSONB(), "postgresql")
"""JSON everywhere, JSONB on PostgreSQL (comparable, indexable)."""


class RunStatus(enum.StrEnum):
    """Where a run is: running, or how it ended."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    GUARDED = "guarded"
    SKIPPED = "skipped"


class RunTrigger(enum.StrEnum):
    """What started a run."""

    CLI = "cli"
    SCHEDULE = "schedule"
    WORKER = "worker"


class Base(DeclarativeBase):
    """The one declarative base of the store; its metadata is what Alembic compares against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(member.value) for member in values)})"


class Run(Base):
    """One execution of a job: the run ledger's main row."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_job_started_at", "job", "started_at"),
        CheckConstraint(_in("status", RunStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(64))
    connection: Mapped[str | None] = mapped_column(String(255))
    trigger: Mapped[str] = mapped_column(String(16), default=RunTrigger.CLI.value, server_default="cli")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    counts: Mapped[dict[str, int]] = mapped_column(JSONValue, default=dict, server_default=text("'{}'"))
    api_calls: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    retries: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    summary: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)


class RunRejection(Base):
    """A record a run skipped, and why."""

    __tablename__ = "run_rejections"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    record_key: Mapped[str] = mapped_column(String(512))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)


class Person(Base):
    """A person as last synced from an HCM; `employee_id` (the HCM's id) is the key."""

    __tablename__ = "people"
    __table_args__ = (CheckConstraint("status IN ('active', 'inactive', 'terminated')", name="status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    employee_id: Mapped[str] = mapped_column(String(128), unique=True)
    source_connection: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    email_lower: Mapped[str | None] = mapped_column(String(320), index=True)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))
    department_key: Mapped[str | None] = mapped_column(String(255))
    # No foreign key: a manager may be missing from the source, or arrive later in the stream.
    manager_employee_id: Mapped[str | None] = mapped_column(String(128), index=True)
    cost_centre: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[str | None] = mapped_column(String(255))
    job_level: Mapped[str | None] = mapped_column(String(255))
    hire_date: Mapped[date | None] = mapped_column(Date)
    termination_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    flags: Mapped[list[str]] = mapped_column(JSONValue, default=list, server_default=text("'[]'"))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONValue, default=dict, server_default=text("'{}'"))
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_run_id: Mapped[int | None] = mapped_column(BigInteger)


class Department(Base):
    """A department (Workday: supervisory organization) as last synced."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    parent_key: Mapped[str | None] = mapped_column(String(255))
    cost_centre: Mapped[str | None] = mapped_column(String(255))
    manager_employee_id: Mapped[str | None] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class Identity(Base):
    """A person's id in another system (`salesforce`, `jira`, ...): one per person and system.

    The unique constraint on (system, external_id) is also the lookup index for that pair.
    """

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("system", "external_id"),
        UniqueConstraint("person_id", "system"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("people.id", ondelete="CASCADE"))
    system: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(320))


class SyncCursor(Base):
    """Where the next incremental read of a connection's stream starts."""

    __tablename__ = "sync_cursors"

    connection: Mapped[str] = mapped_column(String(255), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    last_full_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    run_id: Mapped[int | None] = mapped_column(BigInteger)


class StagedPerson(Base):
    """A person read during one org-sync run, staged so the run can diff against `people` in SQL.

    The run fills it, compares, applies, and deletes its rows; rows left behind belong to a run
    that died and may be deleted.
    """

    __tablename__ = "staged_people"
    __table_args__ = (Index("ix_staged_people_run_id_email_lower", "run_id", "email_lower"),)

    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    employee_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    email_lower: Mapped[str | None] = mapped_column(String(320))
    manager_employee_id: Mapped[str | None] = mapped_column(String(128))
    department_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONValue)


# --- OKRs (migration 0002) -------------------------------------------------------------------------
# Rows mirror okr_core's value objects. Every cycle, objective and key result has an external
# `key` (what import files and the CLI name it by) besides its integer id; okr_core sees the keys
# as its ids. The state columns take okr_core's enum values (kept literal here and in the
# migration, so the schema does not move when an enum gains a member by accident).

_CYCLE_KINDS = "kind IN ('quarterly', 'semi_annual', 'annual')"
_STATES = "state IN ('draft', 'in_progress', 'closed')"
_CADENCES = "cadence IN ('daily', 'weekly', 'biweekly', 'monthly', 'quarterly')"


class OkrCycle(Base):
    """A cycle (time box) of OKRs; `parent_id` nests a quarter under its year."""

    __tablename__ = "okr_cycles"
    __table_args__ = (
        CheckConstraint(_CYCLE_KINDS, name="kind"),
        CheckConstraint(_STATES, name="state"),
        CheckConstraint(_CADENCES, name="cadence"),
        CheckConstraint("end_date >= start_date", name="dates"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("okr_cycles.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    cadence: Mapped[str] = mapped_column(String(16), default="weekly", server_default="weekly")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class OkrObjective(Base):
    """An objective in a cycle, owned by a person (employee id) or a department/team (department key).

    The owner has no foreign key: it is a person or a department, and people are never deleted
    (org sync deactivates them); import checks the owner exists.
    """

    __tablename__ = "okr_objectives"
    __table_args__ = (
        CheckConstraint(
            "level IN ('company', 'business_unit', 'department', 'team', 'individual')", name="level"
        ),
        CheckConstraint("kind IN ('committed', 'aspirational', 'learning')", name="kind"),
        CheckConstraint("owner_kind IN ('person', 'department', 'team')", name="owner_kind"),
        CheckConstraint("progress_source IN ('key_results', 'children', 'both')", name="progress_source"),
        Index("ix_okr_objectives_owner", "owner_kind", "owner_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    cycle_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("okr_cycles.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default="committed", server_default="committed")
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("okr_objectives.id"), index=True)
    progress_source: Mapped[str] = mapped_column(
        String(16), default="key_results", server_default="key_results"
    )
    target_unit: Mapped[str | None] = mapped_column(String(64))
    target_value: Mapped[float | None] = mapped_column(Double)
    target_auto: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    target_start: Mapped[float | None] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class OkrKeyResult(Base):
    """A key result: its definition, and its state and current value as the latest check-in left them."""

    __tablename__ = "okr_key_results"
    __table_args__ = (
        CheckConstraint("measurement IN ('numeric', 'percentage', 'currency', 'binary')", name="measurement"),
        CheckConstraint(
            "progress_type IN ('increase_to', 'decrease_to', 'stay_above', 'stay_below', 'achieved_or_not')",
            name="progress_type",
        ),
        CheckConstraint(_STATES, name="state"),
        CheckConstraint(f"cadence IS NULL OR {_CADENCES}", name="cadence"),
        CheckConstraint("weight IS NULL OR weight > 0", name="weight"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    objective_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("okr_objectives.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("okr_cycles.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    measurement: Mapped[str] = mapped_column(String(16), default="numeric", server_default="numeric")
    progress_type: Mapped[str] = mapped_column(
        String(16), default="increase_to", server_default="increase_to"
    )
    unit: Mapped[str] = mapped_column(String(64), default="", server_default="")
    currency: Mapped[str | None] = mapped_column(String(3))
    initial_value: Mapped[float] = mapped_column(Double)
    target_value: Mapped[float] = mapped_column(Double)
    critical_value: Mapped[float | None] = mapped_column(Double)
    range_red_low: Mapped[float | None] = mapped_column(Double)
    range_yellow_low: Mapped[float | None] = mapped_column(Double)
    range_yellow_high: Mapped[float | None] = mapped_column(Double)
    range_red_high: Mapped[float | None] = mapped_column(Double)
    weight: Mapped[float | None] = mapped_column(Double)
    deadline: Mapped[date | None] = mapped_column(Date)
    hard_deadline: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    cadence: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    current_value: Mapped[float | None] = mapped_column(Double)
    last_check_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rolled_over_from: Mapped[str | None] = mapped_column(String(128))
    tags: Mapped[list[str]] = mapped_column(JSONValue, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class OkrKeyResultOwner(Base):
    """A person (employee id) who owns a key result; `position` keeps the order they were listed in."""

    __tablename__ = "okr_key_result_owners"

    key_result_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("okr_key_results.id", ondelete="CASCADE"), primary_key=True
    )
    employee_id: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class OkrCheckIn(Base):
    """One check-in of a key result, kept forever, with who or what made it.

    `author_kind` is `person` (`author_employee_id` set), `admin` (the CLI's default author when no
    person is named) or `connector` (`connection`, `mapping`, `run_id`, `query`, `raw_result` and
    `fetched_at` set). `raw_result` keeps the vendor's JSON verbatim as text: JSONB would reorder
    its keys, and it is evidence. `at` is when the value holds; `recorded_at` when it was stored.
    """

    __tablename__ = "okr_check_ins"
    __table_args__ = (
        CheckConstraint("author_kind IN ('person', 'admin', 'connector')", name="author_kind"),
        CheckConstraint("confidence IS NULL OR (confidence >= 0 AND confidence <= 10)", name="confidence"),
        Index("ix_okr_check_ins_key_result_id_at", "key_result_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key_result_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("okr_key_results.id"))
    value: Mapped[float] = mapped_column(Double)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    confidence: Mapped[int | None] = mapped_column(Integer)
    author_kind: Mapped[str] = mapped_column(String(16))
    author_employee_id: Mapped[str | None] = mapped_column(String(128), index=True)
    connection: Mapped[str | None] = mapped_column(String(255))
    mapping: Mapped[str | None] = mapped_column(String(255))
    run_id: Mapped[str | None] = mapped_column(String(64))
    query: Mapped[str | None] = mapped_column(Text)
    raw_result: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class KrMetricState(Base):
    """What an automated key result last got from one mapping: value, rows, when, and how it went.

    `last_success_at` stops moving while a mapping fails, which is how `okrhub okrs show` marks
    an automated key result stale; a suspect value waits in `held_value` until `--accept`.
    """

    __tablename__ = "kr_metric_state"

    kr_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    mapping_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    last_value: Mapped[float | None] = mapped_column(Double)
    last_rows: Mapped[int | None] = mapped_column(Integer)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message: Mapped[str | None] = mapped_column(Text)
    held_value: Mapped[float | None] = mapped_column(Double)
    run_id: Mapped[int | None] = mapped_column(BigInteger)


# --- Ratings and calibration (migration 0004) -------------------------------------------------------
# Rows mirror okr_core.ratings. A rating keeps the manager's original value beside the current
# (calibrated) one; every calibration is a row of its own, and finalize/reopen are events. The
# scale, levels and guideline are small and always read whole, so they live as JSON on the cycle.


class StoredReviewCycle(Base):
    """A review cycle: scale (`[{value, label}]`), calibration levels, guideline and state."""

    __tablename__ = "review_cycles"
    __table_args__ = (CheckConstraint("state IN ('open', 'finalized')", name="state"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    okr_cycle_key: Mapped[str | None] = mapped_column(String(128))
    scale: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    levels: Mapped[list[str]] = mapped_column(JSONValue)
    guideline: Mapped[dict[str, float] | None] = mapped_column(JSONValue)
    tolerance: Mapped[float] = mapped_column(Double, default=0.1, server_default=text("0.1"))
    state: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalized_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class StoredRating(Base):
    """A person's rating in a review cycle: the manager's original, the current value, the potential."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("review_cycle_id", "employee_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    review_cycle_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("review_cycles.id"))
    employee_id: Mapped[str] = mapped_column(String(128), index=True)
    manager_value: Mapped[int] = mapped_column(Integer)
    current_value: Mapped[int] = mapped_column(Integer)
    potential: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class StoredCalibration(Base):
    """One calibration change, kept forever: previous and new value, level, who, why and when."""

    __tablename__ = "calibration_adjustments"
    __table_args__ = (Index("ix_calibration_adjustments_rating_id_at", "rating_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    rating_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ratings.id"))
    review_cycle_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("review_cycles.id"), index=True)
    employee_id: Mapped[str] = mapped_column(String(128))
    previous_value: Mapped[int] = mapped_column(Integer)
    new_value: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(64))
    by_employee_id: Mapped[str] = mapped_column(String(128))
    rationale: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoredReviewCycleEvent(Base):
    """A finalize or reopen of a review cycle: who, why (required for reopen) and when."""

    __tablename__ = "review_cycle_events"
    __table_args__ = (CheckConstraint("action IN ('finalize', 'reopen')", name="action"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    review_cycle_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("review_cycles.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    by_employee_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxStatus(enum.StrEnum):
    """Where a write-back is: waiting, on the wire, sent but unconfirmed, or settled."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Outbox(Base):
    """One rating to write back to an HCM, keyed by `(employee_id, review_cycle, field)`.

    A row is marked `sending` and committed before the HCM is called, so a crash leaves evidence;
    the next run reads the HCM back to settle every `sending` or `sent` row instead of resending.
    `confirmed_value` is what the HCM was last known to hold: a later run sends only a change.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status", "status"),
        Index("ix_outbox_review_cycle", "review_cycle", "connection"),
        CheckConstraint(_in("status", OutboxStatus), name="status"),
    )

    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(64))
    review_cycle: Mapped[str] = mapped_column(String(128))
    field: Mapped[str] = mapped_column(String(64))
    connection: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(255))
    """The value to send, in the HCM's own scale."""
    source_value: Mapped[str | None] = mapped_column(String(255))
    """Our rating before the scale mapping."""
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    """The HCM's own words about the last failure."""
    confirmed_value: Mapped[str | None] = mapped_column(String(255))
    hcm_reference: Mapped[str | None] = mapped_column(String(255))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_run_id: Mapped[int | None] = mapped_column(BigInteger)
    last_run_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobState(Base):
    """One scheduled job's lease and last outcome, shared by the embedded scheduler and workers.

    The lease (`lease_owner`, `lease_expires_at`) keeps two processes from running the same job
    at once; a holder renews it while it runs, so a holder that died loses it within one lease
    period. `last_run_id` points at the job's latest run in the ledger.
    """

    __tablename__ = "job_state"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_id: Mapped[int | None] = mapped_column(BigInteger)
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_summary: Mapped[str | None] = mapped_column(Text)
