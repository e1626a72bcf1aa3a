"""Alignment health: how deep the tree is, what is aligned to nothing, and what has gone stale.

* depth: levels on the longest root-to-leaf path of the alignment tree.
* unaligned: objectives below company level with no parent; a company objective is the top of
  the tree, anything else without a parent is disconnected from the strategy (seed 000).
* stale: key results of in-progress cycles, not closed, with no check-in for longer than their
  cadence (weekly unless the key result or its cycle says otherwise; seed 001 "check into your
  goals at least once a week"). A key result never checked in counts from its cycle's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from okr_core.cycles import CycleState
from okr_core.key_results import KeyResultState
from okr_core.objectives import Level
from okr_core.tree import AlignmentTree


@dataclass(frozen=True, kw_only=True, slots=True)
class StaleKeyResult:
    """A key result overdue for a check-in."""

    key_result_id: str
    last_check_in: date | None
    days_since: int
    cadence_days: int


@dataclass(frozen=True, kw_only=True, slots=True)
class AlignmentHealth:
    """Depth of the tree, unaligned objective ids, and stale key results (most overdue first).

    Example:
        health = alignment_health(tree, as_of=date(2024, 8, 15))
        print(health.depth, len(health.unaligned), [s.key_result_id for s in health.stale])
    """

    depth: int
    unaligned: tuple[str, ...]
    stale: tuple[StaleKeyResult, ...]


def alignment_health(tree: AlignmentTree, as_of: date) -> AlignmentHealth:
    """Measure the tree's alignment health on `as_of`."""
    unaligned = tuple(
        o.id for o in tree.objectives.values() if o.parent_id is None and o.level is not Level.COMPANY
    )
    stale: list[StaleKeyResult] = []
    cycles = tree.cycles
    for kr in tree.key_results.values():
        cycle = cycles[kr.cycle_id]
        if cycle.state is not CycleState.IN_PROGRESS or kr.state is KeyResultState.CLOSED:
            continue
        last = None if kr.last_check_in_at is None else kr.last_check_in_at.date()
        days_since = (as_of - (cycle.start if last is None else last)).days
        cadence_days = kr.cadence_in(cycle).days
        if days_since > cadence_days:
            stale.append(
                StaleKeyResult(
                    key_result_id=kr.id, last_check_in=last, days_since=days_since, cadence_days=cadence_days
                )
            )
    stale.sort(key=lambda s: (-s.days_since, s.key_result_id))
    return AlignmentHealth(depth=tree.depth(), unaligned=unaligned, stale=tuple(stale))
