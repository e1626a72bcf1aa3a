"""The shape of an OKR import file: cycles, their objectives, their key results and check-ins.

YAML is the main format and nests exactly like these models; CSV (`hub.okrs.csv_format`) is
flattened into the same shape before it is validated, so both formats share one set of rules.
Every model refuses unknown keys, so a misspelt key is an error with a did-you-mean suggestion.

Owners are written as text: an employee id (`1001`), an email (resolved to the employee id
through the people table), or `department:X` / `team:X` for a department or team, where X is its
department key (`department:D101`) or, when one department has it, its name (`team:Growth
Marketing`); the key is stored. Key-result owners and check-in authors are people.

Example:
    ```yaml
    version: 1
    cycles:
      - key: 2026-Q4
        name: Q4 2026
        kind: quarterly
        start: 2026-10-01
        end: 2026-12-31
        state: in_progress
        objectives:
          - key: q4-company
            title: Grow net new ARR
            level: company
            owner: 1001
            key_results:
              - key: q4-arr
                title: Reach $1.2M in net new ARR
                measurement: currency
                currency: USD
                target: 1200000
                owners: [1002]
                check_ins:
                  - {at: 2026-10-15, value: 250000, by: 1002, note: two enterprise deals}
    ```
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from okr_core.cycles import Cadence, CycleKind, CycleState
from okr_core.key_results import MeasurementType, ProgressType
from okr_core.objectives import Level, ObjectiveKind, ProgressSource

Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
"""An external key: unique per kind (cycle, objective, key result) across the whole store."""


def _day_to_datetime(value: object) -> object:
    # A calendar date means its midnight, UTC.
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


Moment = Annotated[datetime, BeforeValidator(_day_to_datetime)]
"""A date-time; a plain date means its midnight, a naive date-time is taken as UTC."""

Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]
"""An owner or author: employee id, email, or `department:X` / `team:X` (department key or name)."""


class _Entry(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, coerce_numbers_to_str=True
    )


class RangeEntry(_Entry):
    """Yellow and red breakpoints of a range key result (at least one red one)."""

    red_low: float | None = None
    """At or below this the key result is red."""
    yellow_low: float | None = None
    """At or below this the key result is yellow."""
    yellow_high: float | None = None
    """At or above this the key result is yellow."""
    red_high: float | None = None
    """At or above this the key result is red."""


class TargetEntry(_Entry):
    """A custom objective target: the key results in `unit` are summed against `value`."""

    unit: str
    """Unit of the key results that count (currency code, `%`, or a unit such as `calls`)."""
    value: float | None = None
    """The objective's target; leave out with `auto: true`."""
    auto: bool = False
    """Follow the sum of the counted key results' targets."""
    start: float | None = None
    """Starting value; above `value` it makes a reduction goal."""


class CheckInEntry(_Entry):
    """A check-in from the key result's history."""

    at: Moment
    """When the value held: a date (midnight UTC) or a date-time with zone (naive means UTC)."""
    value: float
    """The value checked in (0 or 1 for binary key results)."""
    by: Reference | None = None
    """Who checked in: employee id or email; left out means the `admin` author."""
    note: str = ""
    """What happened."""
    confidence: int | None = None
    """0 (no chance) to 10 (certain) that the key result will be met."""


class KeyResultEntry(_Entry):
    """A key result under an objective; it lives in its objective's cycle."""

    key: Key
    """External key, unique among key results; `okrhub okrs checkin KEY VALUE` uses it."""
    title: str
    """What will be measured, e.g. `Reach $1.2M in net new ARR`."""
    target: float | None = None
    """Target value; binary key results default to 1 (done)."""
    initial: float = 0.0
    """Starting value."""
    critical: float | None = None
    """Stay-above floor / stay-below ceiling the value must never reach."""
    measurement: MeasurementType = MeasurementType.NUMERIC
    """numeric, percentage, currency or binary."""
    progress_type: ProgressType = ProgressType.INCREASE_TO
    """increase_to, decrease_to, stay_above, stay_below or achieved_or_not."""
    unit: str = ""
    """Unit shown after numbers, e.g. `hires`."""
    currency: str | None = None
    """ISO 4217 code for currency key results, e.g. `USD`."""
    range: RangeEntry | None = None
    """Breakpoints that colour the value itself yellow or red."""
    weight: float | None = None
    """Weight in its objective's average (1 when left out)."""
    owners: list[Reference] = Field(default_factory=list)
    """People who own it (employee ids or emails); empty means the objective's owner."""
    deadline: date | None = None
    """Deadline; the cycle's end when left out."""
    hard_deadline: bool = False
    """Refuse check-ins after the deadline."""
    cadence: Cadence | None = None
    """How often it should be checked in; the cycle's cadence when left out."""
    tags: list[str] = Field(default_factory=list)
    """Labels to group key results by; metric mappings select key results by tag."""
    check_ins: list[CheckInEntry] = Field(default_factory=list)
    """History to record (appended once; a re-import finds them already there)."""


class ObjectiveEntry(_Entry):
    """An objective in a cycle, optionally aligned to a parent objective in any cycle."""

    key: Key
    """External key, unique among objectives."""
    title: str
    """What the owner wants to achieve."""
    level: Level
    """company, business_unit, department, team or individual."""
    owner: Reference
    """Employee id or email of a person, or `department:X` / `team:X` (department key or name)."""
    kind: ObjectiveKind = ObjectiveKind.COMMITTED
    """committed, aspirational or learning."""
    parent: Key | None = None
    """Key of the objective this one supports (in this file or already in the store)."""
    progress_source: ProgressSource = ProgressSource.KEY_RESULTS
    """Progress from key_results, children, or both."""
    target: TargetEntry | None = None
    """A custom target that sums key results of one unit."""
    key_results: list[KeyResultEntry] = Field(default_factory=list)
    """Its key results."""


class CycleEntry(_Entry):
    """A cycle and the objectives that live in it."""

    key: Key
    """External key, unique among cycles, e.g. `2026-Q4`."""
    name: str
    """Display name."""
    kind: CycleKind
    """quarterly, semi_annual or annual."""
    start: date
    """First day (inclusive)."""
    end: date
    """Last day (inclusive)."""
    parent: Key | None = None
    """Key of the cycle this one sits in (a quarter in its year)."""
    state: CycleState = CycleState.DRAFT
    """draft, in_progress or closed; key results take check-ins only while in progress."""
    cadence: Cadence = Cadence.WEEKLY
    """Default check-in cadence of its key results."""
    objectives: list[ObjectiveEntry] = Field(default_factory=list)
    """Objectives in this cycle."""


class OkrDocument(_Entry):
    """A whole OKR file."""

    version: Literal[1] = 1
    """Version of this file's format."""
    cycles: list[CycleEntry] = Field(default_factory=list)
    """Cycles, each with its objectives."""
