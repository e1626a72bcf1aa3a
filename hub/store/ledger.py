"""The run ledger: one row per job run, what it did, and the records it had to skip.

A run is written twice: `start` commits a `running` row at once (so a crash still leaves a
trace), and `finish` records the outcome in its own transaction, whatever happened to the job's.
`recover_abandoned` closes runs whose process died before `finish`.

Example:
    ```python
    ledger = RunLedger(engine)
    run_id = ledger.start(job="org_sync", connection="bamboohr_main")
    try:
        counts = sync(...)
    except OkrHubError as exc:
        ledger.finish(run_id, status=RunStatus.FAILED, counts={}, api_calls=stats.calls,
                      retries=stats.retries, error=exc.attrs(), summary=str(exc))
        raise
    ledger.finish(run_id, status=RunStatus.SUCCEEDED, counts=counts, api_calls=stats.calls,
                  retries=stats.retries, rejections=rejected, summary="created 12 · updated 3")
    ```
"""

from __future__ import annotations

import enum
import json
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hub.errors import RecordRejected, StoreError
from hub.store.engine import begin_write, mask_url
from hub.store.models import Run, RunRejection, RunStatus, RunTrigger, utcnow

logger = logging.getLogger(__name__)

ABANDONED = "RunAbandoned"
"""`error["type"]` of a run closed by `recover_abandoned`."""

