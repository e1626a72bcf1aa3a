"""Check-ins move a key result through its states and are refused, with the reason, when they can't land."""

from __future__ import annotations

import pickle
from datetime import date, datetime

import pytest

from okr_core.checkins import ConnectorAuthor, PersonAuthor, record_check_in, reopen_key_result
from okr_core.cycles import CycleState
from okr_core.errors import CheckInRefused, InvalidValue
from okr_core.key_results import KeyResultState, MeasurementType
from okr_core.progress import key_result_progress

from .builders import Q3_START, at, check_in, cycle, kr


def test_first_check_in_starts_the_key_result_and_leaves_the_input_untouched():
    # seed 003: "Watch 100 early entry recordings", initial 5, the owner watched 5 more: new value 10
    original = kr(initial=5, target=100)
    updated = record_check_in(original, check_in(10, note="watched 5 more recordings"), cycle=cycle())
    assert original.state is KeyResultState.DRAFT
    assert original.current is None
    assert updated.state is KeyResultState.IN_PROGRESS
    assert updated.current == 10
    assert updated.last_check_in_at == at(date(2024, 8, 1))
    assert key_result_progress(updated).progress == pytest.approx(5 / 95)


def test_reaching_full_progress_closes_the_key_result_and_later_check_ins_are_refused():
    # seed 003: "As soon as its Progress reaches 100%, it switches to Closed."
    q3 = cycle()
    done = record_check_in(kr(initial=0, target=10), check_in(10), cycle=q3)
    assert done.state is KeyResultState.CLOSED
    with pytest.raises(CheckInRefused, match="closed") as caught:
        record_check_in(done, check_in(11, day=date(2024, 8, 2)), cycle=q3)
    assert "reopen" in caught.value.reason
    reopened = reopen_key_result(done)
    assert reopened.state is KeyResultState.IN_PROGRESS
    assert record_check_in(reopened, check_in(12, day=date(2024, 8, 2)), cycle=q3).current == 12


def test_history_is_kept_and_the_latest_check_in_wins():
    q3 = cycle()
    history = [check_in(20, day=date(2024, 7, 8)), check_in(35, day=date(2024, 7, 22))]
    late_backfill = check_in(25, day=date(2024, 7, 15))
    key_result = kr()
    for entry in [*history, late_backfill]:
        key_result = record_check_in(key_result, entry, cycle=q3)
    assert key_result.current == 35  # the backfilled, older value joins history but is not current
    assert key_result.last_check_in_at == at(date(2024, 7, 22))


@pytest.mark.parametrize(
    ("cycle_state", "why"),
    [
        (CycleState.DRAFT, "has not started"),
        (CycleState.CLOSED, "is closed"),
    ],
)
def test_check_in_outside_an_in_progress_cycle_is_refused(cycle_state, why):
    # seed 003: "Users cannot Update Key Result without starting the session."
    with pytest.raises(CheckInRefused, match=why):
        record_check_in(kr(), check_in(5), cycle=cycle(state=cycle_state))


def test_check_in_dated_before_the_cycle_is_refused():
    with pytest.raises(CheckInRefused, match="before cycle `2024-q3` starts"):
        record_check_in(kr(), check_in(5, day=date(2024, 6, 30)), cycle=cycle())


def test_check_in_after_a_hard_deadline_is_refused_but_a_soft_deadline_lets_it_through():
    # seed 003: "If Hard Deadline is selected, Key Result cannot be updated after the deadline."
    q3 = cycle()
    late = check_in(5, day=date(2024, 8, 16))
    hard = kr(deadline=date(2024, 8, 15), hard_deadline=True)
    with pytest.raises(CheckInRefused, match="hard deadline 2024-08-15 has passed"):
        record_check_in(hard, late, cycle=q3)
    assert record_check_in(hard, check_in(5, day=date(2024, 8, 15)), cycle=q3).current == 5
    assert record_check_in(kr(deadline=date(2024, 8, 15)), late, cycle=q3).current == 5


def test_hard_deadline_defaults_to_the_end_of_the_cycle():
    q3 = cycle()
    with pytest.raises(CheckInRefused, match="hard deadline 2024-09-30"):
        record_check_in(kr(hard_deadline=True), check_in(5, day=date(2024, 10, 1)), cycle=q3)


def test_check_in_for_another_key_result_or_cycle_is_refused():
    with pytest.raises(CheckInRefused, match="is for key result `kr-2`"):
        record_check_in(kr(), check_in(5, key_result_id="kr-2"), cycle=cycle())
    with pytest.raises(CheckInRefused, match="belongs to cycle `2024-q3`"):
        record_check_in(
            kr(), check_in(5), cycle=cycle(id="2024-q4", start=date(2024, 10, 1), end=date(2024, 12, 31))
        )


@pytest.mark.parametrize("confidence", [-1, 11, 5.5, True])
def test_confidence_outside_zero_to_ten_is_refused(confidence):
    with pytest.raises(InvalidValue, match="confidence is a whole number from 0") as caught:
        check_in(5, confidence=confidence)
    assert caught.value.field == "confidence"


@pytest.mark.parametrize("confidence", [0, 7, 10, None])
def test_confidence_within_range_is_accepted(confidence):
    assert check_in(5, confidence=confidence).confidence == confidence


def test_naive_time_and_non_finite_values_are_refused():
    with pytest.raises(InvalidValue, match="timezone-aware"):
        check_in(5, at=datetime(2024, 8, 1, 9))
    with pytest.raises(InvalidValue, match="finite"):
        check_in(float("nan"))


def test_binary_key_result_takes_only_zero_or_one():
    binary = kr(measurement=MeasurementType.BINARY, target=1)
    with pytest.raises(InvalidValue, match="binary"):
        record_check_in(binary, check_in(0.5), cycle=cycle())
    assert record_check_in(binary, check_in(1), cycle=cycle()).state is KeyResultState.CLOSED


def test_connector_check_in_carries_its_provenance():
    author = ConnectorAuthor(
        connection="salesforce-prod",
        mapping="kr_pipeline_q3",
        run_id="run-881",
        query="SELECT SUM(Amount) FROM Opportunity WHERE StageName = 'Closed Won'",
        raw_result='{"totalSize": 1, "records": [{"expr0": 412000.0}]}',
    )
    entry = check_in(412_000, author=author, day=Q3_START)
    assert entry.author == author
    assert pickle.loads(pickle.dumps(entry)) == entry
    assert record_check_in(kr(target=1_000_000), entry, cycle=cycle()).current == 412_000
    with pytest.raises(InvalidValue, match="run_id"):
        ConnectorAuthor(connection="sf", mapping="m", run_id="", query="q", raw_result="{}")
    assert check_in(5).author == PersonAuthor(person_id="alice")


def test_refusal_leaves_nothing_changed():
    original = kr(initial=0, target=10, current=3, state=KeyResultState.IN_PROGRESS)
    snapshot = pickle.dumps(original)
    with pytest.raises(CheckInRefused):
        record_check_in(original, check_in(5), cycle=cycle(state=CycleState.CLOSED))
    assert pickle.dumps(original) == snapshot
