"""The example ratings (config/ratings/acme-2026.yaml) fit the demo company and its OKRs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from hub.okrs.importing import import_okrs
from hub.okrs.source import read_okr_file
from hub.ratings.document import read_ratings_file
from hub.ratings.importing import import_ratings
from hub.ratings.service import calibrate_rating, finalize_cycle, finalized_ratings
from hub.ratings.views import distribution_report, ratings_overview
from hub.store.models import Department, Person
from sandbox.org import generate_org

CONFIG = Path(__file__).resolve().parents[2] / "config"
EXAMPLE = CONFIG / "ratings" / "acme-2026.yaml"


@pytest.fixture
def acme(store_engine: Engine) -> Engine:
    """The demo company's people (as org sync stores them) and OKRs."""
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
    import_okrs(store_engine, read_okr_file(CONFIG / "okrs" / "acme.yaml"))
    return store_engine


def test_the_example_imports_calibrates_and_finalizes(acme: Engine) -> None:
    result = import_ratings(acme, read_ratings_file(EXAMPLE))
    assert result.counts["ratings"]["created"] >= 36
    assert not import_ratings(acme, read_ratings_file(EXAMPLE)).changed
    calibrate_rating(acme, employee="1071", new_value=3, by="1002", rationale="strong pipeline, missed quota")
    overview = ratings_overview(acme, as_of=date(2026, 11, 23))
    assert overview["okr_note"] is None
    assert any(p["okr_progress"] is not None for p in overview["people"])
    assert any(p["nine_box"] is not None for p in overview["people"])
    assert distribution_report(acme, by="department")["groups"]
    finalize_cycle(acme, by="1001")
    final = {f.employee_id: f for f in finalized_ratings(acme, "acme-2026")}
    assert (final["1071"].value, final["1071"].label) == (3, "Meets expectations")
