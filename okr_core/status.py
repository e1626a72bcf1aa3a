"""Status colours: green, yellow or red, from progress against linear expected progress.

Seed 001 ("How is the objective progress color calculated?"): status is progress divided by
expected progress, where expected progress grows linearly from the cycle's start to the
deadline. Less than 25% behind is green, at least 25% behind yellow, at least 50% behind red.
Nothing expected yet (at or before the start) is green. A range key result instead takes the
colour of its value against its breakpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from okr_core.errors import InvalidValue
from okr_core.key_results import Range


class Colour(StrEnum):
    """Status colour, ordered from good to bad."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def severity(self) -> int:
        """0 for green, 1 for yellow, 2 for red; handy for `max()` over colours."""
        return _SEVERITY[self]


_SEVERITY = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusThresholds:
    """How far behind expected progress turns yellow, and red (fractions of expected).

    Example:
        StatusThresholds()                                # seed 001: 25% yellow, 50% red
        StatusThresholds(yellow_behind=0.2, red_behind=0.4)
    """

    yellow_behind: float = 0.25
    red_behind: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.yellow_behind <= self.red_behind <= 1.0:
            raise InvalidValue(
                "status thresholds",
                "yellow_behind/red_behind",
                (self.yellow_behind, self.red_behind),
                "need 0 < yellow_behind <= red_behind <= 1, e.g. 0.25 and 0.5",
            )


DEFAULT_THRESHOLDS = StatusThresholds()


def expected_progress(start: date, deadline: date, as_of: date) -> float:
    """Linear expected progress from `start` (0.0) to `deadline` (1.0), clamped to 0..1.

    Example:
        expected_progress(date(2024, 7, 1), date(2024, 7, 11), date(2024, 7, 6))  # 0.5
    """
    if as_of <= start:
        return 0.0
    if as_of >= deadline:
        return 1.0
    return (as_of - start).days / (deadline - start).days


def pace_colour(
    progress: float, expected: float, thresholds: StatusThresholds = DEFAULT_THRESHOLDS
) -> Colour:
    """Colour of `progress` against `expected` progress.

    ratio = progress / expected; ratio above 1 - yellow_behind is green, above 1 - red_behind
    yellow, else red. With nothing expected yet it is green.
    """
    if expected <= 0.0:
        return Colour.GREEN
    ratio = progress / expected
    if ratio > 1.0 - thresholds.yellow_behind:
        return Colour.GREEN
    if ratio > 1.0 - thresholds.red_behind:
        return Colour.YELLOW
    return Colour.RED


def range_colour(band: Range, value: float) -> Colour:
    """Colour of a range key result's value against its breakpoints.

    Red at or beyond a red breakpoint, yellow at or beyond a yellow one, else green.

    Example:
        band = Range(red_low=90, yellow_low=95, yellow_high=105, red_high=110)
        range_colour(band, 96)   # green
        range_colour(band, 105)  # yellow
        range_colour(band, 89)   # red
    """
    if (band.red_low is not None and value <= band.red_low) or (
        band.red_high is not None and value >= band.red_high
    ):
        return Colour.RED
    if (band.yellow_low is not None and value <= band.yellow_low) or (
        band.yellow_high is not None and value >= band.yellow_high
    ):
        return Colour.YELLOW
    return Colour.GREEN
