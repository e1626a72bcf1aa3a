"""Objective and person progress, and the one-pass recompute of a whole alignment tree.

Objective progress follows Betterworks (seed 001, "Combined Key Results and Metrics Within One
Objective" and "Using Metrics to Calculate Overall Objective Progress"):

* By default it is the average of its key results' progress, weighted when weights are set
  (a key result without a weight weighs 1). Metrics and milestones mixed: the average of both.
* When the objective has two or more key results, all metrics of one unit moving the same way
  (all increase-to or all decrease-to), the metrics add up: the objective behaves as one big
  metric, ``(sum(values) - sum(initials)) / (sum(targets) - sum(initials))``. A key result
  without a check-in contributes its initial number as its value. With one metric, this is
  simply that key result's progress.
* A custom target (`ObjectiveTarget`) counts only the metrics in its unit, summed against its
  value: ``(sum(values) - start) / (target - start)``, start 0 unless given (a start above the
  target makes it a reduction goal). With ``auto`` the target is the sum of those metrics'
  targets, so it grows as key results are added.
* `ProgressSource.CHILDREN` takes the average of the child objectives instead, and `BOTH` the
  mean of the key-result part and the children part.

A person's progress is the average over everything they own: their objectives, and the key
results they own on other people's objectives (seed 001, "Calculating overall progress with
milestones"). A key result with no owners belongs to its objective's owner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from okr_core.key_results import KeyResult, MeasurementType, ProgressType
from okr_core.objectives import Objective, ObjectiveTarget, ProgressSource
from okr_core.progress import attainment, clamp01, key_result_progress
from okr_core.status import (
    DEFAULT_THRESHOLDS,
    Colour,
    StatusThresholds,
    expected_progress,
    pace_colour,
    range_colour,
)
from okr_core.tree import AlignmentTree


class ProgressMode(StrEnum):
    """Which rule produced an objective's progress."""

    EMPTY = "empty"
    AVERAGE = "average"
    SUM = "sum"
    CUSTOM_TARGET = "custom_target"
    CHILDREN = "children"
    BOTH = "both"


@dataclass(frozen=True, kw_only=True, slots=True)
class ObjectiveProgress:
    """An objective's progress (0..1), unclamped attainment, the rule used and, for sums, the totals.

    Example:
        p = objective_progress(objective, key_results)
        if p.mode is ProgressMode.CUSTOM_TARGET:
            print(f"{p.total:,.0f} of {p.target:,.0f}")
    """

    progress: float
    attainment: float
    mode: ProgressMode
    total: float | None = None
    target: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyResultReport:
    """A key result's progress, attainment, expected progress and status colour at a date."""

    progress: float
    attainment: float
    expected: float
    colour: Colour


@dataclass(frozen=True, kw_only=True, slots=True)
class ObjectiveReport:
    """An objective's progress, the rule behind it, expected progress and status colour at a date."""

    progress: ObjectiveProgress
    expected: float
    colour: Colour


@dataclass(frozen=True, kw_only=True, slots=True)
class PersonProgress:
    """A person's progress: the average over the objectives and foreign key results they own."""

    progress: float
    objectives: int
    key_results: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ProgressReport:
    """Everything `compute_progress` found, by id.

    Example:
        report = compute_progress(tree, date(2024, 8, 15))
        report.objectives["o-1"].colour           # Colour.YELLOW
        report.people["p-42"].progress            # 0.61
    """

    as_of: date
    key_results: Mapping[str, KeyResultReport]
    objectives: Mapping[str, ObjectiveReport]
    people: Mapping[str, PersonProgress]


_EMPTY = ObjectiveProgress(progress=0.0, attainment=0.0, mode=ProgressMode.EMPTY)
_SUMMABLE = (ProgressType.INCREASE_TO, ProgressType.DECREASE_TO)


def objective_progress(
    objective: Objective,
    key_results: Sequence[KeyResult],
    *,
    children: Sequence[ObjectiveProgress] = (),
) -> ObjectiveProgress:
    """Progress of one objective from its key results and, by its setting, its children.

    Example:
        objective_progress(objective, [kr1, kr2, kr3]).progress  # 0.94
    """
    progresses = [key_result_progress(kr) for kr in key_results]
    return _combine(
        objective,
        key_results,
        [p.progress for p in progresses],
        [p.attainment for p in progresses],
        children,
    )


def _combine(
    objective: Objective,
    key_results: Sequence[KeyResult],
    progresses: Sequence[float],
    attainments: Sequence[float],
    children: Sequence[ObjectiveProgress],
) -> ObjectiveProgress:
    source = objective.progress_source
    own = (
        _key_result_part(objective, key_results, progresses, attainments)
        if source is not ProgressSource.CHILDREN
        else None
    )
    below = _children_part(children) if source is not ProgressSource.KEY_RESULTS else None
    if own is None:
        return _EMPTY if below is None else below
    if below is None:
        return own
    return ObjectiveProgress(
        progress=(own.progress + below.progress) / 2,
        attainment=(own.attainment + below.attainment) / 2,
        mode=ProgressMode.BOTH,
    )


def _children_part(children: Sequence[ObjectiveProgress]) -> ObjectiveProgress | None:
    if not children:
        return None
    count = len(children)
    return ObjectiveProgress(
        progress=sum(c.progress for c in children) / count,
        attainment=sum(c.attainment for c in children) / count,
        mode=ProgressMode.CHILDREN,
    )


