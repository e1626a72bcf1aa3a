"""Grading at cycle close: committed OKRs pass or fail, aspirational and learning ones are scored.

Committed key results (and objectives) must be met in full: they score 1.0 (pass) at 100% and
0.0 (fail) below. Aspirational ones are scored 0.0 to 1.0 from their progress, rounded to two
decimals as graders do, in the usual bands: 0.7 and up green, 0.4 to 0.69 yellow, below 0.4 red.
Learning objectives measure what was learnt rather than output, so they are scored like
aspirational ones. An objective is graded from its own progress, so a committed objective whose
metrics add up to its target passes even when one key result fell short (seed 001).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from okr_core.cycles import Cycle, CycleState
from okr_core.errors import InvalidTransition, UnknownReference
from okr_core.objectives import ObjectiveKind
from okr_core.rollup import compute_progress
from okr_core.status import Colour
from okr_core.tree import AlignmentTree

GREEN_FROM = 0.7
YELLOW_FROM = 0.4


@dataclass(frozen=True, kw_only=True, slots=True)
class Grade:
    """A score from 0.0 to 1.0, its colour band, and for committed OKRs whether it passed.

    Example:
        grade(ObjectiveKind.ASPIRATIONAL, 0.72)   # Grade(score=0.72, colour=GREEN, passed=None)
        grade(ObjectiveKind.COMMITTED, 0.98)      # Grade(score=0.0, colour=RED, passed=False)
    """

    score: float
    colour: Colour
    passed: bool | None = None


def grade(kind: ObjectiveKind, progress: float) -> Grade:
    """Grade a progress fraction (0..1) for an objective (or its key results) of `kind`."""
    if kind is ObjectiveKind.COMMITTED:
        passed = progress >= 1.0
        return Grade(
            score=1.0 if passed else 0.0, colour=Colour.GREEN if passed else Colour.RED, passed=passed
        )
    score = round(min(max(progress, 0.0), 1.0), 2)
    return Grade(score=score, colour=band(score))


def band(score: float) -> Colour:
    """Colour band of an aspirational score: 0.7+ green, 0.4-0.69 yellow, below red."""
    if score >= GREEN_FROM:
        return Colour.GREEN
    if score >= YELLOW_FROM:
        return Colour.YELLOW
    return Colour.RED


@dataclass(frozen=True, kw_only=True, slots=True)
class CycleClosing:
    """The closed cycle, the grades of its key results and objectives, and what is unfinished.

    `unfinished` lists the key results below 100%, ready for `okr_core.rollover.roll_over`.
    """

    cycle: Cycle
    key_results: Mapping[str, Grade]
    objectives: Mapping[str, Grade]
    unfinished: tuple[str, ...]


def close_cycle(tree: AlignmentTree, cycle_id: str) -> CycleClosing:
    """Close an in-progress cycle and grade everything in it, as of its end date.

    The tree is not changed; store `closing.cycle` (e.g. ``tree.with_cycle(closing.cycle)``).

    Raises:
        UnknownReference: No cycle `cycle_id` in the tree.
        InvalidTransition: The cycle is a draft or already closed.

    Example:
        closing = close_cycle(tree, "2024-q3")
        tree = tree.with_cycle(closing.cycle)
        next_krs = roll_over([tree.key_results[k] for k in closing.unfinished], target=q4)
    """
    cycle = tree.cycles.get(cycle_id)
    if cycle is None:
        raise UnknownReference("close_cycle", "cycle_id", cycle_id)
    if cycle.state is not CycleState.IN_PROGRESS:
        reason = (
            "it never started; start it first, or delete the draft"
            if cycle.state is CycleState.DRAFT
            else "it is already closed and graded"
        )
        raise InvalidTransition(f"cycle `{cycle.id}`", cycle.state.value, CycleState.CLOSED.value, reason)
    report = compute_progress(tree, cycle.end)
    objectives = tree.objectives
    kr_grades = {
        kr.id: grade(objectives[kr.objective_id].kind, report.key_results[kr.id].progress)
        for kr in tree.key_results.values()
        if kr.cycle_id == cycle_id
    }
    objective_grades = {
        o.id: grade(o.kind, report.objectives[o.id].progress.progress)
        for o in objectives.values()
        if o.cycle_id == cycle_id
    }
    unfinished = tuple(kr_id for kr_id in kr_grades if report.key_results[kr_id].progress < 1.0)
    return CycleClosing(
        cycle=dataclasses.replace(cycle, state=CycleState.CLOSED),
        key_results=MappingProxyType(kr_grades),
        objectives=MappingProxyType(objective_grades),
        unfinished=unfinished,
    )
