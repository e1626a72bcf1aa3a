"""Time windows: which days a mapping's query covers, resolved per key result on the day of the run.

A mapping names its window in words (`cycle_to_date`, `{last_days: 30}`, ...); the compiler
resolves it against the run's date and the key result's cycle. `offset_days` moves "today"
back for data that closes late (yesterday's finance numbers): with `offset_days: 1` a run on
Nov 5 covers days up to Nov 4.

Example:
    ```python
    spec = WindowSpec(kind="cycle_to_date", offset_days=1)
    resolve_window(spec, today=date(2026, 11, 5), cycle_start=date(2026, 10, 1), cycle_end=date(2026, 12, 31))
    # TimeWindow(start=date(2026, 10, 1), end=date(2026, 11, 4))
    ```
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from hub.metrics import TimeWindow
from mappings.errors import EmptyWindow

WindowKind = Literal["cycle_to_date", "last_days", "calendar_month", "previous_calendar_month", "dates"]
"""How a window is defined; see `WindowSpec`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowSpec:
    """A window as a mapping defines it, before it meets a date and a cycle.

    - `cycle_to_date`: the key result's cycle start up to the reference day (or the cycle end, if
      earlier).
    - `last_days`: the `days` days ending on the reference day, both ends included.
    - `calendar_month`: the reference day's calendar month, from its first day to the reference day.
    - `previous_calendar_month`: the whole calendar month before the reference day's.
    - `dates`: the fixed days `start` to `end`; `offset_days` does not apply.

    The reference day is `today - offset_days`.
    """

    kind: WindowKind = "cycle_to_date"
    days: int | None = None
    start: date | None = None
    end: date | None = None
    offset_days: int = 0


def resolve_window(spec: WindowSpec, *, today: date, cycle_start: date, cycle_end: date) -> TimeWindow:
    """The days `spec` covers on `today` for a key result in the cycle `cycle_start`..`cycle_end`.

    Args:
        spec: The mapping's window.
        today: The run's date (in the mapping's schedule time zone).
        cycle_start: First day of the key result's cycle.
        cycle_end: Last day of the key result's cycle.

    Returns:
        The window, both ends included.

    Raises:
        EmptyWindow: The window has no days, e.g. `cycle_to_date` before the cycle starts.
    """
    reference = today - timedelta(days=spec.offset_days)
    if spec.kind == "cycle_to_date":
        window = TimeWindow(cycle_start, min(reference, cycle_end))
    elif spec.kind == "last_days":
        days = spec.days or 1
        window = TimeWindow(reference - timedelta(days=days - 1), reference)
    elif spec.kind == "calendar_month":
        window = TimeWindow(reference.replace(day=1), reference)
    elif spec.kind == "previous_calendar_month":
        last = reference.replace(day=1) - timedelta(days=1)
        window = TimeWindow(last.replace(day=1), last)
    else:
        if spec.start is None or spec.end is None:
            raise EmptyWindow("a `dates` window needs both `start` and `end`")
        window = TimeWindow(spec.start, spec.end)
    if window.end < window.start:
        raise EmptyWindow(
            f"the {spec.kind} window would run from {window.start.isoformat()} to "
            f"{window.end.isoformat()}: no days yet (the cycle starts after the reference day "
            f"{reference.isoformat()})"
        )
    return window
