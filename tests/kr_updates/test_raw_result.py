"""The raw result kept with a check-in stays valid JSON, and holds this key result's own number.

A fan-out over 2,000 owners is one grouped SOQL of some 45,000 characters; its evidence is what
the connector answered for all of them. The check-in keeps at most 4,000 characters, so they must
be chosen, not cut mid-string.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from hub.jobs.kr_updates import run
from hub.jobs.kr_updates.provenance import RawResults, shortened
from hub.metrics import MetricResult, SoqlQuery, TimeWindow
from mappings.compiler import Binding, InputRef, compile_plan
from mappings.loader import load_mappings_text
from mappings.params import salesforce_id_18
from mappings.targets import OwnerIdentity, TargetKR

from .conftest import CYCLE_END, CYCLE_START, MAPPINGS, TODAY

OWNERS = 2000


def owner_id(number: int) -> str:
    return salesforce_id_18(f"0055g0000{number:06d}")


@pytest.fixture
def fan_out() -> tuple[Binding, dict[str, MetricResult]]:
    mappings = load_mappings_text(
        MAPPINGS,
        connections={"salesforce": "salesforce", "jira": "jira", "ga4": "google_analytics"},
        identity_systems=["salesforce", "jira"],
    )
    targets = {
        "closed_won_by_owner": [
            TargetKR(
                key=f"kr-{n}",
                cycle_start=CYCLE_START,
                cycle_end=CYCLE_END,
                owner=OwnerIdentity(
                    employee_id=str(n), email=f"p{n}@acme.example", ids={"salesforce": owner_id(n)}
                ),
            )
            for n in range(OWNERS)
        ]
    }
    plan = compile_plan(mappings, targets, today=TODAY)
    [request] = plan.requests["salesforce"]
    assert isinstance(request.query, SoqlQuery)
    soql = request.query.soql
    assert len(soql) > 40_000
    groups = {owner_id(n): float(n * 10) for n in range(OWNERS)}
    result = MetricResult(
        key=request.key,
        groups=groups,
        rows=OWNERS,
        evidence={
            "soql": soql,
            "totalSize": OWNERS,
            "pages": 1,
            "records": [{"OwnerId": owner, "total": value} for owner, value in list(groups.items())[:5]],
        },
    )
    binding = next(b for b in plan.bindings if b.kr_key == f"kr-{OWNERS - 1}")
    return binding, {request.key: result}


def test_a_big_fan_out_keeps_valid_json_with_the_owners_value(
    fan_out: tuple[Binding, dict[str, MetricResult]],
) -> None:
    binding, results = fan_out
    text = run._raw_result(binding, results)

    assert len(text) <= run.RAW_RESULT_LIMIT
    raw = json.loads(text)["value"]
    assert raw["group"] == owner_id(OWNERS - 1)
    assert raw["value"] == (OWNERS - 1) * 10
    assert raw["rows"] == OWNERS
    assert raw["evidence"]["soql"].startswith("SELECT OwnerId, SUM(Amount) total FROM Opportunity")
    assert raw["evidence"]["soql"].endswith("more characters)")
    assert raw["evidence"]["totalSize"] == OWNERS


def test_evidence_too_long_even_shortened_is_left_out(
    fan_out: tuple[Binding, dict[str, MetricResult]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "RAW_RESULT_LIMIT", 300)
    binding, results = fan_out
    raw = json.loads(run._raw_result(binding, results))["value"]
    assert raw["value"] == (OWNERS - 1) * 10
    assert "omitted" in raw["evidence"]


def test_a_small_result_is_kept_whole() -> None:
    evidence = {"soql": "SELECT COUNT() FROM Lead", "records": [1, 2, 3, 4, 5, 6, 7]}
    binding = Binding(
        kr_key="kr",
        mapping_id="m",
        connection="salesforce",
        inputs={"value": InputRef(request_key="k")},
        expression=None,
        queries={"value": "SELECT COUNT() FROM Lead"},
        window=TimeWindow(date(2026, 10, 1), date(2026, 11, 1)),
    )
    raw = json.loads(
        run._raw_result(binding, {"k": MetricResult(key="k", value=7.0, rows=7, evidence=evidence)})
    )
    assert raw == {"value": {"group": None, "value": 7.0, "rows": 7, "evidence": evidence}}


def reference(binding: Binding, results: dict[str, MetricResult], stage: str) -> str:
    """The raw result as `json.dumps` writes it, with the evidence whole, shortened or omitted."""
    inputs = {}
    for name, ref in binding.inputs.items():
        result = results.get(ref.request_key)
        evidence = dict(result.evidence) if result is not None else {}
        if stage == "shortened":
            evidence = shortened(evidence)
        elif stage == "omitted":
            evidence = {"omitted": "the connector's evidence is too long to keep with a check-in"}
        inputs[name] = {
            "group": ref.group,
            "value": result.groups.get(ref.group) if result is not None and ref.group else None,
            "rows": result.rows if result is not None else 0,
            "evidence": evidence,
        }
    return json.dumps(inputs, default=str)


@pytest.mark.parametrize(("limit", "stage"), [(10**6, "whole"), (4000, "shortened"), (300, "omitted")])
def test_one_shared_raw_results_writes_what_json_dumps_writes(
    fan_out: tuple[Binding, dict[str, MetricResult]], limit: int, stage: str
) -> None:
    binding, results = fan_out
    shared = RawResults(results, limit=limit)
    others = [
        replace(binding, inputs={"value": replace(binding.inputs["value"], group=owner_id(n))})
        for n in (0, 7)
    ]

    for each in [binding, *others, binding]:
        assert shared.for_binding(each) == reference(each, results, stage)
