"""Between okr_core value objects and store rows: one function each way per kind.

Rows name each other by integer ids; okr_core names them by external key. The `*_values`
functions give the columns a domain object fills (everything but the id references, which the
writer resolves); the `*_from_row` functions rebuild the domain object from a row and the keys
its references resolve to. A row is anything with the table's columns as attributes: a model
instance, or a Core result row (possibly with extra labelled columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.okrs.records import AdminAuthor, Author, CheckInRecord
from okr_core.checkins import ConnectorAuthor, PersonAuthor
from okr_core.cycles import Cadence, Cycle, CycleKind, CycleState
from okr_core.key_results import KeyResult, KeyResultState, MeasurementType, ProgressType, Range
from okr_core.objectives import (
    Level,
    Objective,
    ObjectiveKind,
    ObjectiveTarget,
    Owner,
    OwnerKind,
    ProgressSource,
)


def cycle_values(cycle: Cycle) -> dict[str, Any]:
    """Columns of `okr_cycles` for `cycle`, without `parent_id`."""
    return {
        "key": cycle.id,
        "name": cycle.name,
        "kind": cycle.kind.value,
        "start_date": cycle.start,
        "end_date": cycle.end,
        "state": cycle.state.value,
        "cadence": cycle.cadence.value,
    }


def cycle_from_row(row: Any, parent_key: str | None) -> Cycle:
    """The `Cycle` a row holds."""
    return Cycle(
        id=row.key,
        name=row.name,
        kind=CycleKind(row.kind),
        start=row.start_date,
        end=row.end_date,
        parent_id=parent_key,
        state=CycleState(row.state),
        cadence=Cadence(row.cadence),
    )


def objective_values(objective: Objective) -> dict[str, Any]:
    """Columns of `okr_objectives` for `objective`, without `cycle_id` and `parent_id`."""
    target = objective.target
    return {
        "key": objective.id,
        "title": objective.title,
        "level": objective.level.value,
        "kind": objective.kind.value,
        "owner_kind": objective.owner.kind.value,
        "owner_id": objective.owner.id,
        "progress_source": objective.progress_source.value,
        "target_unit": target.unit if target else None,
        "target_value": target.value if target else None,
        "target_auto": target.auto if target else False,
        "target_start": target.start if target else None,
    }


def objective_from_row(row: Any, cycle_key: str, parent_key: str | None) -> Objective:
    """The `Objective` a row holds."""
    target = (
        ObjectiveTarget(
            unit=row.target_unit, value=row.target_value, auto=row.target_auto, start=row.target_start
        )
        if row.target_unit is not None
        else None
    )
    return Objective(
        id=row.key,
        title=row.title,
        cycle_id=cycle_key,
        level=Level(row.level),
        owner=Owner(kind=OwnerKind(row.owner_kind), id=row.owner_id),
        kind=ObjectiveKind(row.kind),
        parent_id=parent_key,
        progress_source=ProgressSource(row.progress_source),
        target=target,
    )


def key_result_values(kr: KeyResult) -> dict[str, Any]:
    """Columns of `okr_key_results` for `kr`, without `objective_id` and `cycle_id` (owners have a table)."""
    band = kr.range
    return {
        "key": kr.id,
        "title": kr.title,
        "measurement": kr.measurement.value,
        "progress_type": kr.progress_type.value,
        "unit": kr.unit,
        "currency": kr.currency,
        "initial_value": kr.initial,
        "target_value": kr.target,
        "critical_value": kr.critical,
        "range_red_low": band.red_low if band else None,
        "range_yellow_low": band.yellow_low if band else None,
        "range_yellow_high": band.yellow_high if band else None,
        "range_red_high": band.red_high if band else None,
        "weight": kr.weight,
        "deadline": kr.deadline,
        "hard_deadline": kr.hard_deadline,
        "cadence": kr.cadence.value if kr.cadence else None,
        "state": kr.state.value,
        "current_value": kr.current,
        "last_check_in_at": kr.last_check_in_at,
        "rolled_over_from": kr.rolled_over_from,
        "tags": list(kr.tags),
    }


def key_result_from_row(row: Any, objective_key: str, cycle_key: str, owners: Sequence[str]) -> KeyResult:
    """The `KeyResult` a row holds, with its owners' employee ids in order."""
    bounds = (row.range_red_low, row.range_yellow_low, row.range_yellow_high, row.range_red_high)
    band = (
        Range(red_low=bounds[0], yellow_low=bounds[1], yellow_high=bounds[2], red_high=bounds[3])
        if any(bound is not None for bound in bounds)
        else None
    )
    return KeyResult(
        id=row.key,
        objective_id=objective_key,
        cycle_id=cycle_key,
        title=row.title,
        target=row.target_value,
        initial=row.initial_value,
        critical=row.critical_value,
        measurement=MeasurementType(row.measurement),
        progress_type=ProgressType(row.progress_type),
        unit=row.unit,
        currency=row.currency,
        range=band,
        weight=row.weight,
        owners=tuple(owners),
        deadline=row.deadline,
        hard_deadline=row.hard_deadline,
        cadence=Cadence(row.cadence) if row.cadence else None,
        state=KeyResultState(row.state),
        current=row.current_value,
        last_check_in_at=row.last_check_in_at,
        rolled_over_from=row.rolled_over_from,
        tags=tuple(row.tags or ()),
    )


def check_in_values(
    *,
    key_result_id: int,
    value: float,
    at: datetime,
    author: Author,
    note: str,
    confidence: int | None,
    recorded_at: datetime,
    fetched_at: datetime | None,
) -> dict[str, Any]:
    """Columns of `okr_check_ins` for one check-in, with the author's provenance spread out."""
    values: dict[str, Any] = {
        "key_result_id": key_result_id,
        "value": float(value),
        "at": at,
        "note": note,
        "confidence": confidence,
        "recorded_at": recorded_at,
        "author_kind": "admin",
        "author_employee_id": None,
        "connection": None,
        "mapping": None,
        "run_id": None,
        "query": None,
        "raw_result": None,
        "fetched_at": None,
    }
    if isinstance(author, PersonAuthor):
        values.update(author_kind="person", author_employee_id=author.person_id)
    elif isinstance(author, ConnectorAuthor):
        values.update(
            author_kind="connector",
            connection=author.connection,
            mapping=author.mapping,
            run_id=author.run_id,
            query=author.query,
            raw_result=author.raw_result,
            fetched_at=fetched_at or at,
        )
    return values


def author_from_row(row: Any) -> Author:
    """The author a check-in row names."""
    if row.author_kind == "person":
        return PersonAuthor(person_id=str(row.author_employee_id))
    if row.author_kind == "connector":
        return ConnectorAuthor(
            connection=str(row.connection),
            mapping=str(row.mapping),
            run_id=str(row.run_id),
            query=row.query or "",
            raw_result=row.raw_result or "",
        )
    return AdminAuthor()


def check_in_from_row(row: Any, key_result_key: str) -> CheckInRecord:
    """The history record a check-in row holds."""
    return CheckInRecord(
        id=row.id,
        key_result_key=key_result_key,
        value=row.value,
        at=row.at,
        author=author_from_row(row),
        note=row.note,
        confidence=row.confidence,
        recorded_at=row.recorded_at,
        fetched_at=row.fetched_at,
    )
