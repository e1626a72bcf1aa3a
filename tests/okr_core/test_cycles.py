"""Cycles: dates in order, draft -> in progress -> closed, sub-cycles inside their parent."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from okr_core.cycles import Cadence, CycleKind, CycleState, check_within_parent, start_cycle
from okr_core.errors import InvalidTransition, InvalidValue

from .builders import cycle


def test_a_cycle_that_ends_before_it_starts_is_refused():
    with pytest.raises(InvalidValue, match="the cycle ends before it starts") as caught:
        cycle(start=date(2024, 9, 30), end=date(2024, 7, 1))
    assert caught.value.field == "end"
    assert "set an end date on or after the start date" in str(caught.value)


def test_a_datetime_is_not_a_date():
    with pytest.raises(InvalidValue, match="calendar date"):
        cycle(start=datetime(2024, 7, 1))


def test_starting_a_draft_and_only_a_draft():
    draft = cycle(state=CycleState.DRAFT)
    started = start_cycle(draft)
    assert started.state is CycleState.IN_PROGRESS
    assert draft.state is CycleState.DRAFT
    with pytest.raises(InvalidTransition, match="only a draft cycle can be started"):
        start_cycle(started)


def test_a_sub_cycle_must_lie_within_its_parent():
    year = cycle(id="2024", kind=CycleKind.ANNUAL, start=date(2024, 1, 1), end=date(2024, 12, 31))
    check_within_parent(cycle(parent_id="2024"), year)
    with pytest.raises(InvalidValue, match="must lie within its parent"):
        check_within_parent(cycle(parent_id="2024", end=date(2025, 1, 15)), year)


def test_one_day_cycle_and_cadence_lengths():
    day = cycle(start=date(2024, 7, 1), end=date(2024, 7, 1))
    assert day.days == 0
    assert day.contains(date(2024, 7, 1))
    assert [c.days for c in Cadence] == [1, 7, 14, 30, 91]
