"""Key-result progress rules, from the worked examples of the seeds, and their invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okr_core.key_results import KeyResult, MeasurementType, ProgressType
from okr_core.progress import attainment, clamp01, key_result_progress

from .builders import kr

INC, DEC = ProgressType.INCREASE_TO, ProgressType.DECREASE_TO
ABOVE, BELOW = ProgressType.STAY_ABOVE, ProgressType.STAY_BELOW

# (case, progress type, initial, target, critical, value, progress, attainment)
CASES = [
    # seed 003 "Should Increase to": Target 10, Initial 6
    ("increase: start", INC, 6, 10, None, 6, 0.0, 0.0),
    ("increase: half way", INC, 6, 10, None, 8, 0.5, 0.5),
    ("increase: target met", INC, 6, 10, None, 10, 1.0, 1.0),
    ("increase: beyond target, clamped", INC, 6, 10, None, 12, 1.0, 1.5),
    ("increase: went backwards, clamped", INC, 6, 10, None, 5, 0.0, -0.25),
    # seed 003 "Update KR": "Watch 100 early entry recordings", initial 5, new value 10
    ("increase: watch 100 recordings", INC, 5, 100, None, 10, 5 / 95, 5 / 95),
    # seed 003 example key result: increase MRR from $500K to $1M
    ("increase: MRR 500K -> 1M", INC, 500_000, 1_000_000, None, 750_000, 0.5, 0.5),
    # seed 003 "Should Decrease to": Target 10, Initial 26
    ("decrease: half way", DEC, 26, 10, None, 18, 0.5, 0.5),
    ("decrease: target beaten", DEC, 26, 10, None, 8, 1.0, 1.125),
    ("decrease: worse than start", DEC, 26, 10, None, 30, 0.0, -0.25),
    # seed 001 "Setting Reduction ...": average call time 45 -> 20 minutes, check-in 30
    ("decrease: call time 45 -> 20 at 30", DEC, 45, 20, None, 30, 0.6, 0.6),
    # seed 003 "Should Stay Above": Target 10, Critical 6
    ("stay above: at target", ABOVE, 12, 10, 6, 10, 1.0, 1.0),
    ("stay above: beyond target", ABOVE, 12, 10, 6, 11, 1.0, 1.25),
    ("stay above: between", ABOVE, 12, 10, 6, 8, 0.5, 0.5),
    ("stay above: at critical", ABOVE, 12, 10, 6, 6, 0.0, 0.0),
    ("stay above: beyond critical", ABOVE, 12, 10, 6, 5, 0.0, -0.25),
    # seed 003 "Should Stay Below": Target 6, Critical 10
    ("stay below: at target", BELOW, 4, 6, 10, 6, 1.0, 1.0),
    ("stay below: between", BELOW, 4, 6, 10, 8, 0.5, 0.5),
    ("stay below: at critical", BELOW, 4, 6, 10, 10, 0.0, 0.0),
    ("stay below: beyond critical", BELOW, 4, 6, 10, 12, 0.0, -0.5),
    # seed 003 "Critical Number": complaints to 5 per month, at most 10: measured between 10 and 5
    ("stay below: complaints 7.5 of 10..5", BELOW, 8, 5, 10, 7.5, 0.5, 0.5),
    # without a critical number a stay key result is met or not
    ("stay above, no critical: met", ABOVE, 12, 10, None, 10, 1.0, 1.0),
    ("stay above, no critical: missed", ABOVE, 12, 10, None, 9.99, 0.0, 0.0),
    ("stay below, no critical: met", BELOW, 4, 6, None, 6, 1.0, 1.0),
    ("stay below, no critical: missed", BELOW, 4, 6, None, 6.01, 0.0, 0.0),
]


@pytest.mark.parametrize(
    ("progress_type", "initial", "target", "critical", "value", "progress", "raw"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_key_result_progress_rules(progress_type, initial, target, critical, value, progress, raw):
    key_result = kr(
        progress_type=progress_type, initial=initial, target=target, critical=critical, current=value
    )
    result = key_result_progress(key_result)
    assert result.progress == pytest.approx(progress)
    assert result.attainment == pytest.approx(raw)


@pytest.mark.parametrize(("value", "progress"), [(None, 0.0), (0, 0.0), (1, 1.0)])
def test_achieved_or_not_is_zero_or_full(value, progress):
    key_result = kr(
        progress_type=ProgressType.ACHIEVED_OR_NOT,
        measurement=MeasurementType.BINARY,
        target=1,
        current=value,
    )
    assert key_result_progress(key_result).progress == progress


def test_progress_before_first_check_in_uses_the_initial_number():
    assert key_result_progress(kr(initial=6, target=10)).progress == 0.0
    # a stay-above key result that starts above its target is on target from the start
    assert key_result_progress(kr(progress_type=ABOVE, initial=12, target=10, critical=6)).progress == 1.0


def test_explicit_value_overrides_the_current_one():
    key_result = kr(initial=0, target=10, current=2)
    assert key_result_progress(key_result, 5).progress == 0.5


# --- invariants --------------------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
gap = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def key_results(draw: st.DrawFn, kinds: tuple[ProgressType, ...] = (INC, DEC, ABOVE, BELOW)) -> KeyResult:
    kind = draw(st.sampled_from(kinds))
    start, distance = draw(finite), draw(gap)
    if kind is INC:
        return kr(progress_type=kind, initial=start, target=start + distance)
    if kind is DEC:
        return kr(progress_type=kind, initial=start, target=start - distance)
    critical = draw(st.none() | gap)
    if kind is ABOVE:
        return kr(
            progress_type=kind,
            initial=start,
            target=start,
            critical=None if critical is None else start - critical,
        )
    return kr(
        progress_type=kind,
        initial=start,
        target=start,
        critical=None if critical is None else start + critical,
    )


@given(key_results(), finite)
def test_progress_stays_within_zero_and_one(key_result, value):
    assert 0.0 <= key_result_progress(key_result, value).progress <= 1.0


@given(key_results(), finite)
def test_progress_is_the_clamped_attainment(key_result, value):
    result = key_result_progress(key_result, value)
    assert result.progress == clamp01(result.attainment)
    if 0.0 <= result.attainment <= 1.0:
        assert result.progress == result.attainment
    assert math.isfinite(result.attainment)


@given(key_results(kinds=(INC, ABOVE)), finite, finite)
def test_increase_and_stay_above_are_non_decreasing_in_the_value(key_result, a, b):
    low, high = sorted((a, b))
    assert key_result_progress(key_result, low).progress <= key_result_progress(key_result, high).progress
    assert key_result_progress(key_result, low).attainment <= key_result_progress(key_result, high).attainment


@given(key_results(kinds=(DEC, BELOW)), finite, finite)
def test_decrease_and_stay_below_are_non_increasing_in_the_value(key_result, a, b):
    low, high = sorted((a, b))
    assert key_result_progress(key_result, low).progress >= key_result_progress(key_result, high).progress
    assert key_result_progress(key_result, low).attainment >= key_result_progress(key_result, high).attainment


@given(key_results(kinds=(INC, DEC)))
def test_initial_is_zero_and_target_is_full_progress(key_result):
    assert key_result_progress(key_result, key_result.initial).progress == 0.0
    assert key_result_progress(key_result, key_result.target).progress == pytest.approx(1.0)


def test_attainment_function_matches_the_formulas():
    assert attainment(INC, value=10, initial=5, target=100) == pytest.approx(5 / 95)
    assert attainment(DEC, value=30, initial=45, target=20) == pytest.approx(0.6)
