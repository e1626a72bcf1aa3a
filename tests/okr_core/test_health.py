"""Alignment health: depth, unaligned objectives and stale key results."""

from __future__ import annotations

from datetime import date

from okr_core.cycles import Cadence, CycleState
from okr_core.health import alignment_health
from okr_core.key_results import KeyResultState
from okr_core.objectives import Level
from okr_core.tree import AlignmentTree

from .builders import at, cycle, kr, objective


def test_alignment_health():
    tree = AlignmentTree(
        cycles=[
            cycle(),
            cycle(id="old", state=CycleState.CLOSED, start=date(2024, 4, 1), end=date(2024, 6, 30)),
        ],
        objectives=[
            objective("company", level=Level.COMPANY),
            objective("team", level=Level.TEAM, parent_id="company"),
            objective("orphan", level=Level.TEAM),
            objective("past", level=Level.TEAM, cycle_id="old", parent_id="company"),
        ],
        key_results=[
            kr("fresh", objective_id="team", last_check_in_at=at(date(2024, 8, 10)), current=1),
            kr("stale", objective_id="team", last_check_in_at=at(date(2024, 8, 1)), current=1),
            kr("never", objective_id="team"),
            kr(
                "monthly",
                objective_id="team",
                cadence=Cadence.MONTHLY,
                last_check_in_at=at(date(2024, 8, 1)),
                current=1,
            ),
            kr("closed", objective_id="team", state=KeyResultState.CLOSED, current=100),
            kr("old-cycle", objective_id="past", cycle_id="old"),
        ],
    )
    health = alignment_health(tree, as_of=date(2024, 8, 15))
    assert health.depth == 2
    assert health.unaligned == ("orphan",)
    assert [s.key_result_id for s in health.stale] == ["never", "stale"]
    never, stale = health.stale
    assert (never.last_check_in, never.days_since, never.cadence_days) == (None, 45, 7)
    assert (stale.last_check_in, stale.days_since) == (date(2024, 8, 1), 14)


def test_exactly_one_cadence_is_not_yet_stale():
    tree = AlignmentTree(
        cycles=[cycle()],
        objectives=[objective()],
        key_results=[kr(last_check_in_at=at(date(2024, 8, 8)), current=1)],
    )
    assert alignment_health(tree, as_of=date(2024, 8, 15)).stale == ()
    assert len(alignment_health(tree, as_of=date(2024, 8, 16)).stale) == 1
