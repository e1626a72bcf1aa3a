"""Status colours from progress against linear expected progress (seed 001), and range breakpoints."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okr_core.errors import InvalidValue
from okr_core.key_results import Range
from okr_core.status import Colour, StatusThresholds, expected_progress, pace_colour, range_colour

GREEN, YELLOW, RED = Colour.GREEN, Colour.YELLOW, Colour.RED


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2024, 6, 30), 0.0),  # before the start
        (date(2024, 7, 1), 0.0),  # at the start
        (date(2024, 7, 6), 0.5),
        (date(2024, 7, 11), 1.0),  # at the deadline
        (date(2024, 9, 1), 1.0),  # after it
    ],
)
def test_expected_progress_is_linear_from_start_to_deadline(as_of, expected):
    assert expected_progress(date(2024, 7, 1), date(2024, 7, 11), as_of) == pytest.approx(expected)


def test_one_day_span_expects_everything_on_its_day():
    day = date(2024, 7, 1)
    assert expected_progress(day, day, day) == 0.0
    assert expected_progress(day, day, date(2024, 7, 2)) == 1.0


# seed 001 "How is the objective progress color calculated?": status = progress / expected;
# less than 25% behind green, at least 25% behind yellow, at least 50% behind red
@pytest.mark.parametrize(
    ("progress", "expected", "colour"),
    [
        (0.80, 0.80, GREEN),  # on track
        (0.95, 0.80, GREEN),  # ahead
        (0.61, 0.80, GREEN),  # 23.75% behind
        (0.60, 0.80, YELLOW),  # exactly 25% behind
        (0.41, 0.80, YELLOW),  # 48.75% behind
        (0.40, 0.80, RED),  # exactly 50% behind
        (0.00, 0.80, RED),
        (0.00, 0.00, GREEN),  # nothing expected yet
        (0.375, 0.50, YELLOW),  # ratio exactly 0.75
    ],
)
def test_pace_colour_follows_the_seed_thresholds(progress, expected, colour):
    assert pace_colour(progress, expected) is colour


def test_thresholds_are_configurable():
    strict = StatusThresholds(yellow_behind=0.1, red_behind=0.3)
    assert pace_colour(0.85, 1.0, strict) is YELLOW
    assert pace_colour(0.65, 1.0, strict) is RED
    assert pace_colour(0.95, 1.0, strict) is GREEN


@pytest.mark.parametrize(("yellow", "red"), [(0.5, 0.25), (0.0, 0.5), (0.25, 1.5)])
def test_inconsistent_thresholds_are_refused(yellow, red):
    with pytest.raises(InvalidValue, match="0 < yellow_behind <= red_behind <= 1"):
        StatusThresholds(yellow_behind=yellow, red_behind=red)


BAND = Range(red_low=90, yellow_low=95, yellow_high=105, red_high=110)


# seed 001 "Setting Range ...": at a yellow limit the goal is at risk, at a red limit it no
# longer meets its range
@pytest.mark.parametrize(
    ("value", "colour"),
    [
        (100, GREEN),
        (95.5, GREEN),
        (95, YELLOW),
        (105, YELLOW),
        (92, YELLOW),
        (90, RED),
        (110, RED),
        (200, RED),
    ],
)
def test_range_colour(value, colour):
    assert range_colour(BAND, value) is colour


def test_one_sided_range_without_yellow():
    assert range_colour(Range(red_high=110), 109) is GREEN
    assert range_colour(Range(red_high=110), 110) is RED


fraction = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(fraction, fraction, fraction)
def test_colour_never_gets_worse_as_progress_grows(low, high, expected):
    low, high = sorted((low, high))
    assert pace_colour(high, expected).severity <= pace_colour(low, expected).severity


@given(fraction, fraction, fraction)
def test_colour_never_gets_better_as_more_is_expected(progress, a, b):
    less, more = sorted((a, b))
    assert pace_colour(progress, more).severity >= pace_colour(progress, less).severity


@given(fraction, fraction, st.floats(min_value=0.01, max_value=0.5), st.floats(min_value=0, max_value=0.5))
def test_stricter_thresholds_never_give_a_better_colour(progress, expected, yellow, extra):
    loose = StatusThresholds(yellow_behind=min(yellow + extra, 1.0), red_behind=min(yellow + 2 * extra, 1.0))
    strict = StatusThresholds(yellow_behind=yellow, red_behind=min(yellow + extra, 1.0))
    assert pace_colour(progress, expected, strict).severity >= pace_colour(progress, expected, loose).severity
