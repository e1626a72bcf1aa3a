from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from hub.errors import QueryRejected
from hub.metrics import MetricResult, TimeWindow
from mappings import Binding, InputRef, compile_plan, evaluate, is_suspect
from tests.mappings.conftest import TODAY, kr, load, owner_krs
from tests.mappings.test_compiler import RATIO, SOQL

WINDOW = TimeWindow(date(2026, 10, 1), date(2026, 11, 5))


BASE = Binding(
    kr_key="kr-1",
    mapping_id="m",
    connection="salesforce",
    inputs={"value": InputRef(request_key="r1", group="005A")},
    expression=None,
    queries={"value": "SELECT ..."},
    window=WINDOW,
)


def binding(**overrides: Any) -> Binding:
    return replace(BASE, **overrides)


def test_a_grouped_value_is_read_by_the_owner_key():
    bound = evaluate(binding(), {"r1": MetricResult(key="r1", groups={"005A": 1250.0, "005B": 3.0})})

    assert (bound.value, bound.status, bound.action, bound.error) == (1250.0, "ok", "check_in", None)
    assert bound.inputs == {"value": 1250.0}


def test_a_group_key_in_another_case_is_still_found():
    ref = InputRef(request_key="r1", group="Ana@Acme.test")

    bound = evaluate(
        binding(inputs={"value": ref}), {"r1": MetricResult(key="r1", groups={"ana@acme.test": 7.0})}
    )

    assert bound.value == 7.0


def test_an_ungrouped_value():
    ref = InputRef(request_key="r1")

    assert evaluate(binding(inputs={"value": ref}), {"r1": MetricResult(key="r1", value=12.0)}).value == 12.0


@pytest.mark.parametrize(
    ("on_no_data", "value", "status", "action"),
    [("skip", None, "no_data", "skip"), ("zero", 0.0, "ok", "check_in"), ("hold", None, "no_data", "hold")],
)
def test_an_absent_group_applies_on_no_data(on_no_data, value, status, action):
    bound = evaluate(binding(on_no_data=on_no_data), {"r1": MetricResult(key="r1", groups={"005B": 3.0})})

    assert (bound.value, bound.status, bound.action) == (value, status, action)
    assert bound.inputs == {"value": None}


def test_an_expression_over_two_results():
    plan = compile_plan(load(RATIO), {"bug_ratio": [kr("kr-eng-bug-ratio")]}, today=TODAY)
    (bound_to,) = plan.bindings
    results = {
        bound_to.inputs["bugs"].request_key: MetricResult(key="a", value=6.0),
        bound_to.inputs["all"].request_key: MetricResult(key="b", value=24.0),
    }

    bound = evaluate(bound_to, results)

    assert bound.value == 25.0
    assert bound.inputs == {"bugs": 6.0, "all": 24.0}


def test_division_by_zero_is_no_data_not_a_crash():
    plan = compile_plan(load(RATIO), {"bug_ratio": [kr("kr-eng-bug-ratio")]}, today=TODAY)
    (bound_to,) = plan.bindings
    results = {
        ref.request_key: MetricResult(key=ref.request_key, value=0.0) for ref in bound_to.inputs.values()
    }

    bound = evaluate(bound_to, results)

    assert (bound.value, bound.status, bound.action) == (None, "no_data", "skip")


def test_a_failed_query_is_an_error_and_never_checked_in():
    error = QueryRejected("INVALID_FIELD: No such column 'Amont'", connection="salesforce")

    bound = evaluate(binding(), {"r1": MetricResult(key="r1", error=error)})

    assert (bound.value, bound.status, bound.action) == (None, "error", "skip")
    assert bound.error == "query `value` failed: INVALID_FIELD: No such column 'Amont'"


def test_a_missing_result_is_an_error():
    bound = evaluate(binding(), {})

    assert bound.status == "error"
    assert "was not run" in (bound.error or "")


def test_a_full_round_trip_through_a_fan_out_plan():
    plan = compile_plan(load(SOQL), {"closed_won": owner_krs(3)}, today=TODAY)
    (request,) = plan.requests["salesforce"]
    groups = {b.inputs["value"].group or "": float(i * 100) for i, b in enumerate(plan.bindings)}
    results = {request.key: MetricResult(key=request.key, groups=groups)}

    values = {b.kr_key: evaluate(b, results).value for b in plan.bindings}

    assert values == {"kr-1": 0.0, "kr-2": 100.0, "kr-3": 200.0}


@pytest.mark.parametrize(
    ("previous", "value", "suspect"),
    [
        (100.0, 250.0, False),
        (100.0, 301.0, True),
        (100.0, 34.0, False),
        (100.0, 33.0, True),
        (100.0, 0.0, True),
        (0.0, 500.0, False),
        (None, 500.0, False),
        (100.0, -100.0, True),
    ],
)
def test_suspect_values_move_more_than_the_factor(previous, value, suspect):
    assert is_suspect(binding(max_change_factor=3.0), previous, value) is suspect


def test_nothing_is_suspect_without_a_factor():
    assert not is_suspect(binding(), 1.0, 1000.0)
