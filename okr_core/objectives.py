"""Objectives: what an organisation, a unit, a team or a person wants to achieve in a cycle.

Objectives sit at one of five levels and align to a parent objective, at any level, forming the
alignment tree (`okr_core.tree`). Their progress comes from their key results, their child
objectives, or both (`ProgressSource`), and a custom target changes how key results add up
(`ObjectiveTarget`, seed 001 "Progress Settings").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from okr_core._checks import coerce_enum, require_finite, require_id
from okr_core.errors import AlignmentCycleError, InvalidValue


class Level(StrEnum):
    """Where an objective sits in the organisation."""

    COMPANY = "company"
    BUSINESS_UNIT = "business_unit"
    DEPARTMENT = "department"
    TEAM = "team"
    INDIVIDUAL = "individual"


class ObjectiveKind(StrEnum):
    """Committed objectives must be met in full; aspirational and learning ones are scored."""

    COMMITTED = "committed"
    ASPIRATIONAL = "aspirational"
    LEARNING = "learning"


class OwnerKind(StrEnum):
    """Who owns an objective."""

    PERSON = "person"
    DEPARTMENT = "department"
    TEAM = "team"


class ProgressSource(StrEnum):
    """Where an objective's progress comes from.

    KEY_RESULTS uses its own key results, CHILDREN the average of its child objectives, and BOTH
    the mean of the two parts (either part alone when the other is empty).
    """

    KEY_RESULTS = "key_results"
    CHILDREN = "children"
    BOTH = "both"


@dataclass(frozen=True, kw_only=True, slots=True)
class Owner:
    """A person, department or team that owns an objective.

    Example:
        Owner(kind=OwnerKind.PERSON, id="p-42")
        Owner(kind=OwnerKind.TEAM, id="team-growth")
    """

    kind: OwnerKind
    id: str

    def __post_init__(self) -> None:
        coerce_enum(self, "owner", "kind", OwnerKind)
        require_id("owner", "id", self.id)

    @property
    def person_id(self) -> str | None:
        """The person's id when a person owns it, else None."""
        return self.id if self.kind is OwnerKind.PERSON else None


@dataclass(frozen=True, kw_only=True, slots=True)
class ObjectiveTarget:
    """A custom objective target (seed 001, "Progress Settings").

    The key results whose unit matches `unit` are summed and compared with `value`; other key
    results are still tracked but do not count. With `auto`, the target follows the sum of those
    key results' targets as key results are added or changed ("Updating goal targets
    automatically"). A `start` value turns it into a reduction goal when it is above the target.

    Example:
        ObjectiveTarget(value=500_000, unit="USD")            # sales rep: $500k counts
        ObjectiveTarget(unit="calls", auto=True)              # 10 calls, then 15 when one is added
        ObjectiveTarget(value=20, unit="minutes", start=45)   # reduce call time 45 -> 20
    """

    unit: str
    value: float | None = None
    auto: bool = False
    start: float | None = None

    def __post_init__(self) -> None:
        subject = "objective target"
        if not self.unit.strip():
            raise InvalidValue(subject, "unit", self.unit, "name the unit of the key results that count")
        if self.value is None and not self.auto:
            raise InvalidValue(subject, "value", None, "set a target value, or set auto=True to sum targets")
        if self.value is not None:
            require_finite(subject, "value", self.value)
        if self.start is not None:
            require_finite(subject, "start", self.start)
            if self.value is not None and not self.auto and self.value == self.start:
                raise InvalidValue(
                    subject, "start", self.start, "equals the target value; set a different start or drop it"
                )


@dataclass(frozen=True, kw_only=True, slots=True)
class Objective:
    """An objective in a cycle, owned by a person, department or team.

    Example:
        Objective(id="o-1", title="Grow revenue from existing accounts", cycle_id="2024-q3",
                  level=Level.COMPANY, kind=ObjectiveKind.COMMITTED,
                  owner=Owner(kind=OwnerKind.PERSON, id="ceo"))
    """

    id: str
    title: str
    cycle_id: str
    level: Level
    owner: Owner
    kind: ObjectiveKind = ObjectiveKind.COMMITTED
    parent_id: str | None = None
    progress_source: ProgressSource = ProgressSource.KEY_RESULTS
    target: ObjectiveTarget | None = None

    def __post_init__(self) -> None:
        subject = f"objective `{self.id}`"
        require_id(subject, "id", self.id)
        require_id(subject, "cycle_id", self.cycle_id)
        coerce_enum(self, subject, "level", Level)
        coerce_enum(self, subject, "kind", ObjectiveKind)
        coerce_enum(self, subject, "progress_source", ProgressSource)
        if self.parent_id is not None:
            require_id(subject, "parent_id", self.parent_id)
            if self.parent_id == self.id:
                raise AlignmentCycleError("objective", self.id, self.parent_id, (self.id, self.id))
