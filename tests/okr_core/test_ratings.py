"""The pure rules of ratings: scales, calibration chains, finalize/reopen, distributions, 9-box."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okr_core.errors import InvalidTransition, InvalidValue
from okr_core.ratings import (
    Band,
    RatingRefused,
    RatingScale,
    ReviewCycle,
    ReviewState,
    ScaleValue,
    calibrate,
    distribution,
    finalize,
    level_of,
    management_chain,
    new_rating,
    nine_box,
    reopen,
)

LABELS = ["Below", "Partly", "Meets", "Exceeds", "Exceptional"]
SCALE = RatingScale(values=tuple(ScaleValue(value=v, label=label) for v, label in enumerate(LABELS, 1)))
CYCLE = ReviewCycle(
    key="r",
    name="Review",
    scale=SCALE,
    levels=("manager", "director", "vp"),
    guideline={1: 0.1, 2: 0.1, 3: 0.6, 4: 0.1, 5: 0.1},
)
CHAIN = ("m", "d", "v")
AT = datetime(2026, 11, 1, tzinfo=UTC)


def _calibrate(value: int, by: str, level: str | None = None, cycle: ReviewCycle = CYCLE):
    rating = new_rating(cycle, employee_id="p", value=3)
    return calibrate(cycle, rating, new_value=value, by=by, rationale="why", at=AT, chain=CHAIN, level=level)


def test_scales_need_unique_ordered_values_and_labels() -> None:
    with pytest.raises(InvalidValue, match="only once"):
        RatingScale(values=(ScaleValue(value=1, label="a"), ScaleValue(value=1, label="b")))
    with pytest.raises(InvalidValue, match="ascending"):
        RatingScale(values=(ScaleValue(value=2, label="a"), ScaleValue(value=1, label="b")))
    with pytest.raises(InvalidValue, match="label"):
        RatingScale(values=(ScaleValue(value=1, label="a"), ScaleValue(value=2, label="a")))
    assert SCALE.label(4) == "Exceeds"


def test_off_scale_values_are_refused() -> None:
    with pytest.raises(InvalidValue, match="not on the rating scale"):
        new_rating(CYCLE, employee_id="p", value=0)
    with pytest.raises(InvalidValue, match="potential"):
        new_rating(CYCLE, employee_id="p", value=3, potential=6)
    with pytest.raises(InvalidValue, match="add up to 1"):
        ReviewCycle(key="r", name="R", scale=SCALE, guideline={3: 0.5})


def test_calibration_keeps_the_original_and_records_the_change() -> None:
    after, change = _calibrate(4, by="d")
    assert (after.manager_value, after.current_value) == (3, 4)
    assert (change.previous_value, change.new_value, change.level, change.by, change.rationale) == (
        3,
        4,
        "director",
        "d",
        "why",
    )


def test_only_the_chain_member_at_the_level_may_calibrate() -> None:
    with pytest.raises(RatingRefused, match="held by `d`"):
        _calibrate(4, by="m", level="director")
    with pytest.raises(RatingRefused, match="not in the person's management chain"):
        _calibrate(4, by="stranger")
    assert level_of(CYCLE, CHAIN, "v") == "vp"
    short = ("m",)
    with pytest.raises(RatingRefused, match="nobody"):
        calibrate(
            CYCLE,
            new_rating(CYCLE, employee_id="p", value=3),
            new_value=4,
            by="d",
            rationale="x",
            at=AT,
            chain=short,
            level="director",
        )


def test_calibration_needs_a_reason_an_aware_time_and_a_change() -> None:
    rating = new_rating(CYCLE, employee_id="p", value=3)
    with pytest.raises(InvalidValue, match="rationale"):
        calibrate(CYCLE, rating, new_value=4, by="m", rationale=" ", at=AT, chain=CHAIN)
    with pytest.raises(InvalidValue, match="timezone"):
        calibrate(CYCLE, rating, new_value=4, by="m", rationale="x", at=datetime(2026, 1, 1), chain=CHAIN)
    with pytest.raises(RatingRefused, match="already 3"):
        calibrate(CYCLE, rating, new_value=3, by="m", rationale="x", at=AT, chain=CHAIN)


def test_finalize_locks_and_reopen_needs_a_reason() -> None:
    final = finalize(CYCLE)
    assert final.state is ReviewState.FINALIZED
    with pytest.raises(RatingRefused, match="finalized and its ratings are locked; reopen it first"):
        _calibrate(4, by="m", cycle=final)
    with pytest.raises(InvalidTransition):
        finalize(final)
    with pytest.raises(InvalidValue, match="reason"):
        reopen(final, reason="")
    with pytest.raises(InvalidTransition):
        reopen(CYCLE, reason="x")
    assert reopen(final, reason="appeal").state is ReviewState.OPEN


def test_management_chain_stops_at_the_top_and_at_loops() -> None:
    managers = {"p": "m", "m": "d", "d": "v", "v": None}
    assert management_chain("p", managers, 2) == ("m", "d")
    assert management_chain("p", managers, 9) == ("m", "d", "v")
    assert management_chain("a", {"a": "b", "b": "a"}, 5) == ("b",)


def test_distribution_flags_shares_off_the_guideline() -> None:
    dist = distribution([3, 3, 3, 4, 4, 5, 5, 5, 5, 5], SCALE, guideline=CYCLE.guideline)
    assert [b.count for b in dist.buckets] == [0, 0, 3, 2, 5]
    assert [b.value for b in dist.flagged] == [3, 5]
    # exactly at the tolerance is not flagged
    assert not distribution([3] * 5 + [4] * 5, SCALE, guideline={3: 0.4, 4: 0.6}, tolerance=0.1).flagged
    assert distribution([], SCALE, guideline=CYCLE.guideline).flagged == ()


@given(st.lists(st.sampled_from(SCALE.numbers), max_size=60))
def test_distribution_counts_add_up(values: list[int]) -> None:
    dist = distribution(values, SCALE, guideline=CYCLE.guideline)
    assert dist.total == len(values) == sum(b.count for b in dist.buckets)
    if values:
        assert abs(sum(b.share for b in dist.buckets) - 1) < 1e-9
    for bucket in dist.buckets:
        assert bucket.flagged == (bool(values) and abs(bucket.share - (bucket.guideline or 0)) > 0.1 + 1e-9)


@given(st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=5))
def test_nine_box_is_monotonic(performance: int, potential: int) -> None:
    box = nine_box(SCALE, performance=performance, potential=potential)
    assert box is not None
    if performance < 5:
        higher = nine_box(SCALE, performance=performance + 1, potential=potential)
        assert higher is not None
        assert higher.box >= box.box


def test_nine_box_thirds() -> None:
    assert [SCALE.band(v) for v in SCALE.numbers] == [Band.LOW, Band.LOW, Band.MID, Band.HIGH, Band.HIGH]
    star = nine_box(SCALE, performance=5, potential=4)
    assert star is not None
    assert (star.box, star.name) == (9, "Star")
    assert nine_box(SCALE, performance=5, potential=None) is None


def test_refusals_survive_pickling() -> None:
    err = RatingRefused("rating of `p`", "locked")
    again = pickle.loads(pickle.dumps(err))
    assert again.attrs() == err.attrs()
