from __future__ import annotations

from datetime import date

import pytest

from hub.metrics import TimeWindow
from mappings import WindowSpec, resolve_window
from mappings.errors import EmptyWindow

Q4 = {"cycle_start": date(2026, 10, 1), "cycle_end": date(2026, 12, 31)}


def window(spec: WindowSpec, today: date, **cycle: date) -> TimeWindow:
    return resolve_window(spec, today=today, **(cycle or Q4))


def test_cycle_to_date_runs_from_the_cycle_start_to_today():
    assert window(WindowSpec(), date(2026, 11, 5)) == TimeWindow(date(2026, 10, 1), date(2026, 11, 5))


def test_cycle_to_date_stops_at_the_cycle_end():
    assert window(WindowSpec(), date(2027, 1, 20)) == TimeWindow(date(2026, 10, 1), date(2026, 12, 31))


def test_cycle_to_date_with_an_offset_ends_earlier():
    spec = WindowSpec(kind="cycle_to_date", offset_days=1)

    assert window(spec, date(2026, 11, 5)) == TimeWindow(date(2026, 10, 1), date(2026, 11, 4))
    assert window(spec, date(2027, 1, 1)) == TimeWindow(date(2026, 10, 1), date(2026, 12, 31))


def test_on_the_first_day_of_the_cycle_the_window_is_that_day():
    assert window(WindowSpec(), date(2026, 10, 1)) == TimeWindow(date(2026, 10, 1), date(2026, 10, 1))


def test_before_the_cycle_starts_the_window_is_empty():
    with pytest.raises(EmptyWindow, match="no days yet"):
        window(WindowSpec(), date(2026, 9, 30))
    with pytest.raises(EmptyWindow):
        window(WindowSpec(offset_days=1), date(2026, 10, 1))


def test_last_days_includes_the_reference_day():
    spec = WindowSpec(kind="last_days", days=30)

    assert window(spec, date(2026, 11, 5)) == TimeWindow(date(2026, 10, 7), date(2026, 11, 5))
    assert window(WindowSpec(kind="last_days", days=1), date(2026, 11, 5)) == TimeWindow(
        date(2026, 11, 5), date(2026, 11, 5)
    )


def test_last_days_with_an_offset_across_a_year_end():
    spec = WindowSpec(kind="last_days", days=7, offset_days=2)

    assert window(spec, date(2027, 1, 3)) == TimeWindow(date(2026, 12, 26), date(2027, 1, 1))


def test_last_days_ignores_the_cycle():
    spec = WindowSpec(kind="last_days", days=30)

    assert window(spec, date(2026, 10, 3)) == TimeWindow(date(2026, 9, 4), date(2026, 10, 3))


@pytest.mark.parametrize(
    ("today", "offset", "expected"),
    [
        (date(2026, 11, 5), 0, (date(2026, 11, 1), date(2026, 11, 5))),
        (date(2026, 11, 1), 0, (date(2026, 11, 1), date(2026, 11, 1))),
        (date(2026, 11, 1), 1, (date(2026, 10, 1), date(2026, 10, 31))),
        (date(2028, 2, 29), 0, (date(2028, 2, 1), date(2028, 2, 29))),
    ],
)
def test_calendar_month_is_the_month_so_far(today, offset, expected):
    spec = WindowSpec(kind="calendar_month", offset_days=offset)

    assert window(spec, today) == TimeWindow(*expected)


@pytest.mark.parametrize(
    ("today", "offset", "expected"),
    [
        (date(2026, 11, 5), 0, (date(2026, 10, 1), date(2026, 10, 31))),
        (date(2026, 3, 31), 0, (date(2026, 2, 1), date(2026, 2, 28))),
        (date(2028, 3, 1), 0, (date(2028, 2, 1), date(2028, 2, 29))),
        (date(2027, 1, 1), 0, (date(2026, 12, 1), date(2026, 12, 31))),
        (date(2026, 12, 1), 1, (date(2026, 10, 1), date(2026, 10, 31))),
    ],
)
def test_previous_calendar_month_is_the_whole_month_before(today, offset, expected):
    spec = WindowSpec(kind="previous_calendar_month", offset_days=offset)

    assert window(spec, today) == TimeWindow(*expected)


def test_fixed_dates_do_not_move():
    spec = WindowSpec(kind="dates", start=date(2026, 7, 1), end=date(2026, 9, 30))

    assert window(spec, date(2026, 11, 5)) == TimeWindow(date(2026, 7, 1), date(2026, 9, 30))
    assert window(spec, date(2030, 1, 1)) == TimeWindow(date(2026, 7, 1), date(2026, 9, 30))


def test_fixed_dates_need_both_ends():
    with pytest.raises(EmptyWindow):
        window(WindowSpec(kind="dates", start=date(2026, 7, 1)), date(2026, 11, 5))
