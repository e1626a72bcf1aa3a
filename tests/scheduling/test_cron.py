from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.config.models import Schedule
from hub.scheduling.cron import next_fire


def test_a_nightly_job_fires_at_local_time_on_both_sides_of_a_dst_change() -> None:
    nightly = Schedule(cron="0 2 * * *", timezone="Europe/Berlin")
    # Berlin is UTC+1 in winter and UTC+2 from 29 March 2026.
    assert next_fire(nightly, datetime(2026, 3, 27, 12, tzinfo=UTC)) == datetime(2026, 3, 28, 1, tzinfo=UTC)
    assert next_fire(nightly, datetime(2026, 3, 30, 12, tzinfo=UTC)) == datetime(2026, 3, 31, 0, tzinfo=UTC)


def test_the_next_fire_is_strictly_after_the_given_time() -> None:
    hourly = Schedule(cron="0 * * * *")
    on_the_hour = datetime(2026, 11, 23, 5, tzinfo=UTC)
    assert next_fire(hourly, on_the_hour) == datetime(2026, 11, 23, 6, tzinfo=UTC)


def test_weekday_schedules_skip_the_weekend_in_their_own_zone() -> None:
    weekdays = Schedule(cron="30 6 * * 1-5", timezone="America/New_York")
    friday_evening = datetime(2026, 11, 20, 23, tzinfo=UTC)
    assert next_fire(weekdays, friday_evening) == datetime(2026, 11, 23, 11, 30, tzinfo=UTC)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_fire(Schedule(cron="0 2 * * *"), datetime(2026, 11, 23))
