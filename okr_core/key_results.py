"""Key results: the measurable outcomes under an objective.

A key result has a measurement type (numeric, percentage, currency, binary), a progress type
(seed 003's five "Key Result Types"), initial / target / critical numbers, a unit, an optional
range with yellow and red breakpoints (seed 001), an optional weight, owners who need not own the
objective, a deadline (default: end of its cycle) that may be hard, and a state that moves
draft -> in progress (first check-in) -> closed (progress reaches 100%).

Numbers are floats throughout okr_core: values come from connectors as floats, progress is a
ratio, and a float keeps the 40,000-key-result recompute fast. Nothing here needs exact decimal
arithmetic; money is compared, never booked.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from okr_core._checks import coerce_enum, require_date, require_finite, require_id
from okr_core.cycles import Cadence, Cycle
from okr_core.errors import InvalidValue


class MeasurementType(StrEnum):
    """What a key result's numbers measure; binary ones are milestones, the others metrics."""

    NUMERIC = "numeric"
    PERCENTAGE = "percentage"
    CURRENCY = "currency"
    BINARY = "binary"


class ProgressType(StrEnum):
    """How progress is measured (seed 003, "Key Result Type")."""

    INCREASE_TO = "increase_to"
    DECREASE_TO = "decrease_to"
    STAY_ABOVE = "stay_above"
    STAY_BELOW = "stay_below"
    ACHIEVED_OR_NOT = "achieved_or_not"


