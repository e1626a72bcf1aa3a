"""run_job on both stores: the org sync through the BambooHR emulator, under a store lease."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from hub.runtime import Runtime, open_runtime
from hub.scheduling.catalogue import load_catalogue
from hub.scheduling.locks import Held, Owner, StoreLeases, current_owner
from hub.scheduling.runner import run_job
from hub.scheduling.state import last_outcomes
from hub.store.ledger import RunLedger
from hub.store.models import JobState, Person, Run, utcnow
from hub.store.testing import postgres_test_url, temporary_postgres_schema
from sandbox.harness import Sandbox
from sandbox.server import Fault


def _people(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Person)).scalar_one())


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_scheduled_org_sync_runs_records_its_outcome_and_frees_the_lease(runtime: Runtime) -> None:
    job = load_catalogue(runtime.loaded).get("org_sync")
    report = run_job(runtime, job, trigger="schedule", locks=[StoreLeases(runtime.engine)])

    assert report.status == "succeeded"
    assert _people(runtime) == 60
    run = RunLedger(runtime.engine).get(report.run_id or 0)
    assert (run.job, run.trigger, run.status) == ("org_sync", "schedule", "succeeded")
    state = last_outcomes(runtime.engine)["org_sync"]
    assert (state.run_id, state.status, state.lease_owner) == (report.run_id, "succeeded", None)
    assert state.last_success_at is not None


def test_a_job_held_by_a_live_process_is_skipped_and_the_skip_is_recorded(runtime: Runtime) -> None:
    job = load_catalogue(runtime.loaded).get("org_sync")
    leases = StoreLeases(runtime.engine)
    other = Owner(host="worker-7", pid=4242, token="abc")
    assert not isinstance(leases.acquire("org_sync", other), type(None))

    report = run_job(runtime, job, trigger="schedule", locks=[leases])

    assert report.status == "skipped"
    assert "already running on worker-7:4242:abc" in (report.summary or "")
    assert _people(runtime) == 0
    skipped = RunLedger(runtime.engine).get(report.run_id or 0)
    assert skipped.status == "skipped"
    assert skipped.error is not None
    assert skipped.error["holder"] == "worker-7:4242:abc"


def test_a_lease_of_a_dead_local_process_is_taken_over_and_its_run_closed_as_abandoned(
    runtime: Runtime,
) -> None:
    dead = Owner(host=socket.gethostname(), pid=_dead_pid(), token="dead")
    ledger = RunLedger(runtime.engine)
    orphan = ledger.start(job="org_sync", connection="bamboohr", trigger="schedule")
    with runtime.engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == orphan).values(pid=dead.pid))
    StoreLeases(runtime.engine).acquire("org_sync", dead)

    report = run_job(
        runtime,
        load_catalogue(runtime.loaded).get("org_sync"),
        trigger="schedule",
        locks=[StoreLeases(runtime.engine)],
    )

    assert report.status == "succeeded"
    assert report.abandoned_runs == (orphan,)
    closed = ledger.get(orphan)
    assert closed.status == "failed"
    assert closed.error is not None
    assert closed.error["type"] == "RunAbandoned"
    assert "stopped renewing the lease" in closed.error["message"]


def test_a_lapsed_lease_of_another_host_is_taken_over(runtime: Runtime) -> None:
    clock_now = utcnow()
    StoreLeases(
        runtime.engine, ttl=timedelta(seconds=30), clock=lambda: clock_now - timedelta(minutes=5)
    ).acquire("org_sync", Owner(host="gone-host", pid=1, token="x"))
    report = run_job(
        runtime,
        load_catalogue(runtime.loaded).get("org_sync"),
        trigger="schedule",
        locks=[StoreLeases(runtime.engine)],
    )
    assert report.status == "succeeded"


def test_a_transient_failure_is_reported_as_worth_a_retry(runtime: Runtime, sandbox: Sandbox) -> None:
    sandbox.bamboohr.faults.inject(Fault(kind="status", status=503, times=10, path="reports/custom"))
    report = run_job(
        runtime,
        load_catalogue(runtime.loaded).get("org_sync"),
        trigger="schedule",
        locks=[StoreLeases(runtime.engine)],
    )
    assert report.status == "failed"
    assert report.transient
    assert _people(runtime) == 0


def test_an_auth_failure_is_not_worth_a_retry(runtime: Runtime, sandbox: Sandbox) -> None:
    sandbox.bamboohr.faults.inject(Fault(kind="status", status=401, times=10))
    report = run_job(
        runtime,
        load_catalogue(runtime.loaded).get("org_sync"),
        trigger="schedule",
        locks=[StoreLeases(runtime.engine)],
    )
    assert report.status == "failed"
    assert report.error is not None
    assert report.error["type"] == "AuthError"
    assert not report.transient


def test_a_job_that_cannot_start_is_recorded_as_a_failed_run(runtime: Runtime) -> None:
    folder = runtime.loaded.path.parent / "writeback"
    folder.mkdir()
    (folder / "ratings.yaml").write_text(
        "connection: hcm\nreview_cycle: acme-2026\nperiod: {start: 2026-01-01, end: 2026-12-31}\n"
        'scale: {1: Below}\nschedule: "0 6 * * *"\n'
    )
    job = load_catalogue(runtime.loaded).get("writeback:ratings")

    report = run_job(runtime, job, trigger="schedule", locks=[StoreLeases(runtime.engine)])

    assert report.status == "failed"
    assert report.error is not None
    assert report.error["type"] == "ConfigError"
    assert "no connection named `hcm`" in report.error["message"]
    assert not report.transient
    run = RunLedger(runtime.engine).get(report.run_id or 0)
    assert run.job == "writeback"
    assert run.summary is not None
    assert run.summary.startswith("could not start: ")
    with runtime.engine.connect() as conn:
        lease = conn.execute(select(JobState.lease_owner).where(JobState.name == job.name)).scalar_one()
    assert lease is None


def test_a_lease_is_renewed_while_its_job_runs(write_config: Callable[..., Path], sandbox: Sandbox) -> None:
    sandbox.bamboohr.faults.inject(Fault(kind="delay", delay_seconds=1.5, path="reports/custom"))
    with temporary_postgres_schema(postgres_test_url()) as url:
        runtime = open_runtime(write_config(), database_url=url)
        try:
            leases = StoreLeases(runtime.engine, ttl=timedelta(seconds=0.9))
            owner = current_owner()
            seen: list[str] = []
            job = load_catalogue(runtime.loaded).get("org_sync")
            runner = threading.Thread(
                target=lambda: seen.append(
                    run_job(runtime, job, trigger="schedule", locks=[leases], owner=owner).status
                )
            )
            runner.start()
            runner.join(timeout=1.2)
            # Past the first TTL the lease is still ours: another process is refused.
            held = leases.acquire("org_sync", Owner(host="other", pid=1, token="t"))
            runner.join()
        finally:
            runtime.engine.dispose()
    assert isinstance(held, Held)
    assert held.holder == str(owner)
    assert seen == ["succeeded"]


def test_a_lease_outlives_a_long_job_on_sqlite_and_lapses_sooner_elsewhere(runtime: Runtime) -> None:
    # On SQLite a job's write transaction blocks the lease's renewals, so the lease must outlast
    # the job by itself; PostgreSQL renews it, so a shorter lapse finds dead holders sooner.
    leases = StoreLeases(runtime.engine)
    sqlite = runtime.engine.dialect.name == "sqlite"
    expected = timedelta(hours=6) if sqlite else timedelta(minutes=5)
    assert leases.ttl == expected

    started = utcnow()
    holder = Owner(host="worker-1", pid=1, token="long-job")
    StoreLeases(runtime.engine, clock=lambda: started).acquire("org_sync", holder)
    half_an_hour_later = StoreLeases(runtime.engine, clock=lambda: started + timedelta(minutes=30))
    rival = half_an_hour_later.acquire("org_sync", Owner(host="worker-2", pid=2, token="rival"))
    assert isinstance(rival, Held) is sqlite