_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record a run skipped: its key in the source, why, and any structured detail.

    Example:
        ```python
        except RecordRejected as exc:
            rejected.append(Rejection.from_error(exc, detail={"row": 17}))
        ```
    """

    record_key: str
    reason: str
    detail: dict[str, Any] | None = None

    @classmethod
    def from_error(cls, error: RecordRejected, *, detail: dict[str, Any] | None = None) -> Rejection:
        """The rejection a `RecordRejected` describes."""
        return cls(record_key=error.record_key, reason=error.reason, detail=detail)

    def to_dict(self) -> dict[str, Any]:
        """The rejection as JSON-ready data."""
        return {"record_key": self.record_key, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """One run as listed: what ran, how it ended, and what it counted."""

    id: int
    job: str
    connection: str | None
    trigger: str
    dry_run: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    counts: dict[str, int]
    api_calls: int
    retries: int
    summary: str | None

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON-ready data (ISO 8601 datetimes in UTC)."""
        return {
            "id": self.id,
            "job": self.job,
            "connection": self.connection,
            "trigger": self.trigger,
            "dry_run": self.dry_run,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_ms": self.duration_ms,
            "counts": dict(self.counts),
            "api_calls": self.api_calls,
            "retries": self.retries,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDetail(RunSummary):
    """One run in full: the summary plus the error, where it ran, and its rejected records.

    `rejections` may be cut short (see `RunLedger.get`); `rejection_count` is the full number.
    """

    error: dict[str, Any] | None
    host: str | None
    pid: int | None
    rejections: tuple[Rejection, ...] = field(default=())
    rejection_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The run, its error and its rejections as JSON-ready data."""
        return {
            **RunSummary.to_dict(self),
            "error": self.error,
            "host": self.host,
            "pid": self.pid,
            "rejection_count": self.rejection_count,
            "rejections": [rejection.to_dict() for rejection in self.rejections],
        }


class RunLedger:
    """Records job runs in the store and reads them back.

    Every method runs in its own short transaction on `engine`, apart from any transaction the
    job itself holds, so a run that rolls back still leaves its ledger row.

    Example:
        ```python
        ledger = RunLedger(engine)
        for run in ledger.recent(limit=5, job="org_sync"):
            print(run.id, run.status, run.counts)
        ```
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        """Build a ledger on `engine`; `clock` returns the aware current time (tests move it)."""
        self._engine = engine
        self._clock = clock

    def start(
        self, *, job: str, connection: str | None, dry_run: bool = False, trigger: RunTrigger | str = "cli"
    ) -> int:
        """Record that a run began, commit it, and return its id.

        Raises:
            StoreError: The trigger is unknown or the store cannot be written.
        """
        trigger_value = _parse(RunTrigger, trigger, "trigger")
        with self._write() as conn:
            run_id = conn.execute(
                insert(Run)
                .values(
                    job=job,
                    connection=connection,
                    trigger=trigger_value,
                    dry_run=dry_run,
                    status=RunStatus.RUNNING.value,
                    started_at=self._clock(),
                    counts={},
                    host=socket.gethostname(),
                    pid=os.getpid(),
                )
                .returning(Run.id)
            ).scalar_one()
        logger.info("run %d started: %s on %s", run_id, job, connection or "-", extra={"run_id": run_id})
        return run_id

    def finish(
        self,
        run_id: int,
        *,
        status: RunStatus | str,
        counts: Mapping[str, int],
        api_calls: int,
        retries: int,
        error: Mapping[str, Any] | None = None,
        summary: str | None = None,
        rejections: Iterable[Rejection] = (),
    ) -> RunSummary:
        """Record how a run ended, with its rejected records, in one transaction of its own.

        A run closed by `recover_abandoned` whose process was in fact alive may still finish; the
        real outcome replaces the guess.

        Args:
            run_id: The id `start` returned.
            status: How it ended: succeeded, failed, guarded or skipped.
            counts: What the run did, by name (`created`, `updated`, ...).
            api_calls: Vendor calls made, retries included.
            retries: Calls that were retries.
            error: The error's `attrs()` when the run failed or was guarded.
            summary: One line for humans.
            rejections: Records the run skipped.

        Returns:
            The finished run.

        Raises:
            StoreError: No such run, it already finished, the status is not a final one, or the
                store cannot be written.
        """
        final = _parse(RunStatus, status, "status")
        if final == RunStatus.RUNNING.value:
            raise StoreError(f"run {run_id}: `running` is not how a run ends; pass succeeded, failed, ...")
        now = self._clock()
        with self._write() as conn:
            row = conn.execute(
                select(Run.status, Run.started_at, Run.error).where(Run.id == run_id).with_for_update()
            ).one_or_none()
            if row is None:
                raise StoreError(f"no run with id {run_id}")
            if row.status != RunStatus.RUNNING.value:
                if not _abandoned(row.error):
                    raise StoreError(
                        f"run {run_id} already finished as {row.status}; finish() is called once per run"
                    )
                logger.warning(
                    "run %d was marked abandoned but its process finished it as %s",
                    run_id,
                    final,
                    extra={"run_id": run_id},
                )
            conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(
                    status=final,
                    finished_at=now,
                    duration_ms=_duration_ms(row.started_at, now),
                    counts={str(name): int(value) for name, value in counts.items()},
                    api_calls=api_calls,
                    retries=retries,
                    error=_json_safe(dict(error)) if error is not None else None,
                    summary=summary,
                )
            )
            self._insert_rejections(conn, run_id, rejections)
        logger.info("run %d finished: %s", run_id, final, extra={"run_id": run_id})
        return self._summary(run_id)

    def add_rejections(self, run_id: int, rejections: Iterable[Rejection]) -> int:
        """Record skipped records of a run now (a long run need not hold them all until `finish`).

        Returns:
            How many were recorded.

        Raises:
            StoreError: No such run, or the store cannot be written.
        """
        with self._write() as conn:
            if conn.execute(select(Run.id).where(Run.id == run_id)).first() is None:
                raise StoreError(f"no run with id {run_id}")
            return self._insert_rejections(conn, run_id, rejections)

    def recent(
        self, *, limit: int = 20, job: str | None = None, status: RunStatus | str | None = None
    ) -> list[RunSummary]:
        """The latest runs, newest first, optionally of one job or with one status."""
        query = select(Run).order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)
        if job is not None:
            query = query.where(Run.job == job)
        if status is not None:
            query = query.where(Run.status == _parse(RunStatus, status, "status"))
        with self._read() as session:
            return [_to_summary(run) for run in session.scalars(query)]

    def get(self, run_id: int, *, rejections_limit: int | None = None) -> RunDetail:
        """One run in full, with up to `rejections_limit` rejected records (all when None).

        Raises:
            StoreError: No run has that id.
        """
        with self._read() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise StoreError(f"no run with id {run_id}")
            count = session.scalar(
                select(func.count()).select_from(RunRejection).where(RunRejection.run_id == run_id)
            )
            query = select(RunRejection).where(RunRejection.run_id == run_id).order_by(RunRejection.id)
            if rejections_limit is not None:
                query = query.limit(rejections_limit)
            rejected = tuple(
                Rejection(record_key=r.record_key, reason=r.reason, detail=r.detail)
                for r in session.scalars(query)
            )
            return RunDetail(
                **_summary_fields(run),
                error=run.error,
                host=run.host,
                pid=run.pid,
                rejections=rejected,
                rejection_count=int(count or 0),
            )

    def last_success(
        self, job: str, connection: str | None = None, *, include_dry_runs: bool = False
    ) -> RunSummary | None:
        """The latest succeeded run of `job` (on `connection`, when given), or None.

        Dry runs changed nothing, so they do not count unless `include_dry_runs` is set.
        """
        query = (
            select(Run)
            .where(Run.job == job, Run.status == RunStatus.SUCCEEDED.value)
            .order_by(Run.started_at.desc(), Run.id.desc())
            .limit(1)
        )
        if connection is not None:
            query = query.where(Run.connection == connection)
        if not include_dry_runs:
            query = query.where(Run.dry_run.is_(False))
        with self._read() as session:
            run = session.scalars(query).first()
            return _to_summary(run) if run is not None else None

    def recover_abandoned(self, older_than: timedelta) -> int:
        """Mark runs still `running` after `older_than` as failed: their process died.

        Call it when a worker or the scheduler starts, with a margin above the longest run.

        Returns:
            How many runs were closed.
        """
        now = self._clock()
        with self._write() as conn:
            stale = conn.execute(
                select(Run.id, Run.job, Run.started_at, Run.host, Run.pid)
                .where(Run.status == RunStatus.RUNNING.value, Run.started_at < now - older_than)
                .with_for_update()
            ).all()
            for run in stale:
                where = f"pid {run.pid} on host {run.host}" if run.pid is not None else "unknown process"
                message = (
                    f"run {run.id} ({run.job}) was still running {older_than} after it started: the "
                    f"process that ran it ({where}) died or was killed before recording an outcome; "
                    f"check that host's logs, then run the job again"
                )
                _close_abandoned(conn, run.id, run.started_at, now, message, host=run.host, pid=run.pid)
        return len(stale)

    def close_runs_of(self, *, job: str, host: str, pid: int, reason: str) -> list[int]:
        """Mark `job`'s runs still `running` in process `pid` on `host` as failed: that process died.

        The schedulers call it when they take over a job whose previous holder's lease lapsed,
        so the dead run shows as abandoned at once instead of after `recover_abandoned`'s margin.

        Returns:
            The ids of the runs closed.
        """
        now = self._clock()
        with self._write() as conn:
            stale = conn.execute(
                select(Run.id, Run.started_at)
                .where(
                    Run.status == RunStatus.RUNNING.value, Run.job == job, Run.host == host, Run.pid == pid
                )
                .with_for_update()
            ).all()
            for run in stale:
                message = f"run {run.id} ({job}) was abandoned: {reason}"
                _close_abandoned(conn, run.id, run.started_at, now, message, host=host, pid=pid)
        return [run.id for run in stale]

    def _summary(self, run_id: int) -> RunSummary:
        with self._read() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise StoreError(f"no run with id {run_id}")
            return _to_summary(run)

    def _insert_rejections(self, conn: Connection, run_id: int, rejections: Iterable[Rejection]) -> int:
        total = 0
        items = iter(rejections)
        while chunk := list(islice(items, _BATCH)):
            conn.execute(
                insert(RunRejection),
                [
                    {
                        "run_id": run_id,
                        "record_key": r.record_key,
                        "reason": r.reason,
                        "detail": _json_safe(r.detail) if r.detail is not None else None,
                    }
                    for r in chunk
                ],
            )
            total += len(chunk)
        return total

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with begin_write(self._engine) as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise _store_error(self._engine, exc) from exc

    @contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with Session(self._engine) as session:
                yield session
        except SQLAlchemyError as exc:
            raise _store_error(self._engine, exc) from exc


