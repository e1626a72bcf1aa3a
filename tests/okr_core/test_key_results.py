"""Key results refuse inconsistent definitions with a message that says why and how to fix it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from okr_core.errors import InvalidValue, OkrError
from okr_core.key_results import MeasurementType, ProgressType, Range, update_information

from .builders import cycle, kr

INC, DEC = ProgressType.INCREASE_TO, ProgressType.DECREASE_TO
BINARY, CURRENCY = MeasurementType.BINARY, MeasurementType.CURRENCY

# (case, overrides, field, words the message must contain)
REFUSALS = [
    ("increase with initial == target", {"initial": 10, "target": 10}, "target", "equals the initial number"),
    (
        "decrease with initial == target",
        {"progress_type": DEC, "initial": 10, "target": 10},
        "target",
        "equals",
    ),
    ("increase with target below initial", {"initial": 26, "target": 10}, "target", "below the initial"),
    (
        "decrease with target above initial",
        {"progress_type": DEC, "initial": 6, "target": 10},
        "target",
        "above",
    ),
    ("binary with target 5", {"measurement": BINARY, "target": 5}, "target", "0 or 1"),
    ("binary with initial 2", {"measurement": BINARY, "initial": 2, "target": 1}, "initial", "0 or 1"),
    ("binary with current 0.5", {"measurement": BINARY, "target": 1, "current": 0.5}, "current", "0 or 1"),
    ("currency without code", {"measurement": CURRENCY}, "currency", "needs a currency code"),
    ("currency with lower-case code", {"measurement": CURRENCY, "currency": "usd"}, "currency", "ISO 4217"),
    ("code on a numeric key result", {"currency": "USD"}, "currency", "only currency key results"),
    (
        "stay above with critical above target",
        {"progress_type": ProgressType.STAY_ABOVE, "target": 10, "critical": 12},
        "critical",
        "must be below the target",
    ),
    (
        "stay below with critical below target",
        {"progress_type": ProgressType.STAY_BELOW, "target": 6, "critical": 4},
        "critical",
        "must be above the target",
    ),
    ("critical on an increase", {"critical": 5}, "critical", "only applies to stay-above and stay-below"),
    (
        "achieved-or-not on a numeric measurement",
        {"progress_type": ProgressType.ACHIEVED_OR_NOT, "target": 1},
        "measurement",
        "set measurement to binary",
    ),
    (
        "achieved-or-not from 1 to 0",
        {"progress_type": ProgressType.ACHIEVED_OR_NOT, "measurement": BINARY, "initial": 1, "target": 0},
        "initial/target",
        "starts at 0",
    ),
    ("negative weight", {"weight": -1.0}, "weight", "above 0"),
    ("zero weight", {"weight": 0.0}, "weight", "above 0"),
    ("NaN target", {"target": float("nan")}, "target", "finite"),
    ("infinite current", {"current": float("inf")}, "current", "finite"),
    ("empty id", {"id": ""}, "id", "non-empty"),
    ("owner listed twice", {"owners": ("bob", "bob")}, "owners", "twice"),
    (
        "target outside its range",
        {"target": 100, "range": Range(red_low=80, yellow_low=90, yellow_high=100, red_high=110)},
        "range",
        "inside the yellow and red breakpoints",
    ),
    ("naive check-in time", {"last_check_in_at": datetime(2024, 8, 1)}, "last_check_in_at", "timezone-aware"),
]


@pytest.mark.parametrize(
    ("overrides", "field", "why"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_bad_key_results_are_refused_with_the_reason(overrides, field, why):
    with pytest.raises(InvalidValue) as caught:
        kr(**overrides)
    assert caught.value.field == field
    assert why in str(caught.value)
    assert "key result `" in str(caught.value)
    assert isinstance(caught.value, OkrError)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "breakpoints",
    [
        {"yellow_low": 90},  # no red breakpoint
        {"red_low": 100, "yellow_low": 90},  # yellow beyond red
        {"red_low": 90, "red_high": 90},
        {"red_low": float("nan")},
    ],
)
def test_bad_ranges_are_refused(breakpoints):
    with pytest.raises(InvalidValue):
        Range(**breakpoints)


def test_valid_key_results_of_every_kind():
    kr(progress_type=DEC, initial=45, target=20, unit="minutes")
    kr(progress_type=ProgressType.STAY_ABOVE, initial=12, target=10, critical=6)
    kr(progress_type=ProgressType.STAY_BELOW, initial=4, target=6, critical=10)
    kr(progress_type=ProgressType.ACHIEVED_OR_NOT, measurement=BINARY, initial=0, target=1)
    kr(measurement=BINARY, initial=0, target=1)
    kr(measurement=CURRENCY, currency="USD", initial=500_000, target=1_000_000)
    kr(measurement=MeasurementType.PERCENTAGE, initial=85, target=90)
    kr(range=Range(red_low=80, yellow_low=90, yellow_high=105, red_high=110), target=100, initial=0)
    kr(range=Range(red_high=110), target=100, owners=("bob", "carol"), weight=2.0)
    kr(last_check_in_at=datetime(2024, 8, 1, tzinfo=UTC), current=5)


def test_unit_key_decides_which_metrics_add_up():
    assert kr(measurement=CURRENCY, currency="USD").unit_key == "usd"
    assert kr(measurement=MeasurementType.PERCENTAGE).unit_key == "%"
    assert kr(unit=" Dollars ").unit_key == "dollars"
    assert kr(measurement=BINARY, target=1).is_metric is False


def test_deadline_and_cadence_default_to_the_cycle():
    q3 = cycle()
    key_result = kr()
    assert key_result.deadline_in(q3) == q3.end
    assert key_result.cadence_in(q3).days == 7


def test_update_information_reads_like_seed_003():
    # seed 003: "Current value is 5, Should increase to 100"
    assert update_information(kr(initial=5, target=100)) == "Current value is 5, Should increase to 100"
    assert update_information(kr(progress_type=DEC, initial=26, target=10, current=18.5)) == (
        "Current value is 18.5, Should decrease to 10"
    )


def test_stored_strings_become_enum_members_and_unknown_ones_are_refused():
    loaded = kr(measurement="currency", currency="EUR", progress_type="increase_to", state="in_progress")
    assert loaded.measurement is CURRENCY
    assert loaded.state.value == "in_progress"
    with pytest.raises(InvalidValue, match="use one of: increase_to, decrease_to") as caught:
        kr(progress_type="go_up")
    assert caught.value.field == "progress_type"
