"""Grading at cycle close, and rolling unfinished key results over into the next cycle."""

from __future__ import annotations

from datetime import date

import pytest

from okr_core.cycles import CycleState
from okr_core.errors import InvalidTransition, InvalidValue, UnknownReference
from okr_core.grading import close_cycle, grade
from okr_core.key_results import KeyResultState, ProgressType
from okr_core.objectives import ObjectiveKind, ObjectiveTarget
from okr_core.rollover import roll_over
from okr_core.status import Colour
from okr_core.tree import AlignmentTree

from .builders import cycle, kr, objective

COMMITTED, ASPIRATIONAL, LEARNING = (
    ObjectiveKind.COMMITTED,
    ObjectiveKind.ASPIRATIONAL,
    ObjectiveKind.LEARNING,
)


@pytest.mark.parametrize(
    ("kind", "progress", "score", "colour", "passed"),
    [
        (COMMITTED, 1.0, 1.0, Colour.GREEN, True),
        (COMMITTED, 0.98, 0.0, Colour.RED, False),
        (COMMITTED, 0.0, 0.0, Colour.RED, False),
        (ASPIRATIONAL, 1.0, 1.0, Colour.GREEN, None),
        (ASPIRATIONAL, 0.7, 0.7, Colour.GREEN, None),
        (ASPIRATIONAL, 0.69, 0.69, Colour.YELLOW, None),
        (ASPIRATIONAL, 0.4, 0.4, Colour.YELLOW, None),
        (ASPIRATIONAL, 0.39, 0.39, Colour.RED, None),
        (ASPIRATIONAL, 0.0, 0.0, Colour.RED, None),
        (ASPIRATIONAL, 0.6349, 0.63, Colour.YELLOW, None),
        (LEARNING, 0.72, 0.72, Colour.GREEN, None),
    ],
)
def test_grade(kind, progress, score, colour, passed):
    result = grade(kind, progress)
    assert (result.score, result.colour, result.passed) == (score, colour, passed)


def closing_tree() -> AlignmentTree:
    return AlignmentTree(
        cycles=[cycle()],
        objectives=[
            objective("ship", kind=COMMITTED),
            objective("moon", kind=ASPIRATIONAL),
            objective("revenue", kind=COMMITTED, target=ObjectiveTarget(value=800, unit="USD")),
        ],
        key_results=[
            kr("ship-1", objective_id="ship", target=10, current=10, state=KeyResultState.CLOSED),
            kr("ship-2", objective_id="ship", unit="bugs", target=10, current=5),
            kr("moon-1", objective_id="moon", target=100, current=72),
            kr("moon-2", objective_id="moon", unit="users", target=100, current=40),
            # seed 001: a custom $800 target met although one key result fell short
            kr(
                "rev-1",
                objective_id="revenue",
                measurement="currency",
                currency="USD",
                target=500,
                current=500,
            ),
            kr(
                "rev-2",
                objective_id="revenue",
                measurement="currency",
                currency="USD",
                target=350,
                current=300,
            ),
        ],
    )


def test_closing_a_cycle_grades_it_and_lists_the_unfinished():
    tree = closing_tree()
    closing = close_cycle(tree, "2024-q3")
    assert closing.cycle.state is CycleState.CLOSED
    assert tree.cycles["2024-q3"].state is CycleState.IN_PROGRESS  # the tree itself is untouched
    assert closing.key_results["ship-1"].passed is True
    assert closing.key_results["ship-2"].passed is False
    assert closing.objectives["ship"].score == 0.0
    assert closing.key_results["moon-1"].score == 0.72
    assert closing.objectives["moon"].score == 0.56
    assert closing.objectives["moon"].colour is Colour.YELLOW
    assert closing.objectives["revenue"].passed is True
    assert set(closing.unfinished) == {"ship-2", "moon-1", "moon-2", "rev-2"}


@pytest.mark.parametrize(
    ("state", "why"), [(CycleState.DRAFT, "never started"), (CycleState.CLOSED, "already closed")]
)
def test_only_an_in_progress_cycle_can_be_closed(state, why):
    tree = AlignmentTree(cycles=[cycle(state=state)])
    with pytest.raises(InvalidTransition, match=why):
        close_cycle(tree, "2024-q3")
    with pytest.raises(UnknownReference):
        close_cycle(tree, "2025-q1")


Q4 = cycle(
    id="2024-q4", name="Q4 2024", start=date(2024, 10, 1), end=date(2024, 12, 31), state=CycleState.DRAFT
)


def test_unfinished_key_results_roll_over_from_where_they_stopped():
    krs = [
        kr("done", target=10, current=10, state=KeyResultState.CLOSED),
        kr("half", target=10, current=5, deadline=date(2024, 9, 1), hard_deadline=True, owners=("bob",)),
        kr("untouched", initial=2, target=10),
        kr("down", progress_type=ProgressType.DECREASE_TO, initial=45, target=20, current=30),
    ]
    rolled = {k.rolled_over_from: k for k in roll_over(krs, target=Q4, objective_ids={"o-1": "o-1-q4"})}
    assert set(rolled) == {"half", "untouched", "down"}
    half = rolled["half"]
    assert (half.id, half.cycle_id, half.objective_id) == ("half@2024-q4", "2024-q4", "o-1-q4")
    assert (half.initial, half.target, half.current, half.state) == (5, 10, None, KeyResultState.DRAFT)
    assert half.deadline is None
    assert half.hard_deadline
    assert half.owners == ("bob",)
    assert rolled["untouched"].initial == 2
    assert rolled["down"].initial == 30


def test_rollover_refusals():
    with pytest.raises(InvalidValue, match="closed cycle"):
        roll_over([kr()], target=cycle(id="x", state=CycleState.CLOSED))
    with pytest.raises(InvalidValue, match="already in the target cycle"):
        roll_over([kr()], target=cycle())
    with pytest.raises(UnknownReference, match="o-1"):
        roll_over([kr()], target=Q4, objective_ids={})
    assert roll_over([kr()], target=Q4, new_id=lambda k: f"next-{k.id}")[0].id == "next-kr-1"
