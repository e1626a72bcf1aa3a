"""Beat's schedule: each job's cron in its own time zone, across DST; a scheduled run on a real worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.config.loader import load_config
from hub.config.models import Schedule
from hub.scheduling.catalogue import Catalogue, ScheduledJob, load_catalogue
from workers.app import create_app
from workers.beat import CatalogueScheduler, CronSchedule, beat_schedule
from workers.tasks import TASK_NAME

from .conftest import ORG_SIZE, Hub, wait_until


class Clock:
    """An aware clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_a_berlin_job_fires_at_the_same_local_hour_on_both_sides_of_the_spring_change() -> None:
    clock = Clock(utc(2026, 3, 28, 7, 59, 59))  # 08:59:59 CET
    morning = CronSchedule(Schedule(cron="0 9 * * *", timezone="Europe/Berlin"), nowfun=clock)
    last_run = utc(2026, 3, 27, 8, 0, 1)

    due, wait = morning.is_due(last_run)
    assert (due, wait) == (False, 1.0)

    clock.advance(seconds=2)  # 09:00:01 CET
    due, wait = morning.is_due(last_run)
    assert due
    # The next fire is 09:00 CEST on the 29th: 07:00 UTC, 23 hours on (the night was an hour short).
    assert wait == pytest.approx(timedelta(hours=23, seconds=-1).total_seconds())

    after_fire = clock.now
    clock.now = utc(2026, 3, 29, 6, 59, 59)
    assert morning.is_due(after_fire) == (False, 1.0)
    clock.now = utc(2026, 3, 29, 7, 0, 0)
    assert morning.is_due(after_fire)[0]
    assert morning.remaining_estimate(after_fire) == timedelta(0)


def test_the_same_cron_fires_at_each_zones_own_hour_whatever_celerys_timezone() -> None:
    clock = Clock(utc(2026, 7, 1, 12, 0, 0))
    last_run = utc(2026, 7, 1, 11, 0, 0)
    due_in = {
        zone: CronSchedule(Schedule(cron="0 14 * * *", timezone=zone), nowfun=clock).remaining_estimate(
            last_run
        )
        for zone in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")
    }
    assert due_in == {
        "UTC": timedelta(hours=2),
        "Europe/Berlin": timedelta(0),  # 14:00 CEST is 12:00 UTC
        "America/New_York": timedelta(hours=6),  # 14:00 EDT is 18:00 UTC
        "Asia/Kolkata": timedelta(hours=20, minutes=30),  # 14:00 IST today was 08:30 UTC
    }


def test_a_fixed_hour_in_the_repeated_autumn_hour_fires_once() -> None:
    # 01:30 happens twice in New York on 1 November 2026 (EDT, then EST); cron runs the job once.
    schedule = CronSchedule(
        Schedule(cron="30 1 * * *", timezone="America/New_York"), nowfun=Clock(utc(2026, 11, 1, 6, 45))
    )
    first = utc(2026, 11, 1, 5, 30, 1)  # just after 01:30 EDT
    due, wait = schedule.is_due(first)
    assert not due
    assert wait == pytest.approx(timedelta(hours=23, minutes=45).total_seconds())  # 01:30 EST on the 2nd


def test_a_beat_down_over_several_fires_sends_the_job_once_then_waits_for_the_next() -> None:
    clock = Clock(utc(2026, 6, 10, 12, 0, 0))
    nightly = CronSchedule(Schedule(cron="0 2 * * *", timezone="UTC"), nowfun=clock)
    due, wait = nightly.is_due(utc(2026, 6, 5, 2, 0, 5))  # five nights missed
    assert due
    assert wait == timedelta(hours=14).total_seconds()


def test_naive_last_run_times_are_read_as_utc() -> None:
    clock = Clock(utc(2026, 6, 10, 1, 0, 0))
    nightly = CronSchedule(Schedule(cron="0 2 * * *"), nowfun=clock)
    assert nightly.remaining_estimate(datetime(2026, 6, 9, 2, 0, 5)) == timedelta(hours=1)


def test_schedules_compare_and_pickle_by_their_cron() -> None:
    import pickle

    berlin = CronSchedule(Schedule(cron="0 2 * * *", timezone="Europe/Berlin"))
    assert pickle.loads(pickle.dumps(berlin)) == berlin
    assert berlin != CronSchedule(Schedule(cron="0 2 * * *", timezone="UTC"))
    assert repr(berlin) == "<cron 0 2 * * * Europe/Berlin>"


