"""Cycles (Cloudoffix "sessions"): the time boxes objectives and key results live in.

A cycle is quarterly, semi-annual or annual, may sit under a parent cycle, and moves
draft -> in progress -> closed. Key results can only be checked in while their cycle is in
progress (seed 003: "Users cannot Update Key Result without starting the session"). Closing a
cycle grades it; see `okr_core.grading.close_cycle`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from okr_core._checks import coerce_enum, require_date, require_id
from okr_core.errors import AlignmentCycleError, InvalidTransition, InvalidValue


class CycleKind(StrEnum):
    """How long a cycle runs."""

    QUARTERLY = "quarterly"
    SEMI_ANNUAL = "semi_annual"
    ANNUAL = "annual"


class CycleState(StrEnum):
    """Where a cycle is in its life: draft, then in progress, then closed."""

    DRAFT = "draft"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class Cadence(StrEnum):
    """How often a key result should be checked in; a key result is stale after one period without."""

    DAILY = "daily"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def days(self) -> int:
        """Length of one period in days (months are counted as 30 days, quarters as 91)."""
        return _CADENCE_DAYS[self]


_CADENCE_DAYS = {
    Cadence.DAILY: 1,
    Cadence.WEEKLY: 7,
    Cadence.BIWEEKLY: 14,
    Cadence.MONTHLY: 30,
    Cadence.QUARTERLY: 91,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Cycle:
    """A time box for OKRs, with start and end dates (both inclusive).

    `cadence` is the default update cadence of the key results in the cycle (seed 003: the
    session's cadence decides how often its key results are updated).

    Example:
        q3 = Cycle(id="2024-q3", name="Q3 2024", kind=CycleKind.QUARTERLY,
                   start=date(2024, 7, 1), end=date(2024, 9, 30), parent_id="2024")
        q3 = start_cycle(q3)
        assert q3.state is CycleState.IN_PROGRESS
    """

    id: str
    name: str
    kind: CycleKind
    start: date
    end: date
    parent_id: str | None = None
    state: CycleState = CycleState.DRAFT
    cadence: Cadence = Cadence.WEEKLY

    def __post_init__(self) -> None:
        subject = f"cycle `{self.id}`"
        require_id(subject, "id", self.id)
        coerce_enum(self, subject, "kind", CycleKind)
        coerce_enum(self, subject, "state", CycleState)
        coerce_enum(self, subject, "cadence", Cadence)
        require_date(subject, "start", self.start)
        require_date(subject, "end", self.end)
        if self.end < self.start:
            raise InvalidValue(
                subject,
                "end",
                self.end.isoformat(),
                f"the cycle ends before it starts ({self.start.isoformat()}); "
                "set an end date on or after the start date",
            )
        if self.parent_id is not None:
            require_id(subject, "parent_id", self.parent_id)
            if self.parent_id == self.id:
                raise AlignmentCycleError("cycle", self.id, self.parent_id, (self.id, self.id))

    def contains(self, day: date) -> bool:
        """Whether `day` falls between the cycle's start and end, both inclusive."""
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        """Number of days from start to end (0 for a one-day cycle)."""
        return (self.end - self.start).days


def start_cycle(cycle: Cycle) -> Cycle:
    """Move a draft cycle to in progress, so its key results can take check-ins.

    Raises:
        InvalidTransition: The cycle is already in progress or closed.
    """
    if cycle.state is not CycleState.DRAFT:
        raise InvalidTransition(
            f"cycle `{cycle.id}`",
            cycle.state.value,
            CycleState.IN_PROGRESS.value,
            "only a draft cycle can be started; a closed cycle stays closed, roll its unfinished "
            "key results over into a new cycle instead",
        )
    return dataclasses.replace(cycle, state=CycleState.IN_PROGRESS)


def check_within_parent(cycle: Cycle, parent: Cycle) -> None:
    """Refuse a sub-cycle whose dates spill outside its parent cycle.

    Raises:
        InvalidValue: `parent` is not the cycle's parent, or the dates are outside it.
    """
    subject = f"cycle `{cycle.id}`"
    if cycle.parent_id != parent.id:
        raise InvalidValue(subject, "parent_id", cycle.parent_id, f"expected `{parent.id}`")
    if not (parent.contains(cycle.start) and parent.contains(cycle.end)):
        raise InvalidValue(
            subject,
            "start/end",
            f"{cycle.start.isoformat()}..{cycle.end.isoformat()}",
            f"a sub-cycle must lie within its parent `{parent.id}` "
            f"({parent.start.isoformat()}..{parent.end.isoformat()}); move its dates inside",
        )
