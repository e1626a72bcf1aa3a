"""Objective progress as Betterworks defines it (seed 001), with the seed's worked examples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okr_core.errors import InvalidValue
from okr_core.key_results import KeyResult, MeasurementType, ProgressType
from okr_core.objectives import ObjectiveTarget, ProgressSource
from okr_core.progress import key_result_progress
from okr_core.rollup import ObjectiveProgress, ProgressMode, objective_progress

from .builders import kr, objective

BINARY = MeasurementType.BINARY


def usd(krid: str, target: float, value: float | None, initial: float = 0.0) -> KeyResult:
    return kr(
        krid,
        measurement=MeasurementType.CURRENCY,
        currency="USD",
        initial=initial,
        target=target,
        current=value,
    )


def milestone(krid: str, done: bool) -> KeyResult:
    return kr(
        krid, measurement=BINARY, progress_type=ProgressType.ACHIEVED_OR_NOT, target=1, current=int(done)
    )


# seed 001 "Using Metrics to Calculate Overall Objective Progress": metrics in dollars whose targets
# total 850,000; values here total 700,000 while the per-key-result average would be 0.8
FIVE_METRICS_TARGETS = (300_000, 200_000, 150_000, 100_000, 100_000)


def test_metrics_of_one_unit_add_up_against_the_sum_of_targets():
    values = (250_000, 200_000, 100_000, 100_000, 50_000)
    krs = [usd(f"kr-{i}", t, v) for i, (t, v) in enumerate(zip(FIVE_METRICS_TARGETS, values, strict=True))]
    result = objective_progress(objective(), krs)
    assert result.mode is ProgressMode.SUM
    assert result.target == 850_000
    assert result.total == 700_000
    assert result.progress == pytest.approx(700_000 / 850_000)


def test_custom_target_replaces_the_summed_target():
    # seed 001: "This goal's target is set to $800,000, so the target value may be achieved without
    # achieving 100% of each milestone's value."
    values = (300_000, 200_000, 150_000, 100_000, 50_000)  # the last key result is only at 50%
    krs = [usd(f"kr-{i}", t, v) for i, (t, v) in enumerate(zip(FIVE_METRICS_TARGETS, values, strict=True))]
    result = objective_progress(objective(target=ObjectiveTarget(value=800_000, unit="USD")), krs)
    assert result.mode is ProgressMode.CUSTOM_TARGET
    assert result.target == 800_000
    assert result.progress == 1.0
    assert result.attainment == pytest.approx(1.0)


def test_custom_target_counts_only_metrics_in_its_unit_and_milestones_are_just_tracked():
    # seed 001 "Progress Settings": the sales rep counts only revenue toward a $500,000 target while
    # still tracking training sessions and other accomplishments as key results
    krs = [
        usd("revenue", 600_000, 250_000),
        kr("training", unit="sessions", target=10, current=3),
        milestone("pitch-deck", done=True),
    ]
    result = objective_progress(objective(target=ObjectiveTarget(value=500_000, unit="USD")), krs)
    assert result.progress == pytest.approx(0.5)
    assert result.total == 250_000


def test_auto_target_follows_the_sum_of_targets_as_key_results_are_added():
    # seed 001 "Updating goal targets automatically": target 10 customer calls, then 5 more calls
    auto = objective(target=ObjectiveTarget(unit="calls", auto=True))
    first = kr("calls-1", unit="calls", target=10, current=6)
    before = objective_progress(auto, [first])
    assert before.target == 10
    assert before.progress == pytest.approx(0.6)
    after = objective_progress(auto, [first, kr("calls-2", unit="calls", target=5, current=0)])
    assert after.target == 15
    assert after.progress == pytest.approx(0.4)
    # a fixed target stays where it was set
    fixed = objective(target=ObjectiveTarget(unit="calls", value=10))
    assert objective_progress(fixed, [first, kr("calls-2", unit="calls", target=5, current=3)]).target == 10


def test_objective_starting_value_makes_a_reduction_goal():
    # seed 001 "Using reduction goals": progress settings with a starting value; call time 45 -> 20
    reduce = objective(target=ObjectiveTarget(value=20, unit="minutes", start=45))
    call_time = kr(progress_type=ProgressType.DECREASE_TO, initial=45, target=20, unit="minutes", current=30)
    assert objective_progress(reduce, [call_time]).progress == pytest.approx(0.6)


def test_summed_metrics_count_from_their_initial_values():
    # two metrics in deals: initial 10 and 20, targets 30 and 40; the objective runs from 30 to 70
    krs = [
        kr("a", unit="deals", initial=10, target=30, current=20),
        kr("b", unit="deals", initial=20, target=40, current=30),
    ]
    assert objective_progress(objective(), krs).progress == pytest.approx((50 - 30) / (70 - 30))
    # a key result without a check-in contributes its initial number as its value
    krs[1] = kr("b", unit="deals", initial=20, target=40)
    assert objective_progress(objective(), krs).progress == pytest.approx((40 - 30) / (70 - 30))


def test_summed_decrease_metrics_are_a_reduction():
    krs = [
        kr("a", progress_type=ProgressType.DECREASE_TO, unit="min", initial=45, target=20, current=30),
        kr("b", progress_type=ProgressType.DECREASE_TO, unit="min", initial=15, target=10, current=15),
    ]
    result = objective_progress(objective(), krs)
    assert result.mode is ProgressMode.SUM
    assert result.progress == pytest.approx((60 - 45) / (60 - 30))


def test_a_single_metric_gives_its_own_progress():
    # seed 001: a goal measured by metrics with only one unit... averages; with one metric the
    # sum and the average must agree, initial number included
    only = usd("mrr", 1_000_000, 750_000, initial=500_000)
    result = objective_progress(objective(), [only])
    assert result.mode is ProgressMode.AVERAGE
    assert result.progress == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("krs", "expected"),
    [
        # seed 001: combined metrics and milestones -> average of both
        ([kr("a", unit="deals", target=10, current=5), milestone("m", done=True)], 0.75),
        # milestones only -> average of the milestones
        ([milestone("m1", done=True), milestone("m2", done=False), milestone("m3", done=True)], 2 / 3),
        # metrics in different units -> average
        ([kr("a", unit="deals", target=10, current=5), kr("b", unit="calls", target=100, current=100)], 0.75),
        # one unit but mixed directions do not add up -> average
        (
            [
                kr("a", unit="min", target=10, current=5),
                kr(
                    "b", unit="min", progress_type=ProgressType.DECREASE_TO, initial=20, target=10, current=10
                ),
            ],
            0.75,
        ),
    ],
    ids=["metrics+milestones", "milestones only", "different units", "mixed directions"],
)
def test_average_of_key_results_by_default(krs, expected):
    result = objective_progress(objective(), krs)
    assert result.mode is ProgressMode.AVERAGE
    assert result.progress == pytest.approx(expected)


def test_weights_weight_the_average():
    krs = [
        kr("a", unit="deals", target=10, current=10, weight=3.0),
        kr("b", unit="calls", target=10, current=0),  # unset weight counts as 1
    ]
    assert objective_progress(objective(), krs).progress == pytest.approx(0.75)


def test_progress_source_children_both_and_empty():
    children = [
        ObjectiveProgress(progress=0.2, attainment=0.2, mode=ProgressMode.AVERAGE),
        ObjectiveProgress(progress=0.6, attainment=0.6, mode=ProgressMode.AVERAGE),
    ]
    own = [kr(current=100)]
    from_children = objective_progress(
        objective(progress_source=ProgressSource.CHILDREN), own, children=children
    )
    assert from_children.mode is ProgressMode.CHILDREN
    assert from_children.progress == pytest.approx(0.4)
    both = objective_progress(objective(progress_source=ProgressSource.BOTH), own, children=children)
    assert both.mode is ProgressMode.BOTH
    assert both.progress == pytest.approx(0.7)
    # by default children do not count
    assert objective_progress(objective(), own, children=children).progress == 1.0
    # BOTH falls back to whichever part exists
    assert (
        objective_progress(objective(progress_source=ProgressSource.BOTH), [], children=children).progress
        == 0.4
    )
    empty = objective_progress(objective(), [])
    assert (empty.mode, empty.progress) == (ProgressMode.EMPTY, 0.0)


def test_objective_target_refuses_a_target_without_a_value():
    with pytest.raises(InvalidValue, match="set a target value, or set auto=True"):
        ObjectiveTarget(unit="USD")
    with pytest.raises(InvalidValue, match="name the unit"):
        ObjectiveTarget(unit=" ", value=1)


# --- invariant: averaging stays within its parts ---------------------------------------------

values = st.floats(min_value=-50, max_value=150, allow_nan=False)
weights = st.none() | st.floats(min_value=0.01, max_value=100, allow_nan=False)


@st.composite
def averaged_key_results(draw: st.DrawFn) -> list[KeyResult]:
    count = draw(st.integers(min_value=1, max_value=8))
    krs = [milestone("m", done=draw(st.booleans()))]  # a milestone keeps the sum rule away
    for i in range(count):
        krs.append(
            kr(
                f"k{i}",
                unit=draw(st.sampled_from(["deals", "calls"])),
                current=draw(values),
                weight=draw(weights),
            )
        )
    return krs


@given(averaged_key_results())
def test_averaged_objective_progress_lies_between_its_parts(krs):
    parts = [key_result_progress(k).progress for k in krs]
    result = objective_progress(objective(), krs)
    assert min(parts) - 1e-9 <= result.progress <= max(parts) + 1e-9
    assert 0.0 <= result.progress <= 1.0


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=10))
def test_children_average_lies_between_the_children(progresses):
    children = [ObjectiveProgress(progress=p, attainment=p, mode=ProgressMode.AVERAGE) for p in progresses]
    result = objective_progress(objective(progress_source=ProgressSource.CHILDREN), [], children=children)
    assert min(progresses) - 1e-9 <= result.progress <= max(progresses) + 1e-9
