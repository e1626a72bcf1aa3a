"""Small builders with sensible defaults, so each test states only what it is about."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from okr_core.checkins import CheckIn, PersonAuthor
from okr_core.cycles import Cycle, CycleKind, CycleState
from okr_core.key_results import KeyResult
from okr_core.objectives import Level, Objective, Owner, OwnerKind

Q3_START = date(2024, 7, 1)
Q3_END = date(2024, 9, 30)


def cycle(**overrides: Any) -> Cycle:
    fields: dict[str, Any] = {
        "id": "2024-q3",
        "name": "Q3 2024",
        "kind": CycleKind.QUARTERLY,
        "start": Q3_START,
        "end": Q3_END,
        "state": CycleState.IN_PROGRESS,
    }
    fields.update(overrides)
    return Cycle(**fields)


def person(person_id: str) -> Owner:
    return Owner(kind=OwnerKind.PERSON, id=person_id)


def objective(oid: str = "o-1", **overrides: Any) -> Objective:
    fields: dict[str, Any] = {
        "id": oid,
        "title": f"Objective {oid}",
        "cycle_id": "2024-q3",
        "level": Level.TEAM,
        "owner": person("alice"),
    }
    fields.update(overrides)
    return Objective(**fields)


def kr(krid: str = "kr-1", **overrides: Any) -> KeyResult:
    fields: dict[str, Any] = {
        "id": krid,
        "objective_id": "o-1",
        "cycle_id": "2024-q3",
        "title": f"Key result {krid}",
        "initial": 0.0,
        "target": 100.0,
    }
    fields.update(overrides)
    return KeyResult(**fields)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def check_in(
    value: float, *, key_result_id: str = "kr-1", day: date = date(2024, 8, 1), **overrides: Any
) -> CheckIn:
    fields: dict[str, Any] = {
        "id": f"ci-{key_result_id}-{day.isoformat()}-{value}",
        "key_result_id": key_result_id,
        "value": value,
        "at": at(day),
        "author": PersonAuthor(person_id="alice"),
    }
    fields.update(overrides)
    return CheckIn(**fields)
