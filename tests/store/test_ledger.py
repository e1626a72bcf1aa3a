from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select

from hub.errors import GuardTripped, RecordRejected, StoreError
from hub.store.engine import create_store_engine
from hub.store.ledger import ABANDONED, Rejection, RunLedger
from hub.store.models import Run, RunRejection, RunStatus


class Clock:
    """A settable clock for the ledger."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 7, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(store_engine: Engine, clock: Clock) -> RunLedger:
    return RunLedger(store_engine, clock=clock)


def test_round_trip_with_rejections(ledger: RunLedger, clock: Clock) -> None:
    run_id = ledger.start(job="org_sync", connection="bamboohr_main", dry_run=True, trigger="schedule")

    running = ledger.get(run_id)
    assert running.status == "running"
    assert running.finished_at is None
    assert running.host == socket.gethostname()
    assert running.pid == os.getpid()

    clock.advance(seconds=12, milliseconds=345)
    finished = ledger.finish(
        run_id,
        status=RunStatus.SUCCEEDED,
        counts={"created": 12, "updated": 3},
        api_calls=40,
        retries=2,
        summary="created 12 · updated 3",
        rejections=[
            Rejection("E-1", "no email"),
            Rejection.from_error(RecordRejected("E-2", "manager E-9 unknown"), detail={"row": 7}),
        ],
    )
    assert finished.status == "succeeded"
    assert finished.duration_ms == 12345

    detail = ledger.get(run_id)
    assert detail.job == "org_sync"
    assert detail.connection == "bamboohr_main"
    assert detail.trigger == "schedule"
    assert detail.dry_run is True
    assert detail.counts == {"created": 12, "updated": 3}
    assert (detail.api_calls, detail.retries) == (40, 2)
    assert detail.summary == "created 12 · updated 3"
    assert detail.started_at == datetime(2025, 3, 1, 7, 0, 0, tzinfo=UTC)
    assert detail.finished_at == datetime(2025, 3, 1, 7, 0, 12, 345000, tzinfo=UTC)
    assert detail.finished_at.tzinfo is not None
    assert detail.error is None
    assert detail.rejection_count == 2
    assert detail.rejections == (
        Rejection("E-1", "no email"),
        Rejection("E-2", "manager E-9 unknown", {"row": 7}),
    )

    data = detail.to_dict()
    assert data["started_at"] == "2025-03-01T07:00:00+00:00"
    assert data["finished_at"] == "2025-03-01T07:00:12.345000+00:00"
    assert data["rejections"][1] == {
        "record_key": "E-2",
        "reason": "manager E-9 unknown",
        "detail": {"row": 7},
    }

    assert [run.id for run in ledger.recent()] == [run_id]
    assert ledger.recent()[0] == finished


def test_failed_run_keeps_the_error_attrs(ledger: RunLedger) -> None:
    run_id = ledger.start(job="org_sync", connection="hr")
    error = GuardTripped("would deactivate 40% of people", guard="max_deactivations", observed=0.4, limit=0.1)
    ledger.finish(
        run_id,
        status="guarded",
        counts={},
        api_calls=3,
        retries=0,
        error={**error.attrs(), "config": Path("/etc/okrhub/org.yaml")},
    )
    detail = ledger.get(run_id)
    assert detail.status == "guarded"
    assert detail.error == {
        "type": "GuardTripped",
        "message": "would deactivate 40% of people",
        "guard": "max_deactivations",
        "observed": 0.4,
        "limit": 0.1,
        "config": "/etc/okrhub/org.yaml",
    }


def test_rejections_are_added_in_bulk_and_limited_on_read(ledger: RunLedger, store_engine: Engine) -> None:
    run_id = ledger.start(job="org_sync", connection="hr")
    assert ledger.add_rejections(run_id, (Rejection(f"E-{n}", "bad row") for n in range(2500))) == 2500
    ledger.finish(
        run_id, status="succeeded", counts={}, api_calls=1, retries=0, rejections=[Rejection("late", "x")]
    )
    detail = ledger.get(run_id, rejections_limit=50)
    assert detail.rejection_count == 2501
    assert len(detail.rejections) == 50
    assert detail.rejections[0].record_key == "E-0"
    assert len(ledger.get(run_id).rejections) == 2501

    # Rejections go with their run.
    with store_engine.begin() as conn:
        conn.execute(delete(Run).where(Run.id == run_id))
    with store_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RunRejection)) == 0


def test_recent_filters_and_orders(ledger: RunLedger, clock: Clock) -> None:
    ids = []
    for job, status in [("org_sync", "succeeded"), ("kr_updates", "failed"), ("org_sync", "failed")]:
        run_id = ledger.start(job=job, connection="c")
        ledger.finish(run_id, status=status, counts={}, api_calls=0, retries=0)
        ids.append(run_id)
        clock.advance(minutes=1)
    assert [r.id for r in ledger.recent()] == ids[::-1]
    assert [r.id for r in ledger.recent(limit=2)] == ids[:0:-1]
    assert [r.id for r in ledger.recent(job="org_sync")] == [ids[2], ids[0]]
    assert [r.id for r in ledger.recent(status="failed")] == [ids[2], ids[1]]
    assert ledger.recent(job="org_sync", status=RunStatus.SUCCEEDED)[0].id == ids[0]
    with pytest.raises(StoreError, match="unknown run status 'done'"):
        ledger.recent(status="done")


def test_last_success(ledger: RunLedger, clock: Clock) -> None:
    def run(connection: str, status: str, *, dry_run: bool = False) -> int:
        clock.advance(minutes=1)
        run_id = ledger.start(job="org_sync", connection=connection, dry_run=dry_run)
        ledger.finish(run_id, status=status, counts={}, api_calls=0, retries=0)
        return run_id

    assert ledger.last_success("org_sync") is None
    a = run("a", "succeeded")
    b = run("b", "succeeded")
    run("a", "failed")
    dry = run("a", "succeeded", dry_run=True)
    ledger.start(job="org_sync", connection="a")

    last_a = ledger.last_success("org_sync", "a")
    assert last_a is not None
    assert last_a.id == a
    last_any = ledger.last_success("org_sync")
    assert last_any is not None
    assert last_any.id == b
    with_dry = ledger.last_success("org_sync", "a", include_dry_runs=True)
    assert with_dry is not None
    assert with_dry.id == dry
    assert ledger.last_success("kr_updates") is None


def test_recover_abandoned(ledger: RunLedger, clock: Clock) -> None:
    stale = ledger.start(job="org_sync", connection="hr")
    clock.advance(hours=5)
    fresh = ledger.start(job="org_sync", connection="hr")
    clock.advance(minutes=10)

    assert ledger.recover_abandoned(timedelta(hours=1)) == 1
    assert ledger.recover_abandoned(timedelta(hours=1)) == 0

    recovered = ledger.get(stale)
    assert recovered.status == "failed"
    assert recovered.duration_ms == (5 * 3600 + 600) * 1000
    assert recovered.error is not None
    assert recovered.error["type"] == ABANDONED
    assert f"pid {os.getpid()}" in recovered.error["message"]
    assert "died or was killed" in recovered.error["message"]
    assert ledger.get(fresh).status == "running"

    # The process was only slow: its real outcome replaces the guess.
    ledger.finish(stale, status="succeeded", counts={"updated": 1}, api_calls=1, retries=0)
    assert ledger.get(stale).status == "succeeded"
    assert ledger.get(stale).error is None


def test_finish_is_called_once(ledger: RunLedger) -> None:
    run_id = ledger.start(job="org_sync", connection="hr")
    ledger.finish(run_id, status="skipped", counts={}, api_calls=0, retries=0)
    with pytest.raises(StoreError, match=f"run {run_id} already finished as skipped"):
        ledger.finish(run_id, status="failed", counts={}, api_calls=0, retries=0)


def test_bad_ids_and_values(ledger: RunLedger) -> None:
    with pytest.raises(StoreError, match=r"^no run with id 999$"):
        ledger.get(999)
    with pytest.raises(StoreError, match="no run with id 999"):
        ledger.finish(999, status="failed", counts={}, api_calls=0, retries=0)
    with pytest.raises(StoreError, match="no run with id 999"):
        ledger.add_rejections(999, [Rejection("k", "r")])
    run_id = ledger.start(job="org_sync", connection=None)
    with pytest.raises(StoreError, match="`running` is not how a run ends"):
        ledger.finish(run_id, status="running", counts={}, api_calls=0, retries=0)
    with pytest.raises(StoreError, match="unknown run status 'ok'"):
        ledger.finish(run_id, status="ok", counts={}, api_calls=0, retries=0)
    with pytest.raises(StoreError, match="unknown run trigger 'cron'"):
        ledger.start(job="org_sync", connection=None, trigger="cron")
    assert ledger.get(run_id).status == "running"


def test_unreachable_store_is_a_store_error(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated
    try:
        with pytest.raises(StoreError, match=r"the run ledger at `sqlite:///.*` failed: no such table: runs"):
            RunLedger(engine).start(job="org_sync", connection=None)
    finally:
        engine.dispose()