class KeyResultState(StrEnum):
    """Draft until the first check-in, in progress until progress reaches 100%, then closed."""

    DRAFT = "draft"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Range:
    """Yellow and red breakpoints of a range key result (seed 001, "Setting Range ...").

    A value at or beyond a yellow breakpoint puts the key result at risk (yellow); at or beyond a
    red one it no longer meets its range (red). Either side may be left open.

    Example:
        Range(red_low=90, yellow_low=95, yellow_high=105, red_high=110)  # uptime-style band
    """

    red_low: float | None = None
    yellow_low: float | None = None
    yellow_high: float | None = None
    red_high: float | None = None

    def __post_init__(self) -> None:
        subject = "range"
        named = [
            ("red_low", self.red_low),
            ("yellow_low", self.yellow_low),
            ("yellow_high", self.yellow_high),
            ("red_high", self.red_high),
        ]
        present = [(name, value) for name, value in named if value is not None]
        if self.red_low is None and self.red_high is None:
            raise InvalidValue(subject, "red_low/red_high", None, "a range needs at least one red breakpoint")
        for name, value in present:
            require_finite(subject, name, value)
        for (low_name, low), (high_name, high) in itertools.pairwise(present):
            if low > high:
                raise InvalidValue(
                    subject, high_name, high, f"must not be below `{low_name}` ({low}); order the breakpoints"
                )
        if self.red_low is not None and self.red_high is not None and self.red_low == self.red_high:
            raise InvalidValue(
                subject, "red_high", self.red_high, "equals `red_low`; leave room for the target"
            )

    def contains_strictly(self, value: float) -> bool:
        """Whether `value` lies inside every breakpoint (the green band)."""
        lows = [b for b in (self.red_low, self.yellow_low) if b is not None]
        highs = [b for b in (self.red_high, self.yellow_high) if b is not None]
        return all(value > low for low in lows) and all(value < high for high in highs)


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyResult:
    """A key result and its current value; check-ins are kept apart (`okr_core.checkins`).

    `current` and `last_check_in_at` summarise the latest check-in so a store can load the tree
    without its history; None means no check-in yet, and progress then uses `initial`.
    `owners` are person ids; when empty, the key result belongs to its objective's owner.

    Example:
        KeyResult(id="kr-1", objective_id="o-1", cycle_id="2024-q3",
                  title="Increase MRR from $500K to $1M",
                  measurement=MeasurementType.CURRENCY, currency="USD",
                  initial=500_000, target=1_000_000)
    """

    id: str
    objective_id: str
    cycle_id: str
    title: str
    target: float
    initial: float = 0.0
    critical: float | None = None
    measurement: MeasurementType = MeasurementType.NUMERIC
    progress_type: ProgressType = ProgressType.INCREASE_TO
    unit: str = ""
    currency: str | None = None
    range: Range | None = None
    weight: float | None = None
    owners: tuple[str, ...] = ()
    deadline: date | None = None
    hard_deadline: bool = False
    cadence: Cadence | None = None
    state: KeyResultState = KeyResultState.DRAFT
    current: float | None = None
    last_check_in_at: datetime | None = None
    rolled_over_from: str | None = None
    tags: tuple[str, ...] = ()
    """Labels an admin groups key results by; metric mappings select key results by tag."""

    def __post_init__(self) -> None:
        subject = f"key result `{self.id}`"
        require_id(subject, "id", self.id)
        require_id(subject, "objective_id", self.objective_id)
        require_id(subject, "cycle_id", self.cycle_id)
        coerce_enum(self, subject, "measurement", MeasurementType)
        coerce_enum(self, subject, "progress_type", ProgressType)
        coerce_enum(self, subject, "state", KeyResultState)
        if self.cadence is not None:
            coerce_enum(self, subject, "cadence", Cadence)
        for field in ("initial", "target"):
            require_finite(subject, field, getattr(self, field))
        for field in ("critical", "weight", "current"):
            if getattr(self, field) is not None:
                require_finite(subject, field, getattr(self, field))
        _check_measurement(self, subject)
        _check_numbers(self, subject)
        _check_extras(self, subject)

    @property
    def is_metric(self) -> bool:
        """True for numeric, percentage and currency key results; binary ones are milestones."""
        return self.measurement is not MeasurementType.BINARY

    @property
    def unit_key(self) -> str:
        """The unit deciding whether metrics add up: currency code, ``%`` or the unit, case-folded."""
        if self.measurement is MeasurementType.CURRENCY:
            return (self.currency or "").casefold()
        if self.measurement is MeasurementType.PERCENTAGE:
            return "%"
        return self.unit.strip().casefold()

    @property
    def value(self) -> float:
        """The current value, or the initial number before the first check-in."""
        return self.initial if self.current is None else self.current

    def deadline_in(self, cycle: Cycle) -> date:
        """The deadline, defaulting to the end of the key result's cycle (seed 003)."""
        return cycle.end if self.deadline is None else self.deadline

    def cadence_in(self, cycle: Cycle) -> Cadence:
        """The update cadence, defaulting to the cycle's cadence (itself weekly by default)."""
        return cycle.cadence if self.cadence is None else self.cadence


def update_information(key_result: KeyResult) -> str:
    """The one-line summary shown when checking in (seed 003, "Update Information").

    Example:
        update_information(kr)  # initial 5, target 100, increase to
        # -> "Current value is 5, Should increase to 100"
    """
    verb = {
        ProgressType.INCREASE_TO: "Should increase to",
        ProgressType.DECREASE_TO: "Should decrease to",
        ProgressType.STAY_ABOVE: "Should stay above",
        ProgressType.STAY_BELOW: "Should stay below",
        ProgressType.ACHIEVED_OR_NOT: "Should be achieved",
    }[key_result.progress_type]
    if key_result.progress_type is ProgressType.ACHIEVED_OR_NOT:
        return f"Current value is {_number(key_result.value)}, {verb}"
    return f"Current value is {_number(key_result.value)}, {verb} {_number(key_result.target)}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _check_numbers(kr: KeyResult, subject: str) -> None:
    kind = kr.progress_type
    if kind in (ProgressType.INCREASE_TO, ProgressType.DECREASE_TO):
        if kr.critical is not None:
            raise InvalidValue(
                subject,
                "critical",
                kr.critical,
                "a critical number only applies to stay-above and stay-below key results; "
                "increase-to and decrease-to progress runs from the initial number, so drop it",
            )
        if kr.target == kr.initial:
            raise InvalidValue(
                subject,
                "target",
                kr.target,
                f"equals the initial number ({kr.initial}), so progress cannot be measured; "
                "set a target different from the starting value",
            )
    if kind is ProgressType.INCREASE_TO and kr.target < kr.initial:
        raise InvalidValue(
            subject,
            "target",
            kr.target,
            f"is below the initial number ({kr.initial}) of an increase-to key result; "
            "raise the target, or use progress type decrease_to",
        )
    if kind is ProgressType.DECREASE_TO and kr.target > kr.initial:
        raise InvalidValue(
            subject,
            "target",
            kr.target,
            f"is above the initial number ({kr.initial}) of a decrease-to key result; "
            "lower the target, or use progress type increase_to",
        )
    if kind is ProgressType.STAY_ABOVE and kr.critical is not None and kr.critical >= kr.target:
        raise InvalidValue(
            subject,
            "critical",
            kr.critical,
            f"must be below the target ({kr.target}) of a stay-above key result: it is the floor "
            "the value must never reach",
        )
    if kind is ProgressType.STAY_BELOW and kr.critical is not None and kr.critical <= kr.target:
        raise InvalidValue(
            subject,
            "critical",
            kr.critical,
            f"must be above the target ({kr.target}) of a stay-below key result: it is the ceiling "
            "the value must never reach",
        )