def _key_result_part(
    objective: Objective,
    key_results: Sequence[KeyResult],
    progresses: Sequence[float],
    attainments: Sequence[float],
) -> ObjectiveProgress | None:
    if not key_results:
        return None
    if objective.target is not None:
        return _custom_target(objective.target, key_results)
    if len(key_results) >= 2 and _all_add_up(key_results):
        initial = sum(kr.initial for kr in key_results)
        total = sum(kr.value for kr in key_results)
        target = sum(kr.target for kr in key_results)
        raw = _ratio(total, initial, target)
        return ObjectiveProgress(
            progress=clamp01(raw), attainment=raw, mode=ProgressMode.SUM, total=total, target=target
        )
    weighted = sum_weights = sum_attainment = 0.0
    for kr, progress, raw_part in zip(key_results, progresses, attainments, strict=True):
        weight = 1.0 if kr.weight is None else kr.weight
        weighted += weight * progress
        sum_attainment += weight * raw_part
        sum_weights += weight
    return ObjectiveProgress(
        progress=clamp01(weighted / sum_weights),
        attainment=sum_attainment / sum_weights,
        mode=ProgressMode.AVERAGE,
    )


def _all_add_up(key_results: Sequence[KeyResult]) -> bool:
    first = key_results[0]
    kind = first.progress_type
    if kind not in _SUMMABLE or any(
        kr.progress_type is not kind or kr.measurement is MeasurementType.BINARY for kr in key_results
    ):
        return False
    unit = first.unit_key
    return all(kr.unit_key == unit for kr in key_results)


def _custom_target(settings: ObjectiveTarget, key_results: Sequence[KeyResult]) -> ObjectiveProgress:
    unit = settings.unit.strip().casefold()
    counted = [kr for kr in key_results if kr.is_metric and kr.unit_key == unit]
    total = sum(kr.value for kr in counted)
    target = sum(kr.target for kr in counted) if settings.auto or settings.value is None else settings.value
    start = 0.0 if settings.start is None else settings.start
    raw = _ratio(total, start, target) if counted else 0.0
    return ObjectiveProgress(
        progress=clamp01(raw), attainment=raw, mode=ProgressMode.CUSTOM_TARGET, total=total, target=target
    )


def _ratio(total: float, start: float, target: float) -> float:
    if target == start:
        # an auto target can collapse onto its start; then the goal is met once reached
        return 1.0 if total == target else 0.0
    return (total - start) / (target - start)


def compute_progress(
    tree: AlignmentTree, as_of: date, *, thresholds: StatusThresholds = DEFAULT_THRESHOLDS
) -> ProgressReport:
    """Recompute every key result, objective (bottom-up) and person in the tree in one pass.

    Expected progress runs from each cycle's start to the key result's deadline (to the cycle's
    end for an objective); colours follow `okr_core.status`.

    Example:
        report = compute_progress(tree, as_of=date(2024, 8, 15))
        for oid, entry in report.objectives.items():
            print(oid, f"{entry.progress.progress:.0%}", entry.colour)
    """
    cycles = tree.cycles
    objectives = tree.objectives
    kr_lists = tree._kr_lists()
    child_lists = tree._child_lists()
    cycle_expected = {cid: expected_progress(c.start, c.end, as_of) for cid, c in cycles.items()}
    deadline_expected: dict[tuple[str, date], float] = {}

    kr_reports: dict[str, KeyResultReport] = {}
    obj_reports: dict[str, ObjectiveReport] = {}
    people: dict[str, list[float]] = {}  # person -> [sum of progress, objectives, key results]
    obj_progress: dict[str, ObjectiveProgress] = {}

    for oid in tree._bottom_up_ids():
        objective = objectives[oid]
        krs = kr_lists[oid]
        owner = objective.owner.person_id
        progresses: list[float] = []
        attainments: list[float] = []
        for kr in krs:
            value = kr.initial if kr.current is None else kr.current
            raw = attainment(
                kr.progress_type, value=value, initial=kr.initial, target=kr.target, critical=kr.critical
            )
            progress = 0.0 if raw <= 0.0 else 1.0 if raw >= 1.0 else raw
            progresses.append(progress)
            attainments.append(raw)
            if kr.deadline is None:
                exp = cycle_expected[kr.cycle_id]
            else:
                key = (kr.cycle_id, kr.deadline)
                cached = deadline_expected.get(key)
                if cached is None:
                    cached = deadline_expected[key] = expected_progress(
                        cycles[kr.cycle_id].start, kr.deadline, as_of
                    )
                exp = cached
            colour = (
                range_colour(kr.range, value)
                if kr.range is not None
                else pace_colour(progress, exp, thresholds)
            )
            kr_reports[kr.id] = KeyResultReport(
                progress=progress, attainment=raw, expected=exp, colour=colour
            )
            for person in kr.owners:
                if person != owner:
                    _add(people, person, progress, 2)
        result = _combine(
            objective, krs, progresses, attainments, [obj_progress[c] for c in child_lists[oid]]
        )
        obj_progress[oid] = result
        exp = cycle_expected[objective.cycle_id]
        obj_reports[oid] = ObjectiveReport(
            progress=result, expected=exp, colour=pace_colour(result.progress, exp, thresholds)
        )
        if owner is not None:
            _add(people, owner, result.progress, 1)

    person_reports = {
        person: PersonProgress(progress=total / (objs + krs), objectives=int(objs), key_results=int(krs))
        for person, (total, objs, krs) in people.items()
    }
    return ProgressReport(as_of=as_of, key_results=kr_reports, objectives=obj_reports, people=person_reports)


def _add(people: dict[str, list[float]], person: str, progress: float, slot: int) -> None:
    entry = people.get(person)
    if entry is None:
        entry = people[person] = [0.0, 0.0, 0.0]
    entry[0] += progress
    entry[slot] += 1
