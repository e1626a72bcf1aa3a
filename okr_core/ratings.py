"""Review cycles, rating scales, ratings and their calibration. Pure Python, no I/O.

A review cycle rates people on a `RatingScale` (e.g. 1..5, "Below" .. "Exceptional"). The
manager gives the first rating; calibration then moves it, one recorded `CalibrationAdjustment`
per change, at one of the cycle's calibration levels (e.g. ``manager``, ``director``, ``vp``).
Level N belongs to the person's management chain at depth N: level 1 is the manager, level 2
the manager's manager, and so on. The chain is passed in as data (the store knows reporting
lines; this module does not). A finalized cycle is locked until it is reopened.

Distributions count ratings per scale value and compare each share with the cycle's guideline;
`nine_box` places a person by performance and potential, each cut into scale thirds.

Example:
    scale = RatingScale(values=(ScaleValue(value=1, label="Below"), ScaleValue(value=3, label="Meets"),
                                ScaleValue(value=5, label="Exceptional")))
    cycle = ReviewCycle(key="2026-annual", name="2026", scale=scale, levels=("manager", "director"))
    rating = new_rating(cycle, employee_id="1042", value=3)
    rating, change = calibrate(cycle, rating, new_value=5, by="1007", level="director",
                               rationale="led the migration", at=now, chain=("1020", "1007"))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from okr_core._checks import coerce_enum, require_id
from okr_core.errors import InvalidTransition, InvalidValue, OkrError

DEFAULT_TOLERANCE = 0.10
"""A value's share may differ from the guideline by this much (10 points) before it is flagged."""


class RatingRefused(OkrError):
    """A rating change the rules do not allow now (locked cycle, adjuster outside the chain, ...).

    Args:
        subject: What was being changed, e.g. ``rating of `1042` in `2026-annual```.
        reason: Why it is refused and what to do instead.
    """

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(f"{subject}: {reason}")
        self.subject = subject
        self.reason = reason

    def attrs(self) -> dict[str, Any]:
        """Structured fields of the error."""
        return {**super().attrs(), "subject": self.subject, "reason": self.reason}


class ReviewState(StrEnum):
    """Where a review cycle is: open (ratings move) or finalized (locked, eligible for write-back)."""

    OPEN = "open"
    FINALIZED = "finalized"


class Band(StrEnum):
    """A third of a scale, for the 9-box."""

    LOW = "low"
    MID = "mid"
    HIGH = "high"


