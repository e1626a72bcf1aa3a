"""At-least-once delivery made safe: a killed worker's task is redelivered and completes once,
duplicates write nothing twice, and overlapping triggers of one job run it once."""

from __future__ import annotations

import os
import signal
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.store.ledger import ABANDONED, RunLedger
from hub.store.models import Identity, utcnow
from sandbox.server import Fault
from workers.tasks import TASK_NAME

from .conftest import ORG_SIZE, Hub, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

REPORT = "reports/custom"
"""The BambooHR call that reads everyone: made after the run's ledger row exists."""


def _identities(hub: Hub) -> int:
    with hub.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Identity)).scalar_one())


def test_a_worker_killed_mid_run_writes_nothing_and_its_task_completes_on_another_worker(hub: Hub) -> None:
    first = hub.start_worker("doomed")
    hub.sandbox.bamboohr.faults.inject(Fault(kind="delay", delay_seconds=60, path=REPORT))
    result = hub.app.send_task(TASK_NAME, args=["org_sync"])

    [running] = wait_until(
        lambda: [r for r in hub.runs() if r.status == "running"] or None, timeout=15, what="the run to start"
    )
    wait_until(
        lambda: (
            hub.sandbox.bamboohr.requests.count(REPORT) == 0 and hub.sandbox.bamboohr.faults.pending() == []
        ),
        timeout=10,
        what="the worker to be inside the slow report call",
    )
    hub.kill(first)

    assert hub.people() == 0  # the sync writes in one transaction: nothing landed
    assert [r.status for r in hub.runs()] == ["running"]

    hub.start_worker("rescuer")
    report = result.get(timeout=40)

    assert report["status"] == "succeeded", report
    assert report["abandoned_runs"] == [running.id]
    assert hub.people() == ORG_SIZE
    dead, done = hub.runs()
    assert (dead.id, dead.status, done.status) == (running.id, "failed", "succeeded")
    detail = RunLedger(hub.engine).get(dead.id)
    assert detail.error is not None
    assert detail.error["type"] == ABANDONED
    assert f"pid {detail.pid}" in detail.error["message"]


def test_a_task_delivered_twice_writes_nothing_the_second_time(hub: Hub) -> None:
    hub.start_worker("dup")
    task_id = str(uuid.uuid4())

    first = hub.app.send_task(TASK_NAME, args=["org_sync"], task_id=task_id).get(timeout=25)
    people, identities = hub.people(), _identities(hub)
    hub.app.send_task(TASK_NAME, args=["org_sync"], task_id=task_id)
    wait_until(
        lambda: len([r for r in hub.runs() if r.status != "running"]) == 2, timeout=25, what="the duplicate"
    )

    assert first["status"] == "succeeded"
    assert people == ORG_SIZE
    one, two = hub.runs()
    assert (one.status, two.status) == ("succeeded", "succeeded")
    assert one.counts["created"] == ORG_SIZE
    assert two.counts.get("created", 0) == two.counts.get("updated", 0) == 0
    assert two.counts.get("deactivated", 0) == 0
    assert (hub.people(), _identities(hub)) == (people, identities)


def test_two_overlapping_triggers_run_the_job_once_and_record_the_skip(hub: Hub) -> None:
    hub.start_worker("overlap")
    hub.sandbox.bamboohr.faults.inject(Fault(kind="delay", delay_seconds=3, path=REPORT))
    slow = hub.app.send_task(TASK_NAME, args=["org_sync"])
    wait_until(lambda: any(r.status == "running" for r in hub.runs()), timeout=15, what="the first run")

    second = hub.app.send_task(TASK_NAME, args=["org_sync"]).get(timeout=25)
    first = slow.get(timeout=25)

    assert first["status"] == "succeeded"
    assert second["status"] == "skipped"
    assert "already running" in second["summary"]
    assert sorted(r.status for r in hub.runs()) == ["skipped", "succeeded"]
    assert hub.people() == ORG_SIZE
    assert hub.sandbox.bamboohr.requests.count(REPORT) == 1


def test_a_redelivered_task_whose_job_looks_held_elsewhere_waits_a_lock_ttl_then_runs(hub: Hub) -> None:
    hub.start_worker("survivor")
    hub.sandbox.bamboohr.faults.inject(Fault(kind="delay", delay_seconds=60, path=REPORT))
    result = hub.app.send_task(TASK_NAME, args=["org_sync"])
    [running] = wait_until(
        lambda: [r for r in hub.runs() if r.status == "running"] or None, timeout=15, what="the run to start"
    )
    pid = RunLedger(hub.engine).get(running.id).pid
    assert pid is not None
    # As if the job's Redis lock belonged to a worker on another host, which this host cannot tell
    # is dead. Then only the pool child dies: its parent requeues the task, marked redelivered.
    hub.redis.set("okrhub:lock:org_sync", "elsewhere:4242:feedc0ffee00", px=60_000)
    os.kill(pid, signal.SIGKILL)
    wait_until(
        lambda: any(r.status == "skipped" for r in hub.runs()), timeout=20, what="the redelivered task"
    )
    wait_until(
        lambda: result.state == "RETRY", timeout=5, what="the task postponed by a lock TTL, not dropped"
    )
    hub.redis.delete("okrhub:lock:org_sync")  # the other holder's lock lapses

    report = result.get(timeout=30)

    assert report["status"] == "succeeded", report
    assert report["abandoned_runs"] == [running.id]
    statuses = [r.status for r in hub.runs()]
    assert statuses == ["failed", "skipped", "succeeded"]  # killed, redelivered and held, postponed and run
    skipped = hub.runs()[1]
    assert "elsewhere:4242" in (skipped.summary or "")
    assert hub.people() == ORG_SIZE


def test_a_starting_worker_closes_runs_left_running_long_past_the_time_limit(hub: Hub) -> None:
    long_ago = utcnow() - timedelta(hours=2)
    stale = RunLedger(hub.engine, clock=lambda: long_ago).start(job="org_sync", connection="bamboohr")
    recent = RunLedger(hub.engine).start(job="org_sync", connection="bamboohr")

    hub.start_worker("fresh")

    wait_until(
        lambda: RunLedger(hub.engine).get(stale).status == "failed", timeout=15, what="the stale run closed"
    )
    error = RunLedger(hub.engine).get(stale).error
    assert error is not None
    assert error["type"] == ABANDONED
    assert RunLedger(hub.engine).get(recent).status == "running"  # may still be running somewhere