def _job(name: str, cron: str, *, enabled: bool = True) -> ScheduledJob:
    return ScheduledJob(name=name, kind="org_sync", schedule=Schedule(cron=cron, enabled=enabled))


def test_one_entry_per_enabled_job_sending_run_job_with_its_name() -> None:
    catalogue = Catalogue(
        [_job("org_sync", "0 2 * * *"), _job("metrics:win_rate", "0 6 * * *", enabled=False)]
    )
    last = utc(2026, 6, 1, 2, 0, 3)
    entries = beat_schedule(catalogue, last_runs={"org_sync": last, "gone": last})
    assert list(entries) == ["org_sync"]
    assert entries["org_sync"]["task"] == TASK_NAME
    assert entries["org_sync"]["args"] == ("org_sync",)
    assert entries["org_sync"]["last_run_at"] == last
    assert entries["org_sync"]["schedule"] == CronSchedule(Schedule(cron="0 2 * * *"))


@pytest.fixture
def offline_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BAMBOOHR_API_KEY", "k")
    monkeypatch.delenv("OKRHUB_BROKER_URL", raising=False)
    path = tmp_path / "hub.yaml"
    path.write_text(
        "version: 1\n"
        "connections:\n  hr: {type: bamboohr, base_url: 'http://127.0.0.1:9/api/gateway.php/acme/v1', "
        "api_key: '${BAMBOOHR_API_KEY}'}\n"
        "org_sync: {connection: hr}\n"
        "jobs: {org_sync: {cron: '0 2 * * *', timezone: Europe/Berlin}}\n"
    )
    return path


def test_the_scheduler_seeds_each_entry_with_the_jobs_last_start(offline_config: Path) -> None:
    app = create_app(offline_config)
    catalogue = load_catalogue(load_config(offline_config))
    clock = Clock(utc(2026, 6, 10, 12, 0, 0))
    try:
        fresh = CatalogueScheduler(app=app, catalogue=catalogue, last_runs={}, nowfun=clock)
        missed = CatalogueScheduler(
            app=app, catalogue=catalogue, last_runs={"org_sync": utc(2026, 6, 8, 0, 0, 4)}, nowfun=clock
        )
        assert list(fresh.schedule) == list(missed.schedule) == ["org_sync"]
        # Never ran: wait for tonight's 02:00 Berlin (00:00 UTC). Missed last night's: send it now.
        assert fresh.schedule["org_sync"].is_due() == (False, 12 * 3600.0)
        assert missed.schedule["org_sync"].is_due()[0]
        assert "org_sync" in fresh.info
    finally:
        app.close()


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
def test_a_scheduled_org_sync_is_sent_by_beat_and_runs_on_a_worker(hub: Hub) -> None:
    hub.start_worker("scheduled")
    # 02:00 in Berlin on 1 June is 00:00 UTC.
    clock = Clock(utc(2026, 5, 31, 23, 59, 58))
    scheduler = CatalogueScheduler(app=hub.app, last_runs={}, nowfun=clock)
    try:
        assert scheduler.tick() == pytest.approx(2.0, abs=0.05)
        assert hub.runs() == []
        clock.advance(seconds=3)
        assert scheduler.tick() == 0  # sent
        assert scheduler.tick() > 0  # and not again: the next fire is tomorrow
    finally:
        scheduler.close()

    [run] = wait_until(
        lambda: [r for r in hub.runs() if r.status != "running"] or None, timeout=25, what="the scheduled run"
    )
    assert (run.trigger, run.status) == ("worker", "succeeded")
    assert run.counts["created"] == ORG_SIZE
    assert hub.people() == ORG_SIZE


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
def test_okrhub_beat_starts_with_one_entry_per_enabled_job(hub: Hub) -> None:
    beat = hub.start_okrhub("beat", "beat", "--loglevel=INFO")
    wait_until(
        lambda: "beat: org_sync on <cron 0 2 * * * Europe/Berlin>" in hub.log("beat"),
        timeout=15,
        what="beat to load the catalogue",
    )
    assert beat.poll() is None