@dataclass(frozen=True, kw_only=True, slots=True)
class ScaleValue:
    """One point of a rating scale and its label."""

    value: int
    label: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RatingScale:
    """The values a rating may take, in ascending order, each with a unique label.

    Example:
        scale = RatingScale(values=tuple(ScaleValue(value=v, label=l) for v, l in enumerate(labels, 1)))
        scale.label(3)   # "Meets"
        scale.band(5)    # Band.HIGH
    """

    values: tuple[ScaleValue, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        numbers = [point.value for point in self.values]
        if len(numbers) < 2:
            raise InvalidValue("rating scale", "values", numbers, "a scale needs at least two values")
        if any(isinstance(n, bool) or not isinstance(n, int) for n in numbers):
            raise InvalidValue("rating scale", "values", numbers, "scale values must be whole numbers")
        if len(set(numbers)) != len(numbers):
            raise InvalidValue("rating scale", "values", numbers, "each value may appear only once")
        if numbers != sorted(numbers):
            raise InvalidValue("rating scale", "values", numbers, "list the values in ascending order")
        labels = [point.label.strip() for point in self.values]
        if not all(labels) or len(set(labels)) != len(labels):
            raise InvalidValue("rating scale", "labels", labels, "every value needs its own non-empty label")

    @property
    def numbers(self) -> tuple[int, ...]:
        """The values, ascending."""
        return tuple(point.value for point in self.values)

    def label(self, value: int) -> str:
        """The label of `value` (which must be on the scale)."""
        for point in self.values:
            if point.value == value:
                return point.label
        raise self._off_scale("rating scale", "value", value)

    def require(self, subject: str, field_name: str, value: int) -> None:
        """Refuse a value that is not on the scale.

        Raises:
            InvalidValue: `value` is not one of the scale's values.
        """
        if isinstance(value, bool) or value not in self.numbers:
            raise self._off_scale(subject, field_name, value)

    def band(self, value: int) -> Band:
        """Low, mid or high: where `value` sits between the lowest and highest value, in thirds."""
        self.require("rating scale", "value", value)
        low, high = self.numbers[0], self.numbers[-1]
        position = (value - low) / (high - low)
        if position < 1 / 3:
            return Band.LOW
        return Band.HIGH if position > 2 / 3 else Band.MID

    def _off_scale(self, subject: str, field_name: str, value: object) -> InvalidValue:
        known = ", ".join(f"{p.value} ({p.label})" for p in self.values)
        return InvalidValue(subject, field_name, value, f"not on the rating scale; use one of: {known}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ReviewCycle:
    """A performance review cycle: its scale, calibration levels, guideline and state.

    `levels` name the calibration levels bottom-up: level 1 (``manager``) is the person's
    manager, level 2 the manager's manager, ... `guideline` maps scale values to their expected
    share (0..1, summing to 1), e.g. ``{1: 0.05, 2: 0.15, 3: 0.6, 4: 0.15, 5: 0.05}``.

    Example:
        cycle = ReviewCycle(key="2026-annual", name="2026", scale=scale, okr_cycle_key="2026")
        cycle.depth("director")   # 2
    """

    key: str
    name: str
    scale: RatingScale
    levels: tuple[str, ...] = ("manager",)
    okr_cycle_key: str | None = None
    state: ReviewState = ReviewState.OPEN
    guideline: Mapping[int, float] | None = None
    tolerance: float = DEFAULT_TOLERANCE

    def __post_init__(self) -> None:
        subject = f"review cycle `{self.key}`"
        require_id(subject, "key", self.key)
        coerce_enum(self, subject, "state", ReviewState)
        object.__setattr__(self, "levels", tuple(self.levels))
        if not self.levels or len(set(self.levels)) != len(self.levels) or not all(self.levels):
            raise InvalidValue(subject, "levels", list(self.levels), "name one or more distinct levels")
        if not (0 <= self.tolerance <= 1) or not math.isfinite(self.tolerance):
            raise InvalidValue(subject, "tolerance", self.tolerance, "a share between 0 and 1, e.g. 0.1")
        if self.guideline is not None:
            guideline = dict(self.guideline)
            for value, share in guideline.items():
                self.scale.require(subject, "guideline", value)
                if not (0 <= share <= 1) or not math.isfinite(share):
                    raise InvalidValue(subject, "guideline", share, "each share is between 0 and 1")
            if abs(sum(guideline.values()) - 1) > 0.011:
                raise InvalidValue(subject, "guideline", guideline, "the shares must add up to 1 (100%)")
            object.__setattr__(self, "guideline", guideline)

    def depth(self, level: str) -> int:
        """1 for the first level (the manager), 2 for the next, ...

        Raises:
            InvalidValue: `level` is not one of the cycle's levels.
        """
        if level not in self.levels:
            raise InvalidValue(
                f"review cycle `{self.key}`", "level", level, f"use one of: {', '.join(self.levels)}"
            )
        return self.levels.index(level) + 1

    def require_open(self, subject: str) -> None:
        """Refuse any change while the cycle is finalized.

        Raises:
            RatingRefused: The cycle is finalized.
        """
        if self.state is ReviewState.FINALIZED:
            raise RatingRefused(
                subject,
                f"review cycle `{self.key}` is finalized and its ratings are locked; "
                "reopen it first (`okrhub ratings reopen --reason ... --by ...`)",
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class Rating:
    """A person's rating in a review cycle: the manager's original and the current (calibrated) value.

    `current_value` starts as the manager's value; only calibration changes it, so the original
    stays visible. `potential` (same scale) is optional and only used for the 9-box.
    """

    employee_id: str
    review_cycle: str
    manager_value: int
    current_value: int
    potential: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CalibrationAdjustment:
    """One calibration change: who moved whose rating, from what to what, at which level, and why."""

    employee_id: str
    review_cycle: str
    previous_value: int
    new_value: int
    level: str
    by: str
    rationale: str
    at: datetime


def new_rating(cycle: ReviewCycle, *, employee_id: str, value: int, potential: int | None = None) -> Rating:
    """A manager's rating, checked against the cycle's scale.

    Raises:
        InvalidValue: A value is off the scale, or the employee id is empty.
    """
    subject = f"rating of `{employee_id}` in `{cycle.key}`"
    require_id(subject, "employee_id", employee_id)
    cycle.scale.require(subject, "rating", value)
    if potential is not None:
        cycle.scale.require(subject, "potential", potential)
    return Rating(
        employee_id=employee_id,
        review_cycle=cycle.key,
        manager_value=value,
        current_value=value,
        potential=potential,
    )


def management_chain(employee_id: str, managers: Mapping[str, str | None], depth: int) -> tuple[str, ...]:
    """The person's manager, the manager's manager, ... up to `depth` people (fewer at the top or a loop).

    Example:
        management_chain("1042", {"1042": "1020", "1020": "1007", "1007": None}, 3)   # ("1020", "1007")
    """
    chain: list[str] = []
    seen = {employee_id}
    current = managers.get(employee_id)
    while current is not None and current not in seen and len(chain) < depth:
        chain.append(current)
        seen.add(current)
        current = managers.get(current)
    return tuple(chain)


def level_of(cycle: ReviewCycle, chain: Sequence[str], by: str) -> str:
    """The calibration level `by` holds over a person whose management chain is `chain`.

    Raises:
        RatingRefused: `by` is not in the chain within the cycle's levels.
    """
    for depth, manager in enumerate(chain[: len(cycle.levels)], start=1):
        if manager == by:
            return cycle.levels[depth - 1]
    raise RatingRefused(
        f"calibration by `{by}`",
        f"`{by}` is not in the person's management chain ({_chain_text(cycle, chain)}); "
        "only someone in that chain can calibrate at their level",
    )


def calibrate(
    cycle: ReviewCycle,
    rating: Rating,
    *,
    new_value: int,
    by: str,
    rationale: str,
    at: datetime,
    chain: Sequence[str],
    level: str | None = None,
) -> tuple[Rating, CalibrationAdjustment]:
    """Move a rating at a calibration level; returns the new rating and the adjustment to record.

    Args:
        cycle: The review cycle (must be open).
        rating: The rating as it stands.
        new_value: The calibrated value (on the scale, different from the current one).
        by: Employee id of the adjuster.
        rationale: Why; required.
        at: When (timezone-aware).
        chain: The person's management chain, manager first.
        level: The level calibrated at; by default the one `by` holds in `chain`.

    Raises:
        RatingRefused: The cycle is finalized, `by` is not the chain member at `level`, or nothing changes.
        InvalidValue: The value is off the scale, the level unknown, the rationale empty, `at` naive.
    """
    subject = f"rating of `{rating.employee_id}` in `{cycle.key}`"
    cycle.require_open(subject)
    cycle.scale.require(subject, "rating", new_value)
    if not rationale.strip():
        raise InvalidValue(subject, "rationale", rationale, "say why the rating changes (`--reason`)")
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidValue(subject, "at", at, "pass a timezone-aware datetime")
    if level is None:
        level = level_of(cycle, chain, by)
    depth = cycle.depth(level)
    holder = chain[depth - 1] if len(chain) >= depth else None
    if holder != by:
        who = f"`{holder}`" if holder else "nobody (the chain is shorter)"
        raise RatingRefused(
            subject,
            f"`{by}` cannot calibrate at level `{level}`: that level is held by {who} "
            f"(chain: {_chain_text(cycle, chain)})",
        )
    if new_value == rating.current_value:
        raise RatingRefused(
            subject, f"the rating is already {new_value} ({cycle.scale.label(new_value)}); nothing to change"
        )
    adjustment = CalibrationAdjustment(
        employee_id=rating.employee_id,
        review_cycle=cycle.key,
        previous_value=rating.current_value,
        new_value=new_value,
        level=level,
        by=by,
        rationale=rationale.strip(),
        at=at,
    )
    return dataclasses.replace(rating, current_value=new_value), adjustment


def finalize(cycle: ReviewCycle) -> ReviewCycle:
    """The cycle, finalized: its ratings are locked and eligible for write-back.

    Raises:
        InvalidTransition: It is finalized already.
    """
    if cycle.state is ReviewState.FINALIZED:
        raise InvalidTransition(
            f"review cycle `{cycle.key}`", "finalized", "finalized", "it is finalized already"
        )
    return dataclasses.replace(cycle, state=ReviewState.FINALIZED)


def reopen(cycle: ReviewCycle, *, reason: str) -> ReviewCycle:
    """The cycle, open again (calibration may resume); the reason is required.

    Raises:
        InvalidTransition: It is not finalized.
        InvalidValue: `reason` is empty.
    """
    subject = f"review cycle `{cycle.key}`"
    if cycle.state is not ReviewState.FINALIZED:
        raise InvalidTransition(subject, cycle.state.value, "open", "only a finalized cycle can be reopened")
    if not reason.strip():
        raise InvalidValue(subject, "reason", reason, "say why the cycle is reopened (`--reason`)")
    return dataclasses.replace(cycle, state=ReviewState.OPEN)


@dataclass(frozen=True, kw_only=True, slots=True)
class Bucket:
    """How many ratings have one value, their share, the guideline's share and whether it deviates."""

    value: int
    label: str
    count: int
    share: float
    guideline: float | None
    deviation: float | None
    flagged: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class Distribution:
    """Ratings counted per scale value (every value present, zero counts included)."""

    total: int
    buckets: tuple[Bucket, ...] = field(default_factory=tuple)

    @property
    def flagged(self) -> tuple[Bucket, ...]:
        """The buckets whose share deviates from the guideline by more than the tolerance."""
        return tuple(bucket for bucket in self.buckets if bucket.flagged)


def distribution(
    values: Iterable[int],
    scale: RatingScale,
    *,
    guideline: Mapping[int, float] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Distribution:
    """Count `values` per scale value and flag shares off the guideline by more than `tolerance`.

    An empty group has shares of 0 and flags nothing (there is nothing to calibrate).

    Raises:
        InvalidValue: A value is not on the scale.
    """
    counts = dict.fromkeys(scale.numbers, 0)
    for value in values:
        scale.require("distribution", "value", value)
        counts[value] += 1
    total = sum(counts.values())
    buckets = []
    for point in scale.values:
        share = counts[point.value] / total if total else 0.0
        expected = None if guideline is None else guideline.get(point.value, 0.0)
        deviation = None if expected is None else share - expected
        # A tiny epsilon so a share exactly at the tolerance is not flagged by float noise.
        flagged = bool(total) and deviation is not None and abs(deviation) > tolerance + 1e-9
        buckets.append(
            Bucket(
                value=point.value,
                label=point.label,
                count=counts[point.value],
                share=share,
                guideline=expected,
                deviation=deviation,
                flagged=flagged,
            )
        )
    return Distribution(total=total, buckets=tuple(buckets))


_NINE_BOX: Mapping[tuple[Band, Band], tuple[int, str]] = {
    (Band.LOW, Band.LOW): (1, "Underperformer"),
    (Band.MID, Band.LOW): (2, "Effective"),
    (Band.HIGH, Band.LOW): (3, "Trusted professional"),
    (Band.LOW, Band.MID): (4, "Dilemma"),
    (Band.MID, Band.MID): (5, "Core player"),
    (Band.HIGH, Band.MID): (6, "High performer"),
    (Band.LOW, Band.HIGH): (7, "Enigma"),
    (Band.MID, Band.HIGH): (8, "Growth employee"),
    (Band.HIGH, Band.HIGH): (9, "Star"),
}
"""(performance, potential) -> box number (1 bottom-left .. 9 top-right) and its usual name."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NineBox:
    """A person's 9-box placement: performance and potential bands, box number (1..9) and name."""

    performance: Band
    potential: Band
    box: int
    name: str


def nine_box(scale: RatingScale, *, performance: int, potential: int | None) -> NineBox | None:
    """The 9-box placement from the current rating and potential, or None without a potential.

    Example:
        nine_box(one_to_five, performance=5, potential=4)   # NineBox(HIGH, HIGH, 9, "Star")
    """
    if potential is None:
        return None
    perf, pot = scale.band(performance), scale.band(potential)
    box, name = _NINE_BOX[(perf, pot)]
    return NineBox(performance=perf, potential=pot, box=box, name=name)


def _chain_text(cycle: ReviewCycle, chain: Sequence[str]) -> str:
    parts = [f"{level}: {manager}" for level, manager in zip(cycle.levels, chain, strict=False)]
    return ", ".join(parts) or "no managers on record"
