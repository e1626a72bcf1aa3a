"""Fire times of a five-field cron expression read in its own time zone.

Times go in and come out aware (any zone); the expression is evaluated in the schedule's zone,
so "0 2 * * *" in Europe/Berlin fires at 02:00 Berlin time on both sides of a DST change. As in
cron, a fixed-hour time that falls in the hour repeated when clocks go back fires once, not twice.

Example:
    ```python
    next_fire(Schedule(cron="0 2 * * *", timezone="Europe/Berlin"), after=now)
    ```
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from hub.config.models import Schedule


def next_fire(schedule: Schedule, after: datetime) -> datetime:
    """The first fire time strictly after `after`, in UTC."""
    if after.tzinfo is None:
        raise ValueError("next_fire needs an aware datetime")
    local = after.astimezone(ZoneInfo(schedule.timezone))
    times = croniter(schedule.cron, local)
    fire: datetime = times.get_next(datetime)
    if "*" not in schedule.cron.split()[1]:
        # croniter yields both passes of a repeated hour (fold 0, then fold 1); cron runs a
        # fixed-hour job once, so skip the second pass.
        while fire.fold:
            fire = times.get_next(datetime)
    return fire.astimezone(UTC)
