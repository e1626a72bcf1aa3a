"""A store with a small reporting tree and a ratings file whose chain is manager -> director -> vp."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from hub.cli.main import app
from hub.ratings.document import parse_ratings_yaml
from hub.ratings.importing import RatingsImportResult, import_ratings
from hub.store.engine import ENV_VAR
from hub.store.models import Department, Person

# employee id, name, manager, department
PEOPLE = [
    ("1001", "Vera Vp", None, "D0"),
    ("1002", "Dan Director", "1001", "D0"),
    ("1003", "Mia Manager", "1002", "D1"),
    ("1004", "Al One", "1003", "D1"),
    ("1005", "Bo Two", "1003", "D1"),
    ("1006", "Cy Three", "1003", "D1"),
    ("1007", "Max Manager", "1002", "D2"),
    ("1008", "Di Four", "1007", "D2"),
    ("1009", "Ed Five", "1007", "D2"),
]
DEPARTMENTS = [("D0", "Leadership"), ("D1", "Sales"), ("D2", "Engineering")]

BASE = """\
version: 1
review_cycle:
  key: r-2026
  name: Review 2026
  okr_cycle: y
  levels: [manager, director, vp]
  scale:
    - {value: 1, label: Below}
    - {value: 2, label: Partly}
    - {value: 3, label: Meets}
    - {value: 4, label: Exceeds}
    - {value: 5, label: Exceptional}
  guideline: {1: 0.1, 2: 0.1, 3: 0.6, 4: 0.1, 5: 0.1}
ratings:
  - {employee: "1004", rating: 3, potential: 5}
  - {employee: "1005", rating: 4}
  - {employee: "1006", rating: 5, potential: 1}
  - {employee: "1008", rating: 3}
  - {employee: "1009", rating: 2}
"""


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the text")


@pytest.fixture
def people(store_engine: Engine) -> Engine:
    """The store with the reporting tree of `PEOPLE`."""
    with store_engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {
                    "employee_id": employee_id,
                    "source_connection": "hr",
                    "display_name": name,
                    "manager_employee_id": manager,
                    "department_key": department,
                    "status": "active",
                    "content_hash": "0" * 64,
                }
                for employee_id, name, manager, department in PEOPLE
            ],
        )
        conn.execute(insert(Department), [{"key": key, "name": name} for key, name in DEPARTMENTS])
    return store_engine


ImportText = Callable[..., RatingsImportResult]


@pytest.fixture
def import_text(people: Engine) -> ImportText:
    """Import ratings YAML text as `ratings.yaml`."""

    def run(text: str = BASE) -> RatingsImportResult:
        return import_ratings(people, parse_ratings_yaml(text, source="ratings.yaml"))

    return run


@pytest.fixture
def rated(import_text: ImportText, people: Engine) -> Engine:
    """The store with `BASE` imported."""
    import_text()
    return people


@pytest.fixture
def cli(people: Engine, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `okrhub ARGS --config <tmp config>` against the test store."""
    monkeypatch.setenv(ENV_VAR, store_url)
    config = tmp_path / "hub.yaml"
    config.write_text("version: 1\n")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [*args, "--config", str(config)])

    return run