def _close_abandoned(
    conn: Connection,
    run_id: int,
    started_at: datetime,
    now: datetime,
    message: str,
    *,
    host: str | None,
    pid: int | None,
) -> None:
    conn.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(
            status=RunStatus.FAILED.value,
            finished_at=now,
            duration_ms=_duration_ms(started_at, now),
            error={"type": ABANDONED, "message": message, "host": host, "pid": pid},
            summary="abandoned: the process died before the run finished",
        )
    )
    logger.warning("%s", message, extra={"run_id": run_id})


def _store_error(engine: Engine, exc: SQLAlchemyError) -> StoreError:
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    return StoreError(
        f"the run ledger at `{mask_url(engine.url)}` failed: {reason}; check that the store is "
        f"reachable and at the current schema (`okrhub db current`)"
    )


def _parse(kind: type[enum.StrEnum], value: str, what: str) -> str:
    try:
        return kind(value).value
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise StoreError(f"unknown run {what} {value!r}; use one of: {allowed}") from None


def _abandoned(error: Mapping[str, Any] | None) -> bool:
    return error is not None and error.get("type") == ABANDONED


def _duration_ms(started_at: datetime, finished_at: datetime) -> int:
    return max(0, round((finished_at - started_at).total_seconds() * 1000))


def _json_safe(value: dict[str, Any]) -> dict[str, Any]:
    # Error attrs may hold paths, enums or dates; the ledger keeps their text.
    safe: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return safe


def _summary_fields(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "job": run.job,
        "connection": run.connection,
        "trigger": run.trigger,
        "dry_run": run.dry_run,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_ms": run.duration_ms,
        "counts": dict(run.counts or {}),
        "api_calls": run.api_calls,
        "retries": run.retries,
        "summary": run.summary,
    }


def _to_summary(run: Run) -> RunSummary:
    return RunSummary(**_summary_fields(run))
