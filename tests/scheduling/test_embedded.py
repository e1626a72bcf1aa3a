"""The embedded scheduler with the clock in the test's hands: no sleeping, no waiting for 02:00."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hub.runtime import Runtime, open_runtime
from hub.scheduling.catalogue import load_catalogue
from hub.scheduling.embedded import EmbeddedScheduler
from hub.scheduling.runner import JobReport
from hub.store.ledger import RunLedger
from hub.store.models import Person
from sandbox.harness import Sandbox
from sandbox.server import Fault


class FakeClock:
    """A clock that moves only when the scheduler waits."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.waits: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += timedelta(seconds=seconds)
        return False


def _scheduler(
    runtime: Runtime, clock: FakeClock, stop_after: int
) -> tuple[EmbeddedScheduler, list[tuple[datetime, JobReport]]]:
    seen: list[tuple[datetime, JobReport]] = []

    def on_report(report: JobReport) -> None:
        seen.append((clock(), report))
        if len(seen) >= stop_after:
            scheduler.stop()

    scheduler = EmbeddedScheduler(
        runtime, load_catalogue(runtime.loaded), clock=clock, wait=clock.wait, on_report=on_report
    )
    return scheduler, seen


def test_the_org_sync_runs_at_its_cron_time_in_its_time_zone(
    write_config: Callable[..., Path], store_url: str
) -> None:
    runtime = open_runtime(write_config(cron="0 2 * * *", timezone="Europe/Berlin"), database_url=store_url)
    try:
        clock = FakeClock(datetime(2026, 11, 23, 0, 30, tzinfo=UTC))
        scheduler, seen = _scheduler(runtime, clock, stop_after=2)

        reports = scheduler.run()

        # 02:00 in Berlin is 01:00 UTC in November; the next run is a day later.
        assert [at for at, _ in seen] == [
            datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
            datetime(2026, 11, 24, 1, 0, tzinfo=UTC),
        ]
        assert clock.waits == [1800.0, 86400.0]
        assert [r.status for r in reports] == ["succeeded", "succeeded"]
        first, second = (RunLedger(runtime.engine).get(r.run_id or 0) for r in reports)
        assert first.trigger == "schedule"
        assert first.counts.get("created") == 60
        # The second night finds nothing new and writes nothing.
        assert not second.counts.get("created")
        assert not second.counts.get("updated")
    finally:
        runtime.engine.dispose()


def test_a_failed_run_does_not_stop_the_schedule(
    write_config: Callable[..., Path], store_url: str, sandbox: Sandbox
) -> None:
    runtime = open_runtime(write_config(cron="*/15 * * * *"), database_url=store_url)
    try:
        sandbox.bamboohr.faults.inject(Fault(kind="status", status=401, times=1, path="reports/custom"))
        clock = FakeClock(datetime(2026, 11, 23, 9, 59, tzinfo=UTC))
        scheduler, seen = _scheduler(runtime, clock, stop_after=2)
        scheduler.run()
        assert [(at.minute, report.status) for at, report in seen] == [(0, "failed"), (15, "succeeded")]
    finally:
        runtime.engine.dispose()


def test_stop_lets_the_job_in_progress_finish(
    write_config: Callable[..., Path], store_url: str, sandbox: Sandbox
) -> None:
    runtime = open_runtime(write_config(cron="* * * * *"), database_url=store_url)
    try:
        sandbox.bamboohr.faults.inject(Fault(kind="delay", delay_seconds=1.0, path="reports/custom"))
        clock = FakeClock(datetime(2026, 11, 23, 9, 59, 59, tzinfo=UTC))
        started = threading.Event()
        reports: list[JobReport] = []

        def slow_wait(seconds: float) -> bool:
            clock.wait(seconds)
            started.set()
            return False

        scheduler = EmbeddedScheduler(
            runtime, load_catalogue(runtime.loaded), clock=clock, wait=slow_wait, on_report=reports.append
        )
        thread = threading.Thread(target=scheduler.run)
        thread.start()
        started.wait(5)
        time.sleep(0.3)  # the run is now waiting on the slow emulator
        scheduler.stop()
        thread.join(10)

        assert not thread.is_alive()
        assert [r.status for r in reports] == ["succeeded"]
        with runtime.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Person)).scalar_one() == 60
    finally:
        runtime.engine.dispose()


@pytest.mark.slow
def test_okrhub_run_stops_cleanly_on_sigterm(write_config: Callable[..., Path], tmp_path: Path) -> None:
    config = write_config(cron="0 2 * * *")
    env = {**os.environ, "OKRHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    okrhub = Path(sys.executable).parent / "okrhub"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(okrhub), "run", "--config", str(config), "--metrics-port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 20
        banner = ""
        while "org_sync" not in banner and time.monotonic() < deadline:
            banner += process.stdout.readline()
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert "org_sync" in banner, errors
    assert process.returncode == 0, errors
    assert "SIGTERM: stopping" in rest
    assert "okrhub_ledger_up 1.0" in scraped