def _check_measurement(kr: KeyResult, subject: str) -> None:
    if kr.measurement is MeasurementType.BINARY:
        for field in ("initial", "target", "critical", "current"):
            value = getattr(kr, field)
            if value is not None and value not in (0, 1):
                raise InvalidValue(
                    subject,
                    field,
                    value,
                    "a binary key result is done (1) or not done (0); use 0 or 1, or a numeric measurement",
                )
    elif kr.progress_type is ProgressType.ACHIEVED_OR_NOT:
        raise InvalidValue(
            subject,
            "measurement",
            kr.measurement.value,
            "an achieved-or-not key result is binary; set measurement to binary",
        )
    if kr.progress_type is ProgressType.ACHIEVED_OR_NOT and (kr.initial, kr.target) != (0, 1):
        raise InvalidValue(
            subject,
            "initial/target",
            (kr.initial, kr.target),
            "an achieved-or-not key result starts at 0 (not achieved) and targets 1 (achieved)",
        )
    if kr.measurement is MeasurementType.CURRENCY:
        if kr.currency is None:
            raise InvalidValue(
                subject, "currency", None, "a currency key result needs a currency code such as USD or EUR"
            )
        if not _CURRENCY_CODE.fullmatch(kr.currency):
            raise InvalidValue(
                subject, "currency", kr.currency, "use a three-letter upper-case ISO 4217 code such as USD"
            )
    elif kr.currency is not None:
        raise InvalidValue(
            subject,
            "currency",
            kr.currency,
            f"only currency key results take a currency code, this one is {kr.measurement.value}; "
            "set measurement to currency or drop the code",
        )


def _check_extras(kr: KeyResult, subject: str) -> None:
    if kr.range is not None and not kr.range.contains_strictly(kr.target):
        raise InvalidValue(
            subject,
            "range",
            kr.range,
            f"the target ({kr.target}) must lie inside the yellow and red breakpoints, "
            "or meeting it would show the key result at risk",
        )
    if kr.weight is not None and kr.weight <= 0:
        raise InvalidValue(
            subject, "weight", kr.weight, "a weight must be above 0; leave it unset for weight 1"
        )
    for owner in kr.owners:
        require_id(subject, "owners", owner)
    if len(set(kr.owners)) != len(kr.owners):
        raise InvalidValue(subject, "owners", kr.owners, "lists a person twice; list each owner once")
    if kr.deadline is not None:
        require_date(subject, "deadline", kr.deadline)
    if kr.last_check_in_at is not None and kr.last_check_in_at.utcoffset() is None:
        raise InvalidValue(
            subject, "last_check_in_at", kr.last_check_in_at, "must be timezone-aware; attach tzinfo (UTC)"
        )
