"""The example company OKRs (config/okrs/acme.yaml) fit the demo company and show every feature."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from hub.okrs.importing import import_okrs
from hub.okrs.repository import load_tree
from hub.okrs.source import read_okr_file
from hub.okrs.view import build_view
from hub.store.models import Department, Person
from okr_core.cycles import CycleKind, CycleState
from okr_core.key_results import MeasurementType, ProgressType
from okr_core.objectives import Level, OwnerKind
from sandbox.org import generate_org

ACME = Path(__file__).resolve().parents[2] / "config" / "okrs" / "acme.yaml"
DEMO_DAY = date(2026, 11, 23)


@pytest.fixture
def acme(store_engine: Engine) -> Engine:
    """The store after an org sync of the demo company (people written directly), with acme.yaml imported."""
    org = generate_org(500, seed=42)
    with store_engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {
                    "employee_id": e.employee_id,
                    "source_connection": "bamboohr",
                    "display_name": e.display_name,
                    "email": e.email,
                    "email_lower": e.email.lower(),
                    "status": "active" if e.is_active else "inactive",
                    "department_key": e.department_key,
                    "manager_employee_id": e.manager_id,
                    "content_hash": "0" * 64,
                }
                for e in org.employees.values()
            ],
        )
        conn.execute(insert(Department), [{"key": d.key, "name": d.name} for d in org.departments.values()])
    result = import_okrs(store_engine, read_okr_file(ACME))
    assert result.counts["key_results"]["created"] == len(load_tree(store_engine).key_results)
    return store_engine


def test_acme_has_a_running_quarter_under_its_year_covering_the_demo_day(acme: Engine) -> None:
    cycles = load_tree(acme).cycles
    quarter = next(c for c in cycles.values() if c.kind is CycleKind.QUARTERLY)
    year = cycles[quarter.parent_id or ""]
    assert year.kind is CycleKind.ANNUAL
    assert quarter.state is CycleState.IN_PROGRESS
    assert quarter.contains(DEMO_DAY)


def test_acme_covers_every_kind_of_key_result_and_owner(acme: Engine) -> None:
    tree = load_tree(acme)
    key_results = list(tree.key_results.values())
    assert {kr.progress_type for kr in key_results} == set(ProgressType)
    assert {kr.measurement for kr in key_results} == set(MeasurementType)
    assert {kr.currency for kr in key_results if kr.measurement is MeasurementType.CURRENCY} == {"USD"}
    assert any(kr.range is not None for kr in key_results)
    assert any(kr.weight is not None for kr in key_results)
    assert any(kr.hard_deadline for kr in key_results)
    objectives = tree.objectives
    assert {o.level for o in objectives.values()} == set(Level)
    assert {o.owner.kind for o in objectives.values()} == set(OwnerKind)
    ceo_objectives = [o for o in objectives.values() if o.level is Level.COMPANY and o.owner.id == "1001"]
    assert ceo_objectives
    vps = {o.owner.id for o in objectives.values() if o.level is Level.BUSINESS_UNIT}
    assert vps == {"1002", "1003", "1004", "1005", "1006", "1007"}
    assert all(
        objectives[o.parent_id or ""].level is Level.COMPANY
        for o in objectives.values()
        if o.level is Level.BUSINESS_UNIT
    )
    foreign = [
        kr for kr in key_results if kr.owners and objectives[kr.objective_id].owner.id not in kr.owners
    ]
    assert foreign


def test_acme_shows_a_mix_of_colours_on_the_demo_day(acme: Engine) -> None:
    data = build_view(acme, as_of=DEMO_DAY)

    def walk(objectives):
        for objective in objectives:
            yield objective
            yield from walk(objective["children"])

    objectives = list(walk(data["objectives"]))
    key_results = [kr for o in objectives for kr in o["key_results"]]
    assert set(Counter(kr["colour"] for kr in key_results)) == {"green", "yellow", "red"}
    assert set(Counter(o["colour"] for o in objectives)) == {"green", "yellow", "red"}
    assert any(kr["state"] == "closed" for kr in key_results)
    assert data["health"]["unaligned"]
    assert data["health"]["stale"]
    assert data["health"]["depth"] >= 4
    assert sum(1 for kr in key_results if kr["last_check_in"]) >= 15


def test_acme_reimports_unchanged(acme: Engine) -> None:
    result = import_okrs(acme, read_okr_file(ACME))
    assert not result.changed
