"""A store with a few people and departments, and a small OKR file whose dates follow today."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select
from typer.testing import CliRunner

from hub.cli.main import app
from hub.okrs.importing import ImportResult, import_okrs
from hub.okrs.source import parse_yaml_document
from hub.store.engine import ENV_VAR
from hub.store.models import (
    Department,
    OkrCheckIn,
    OkrCycle,
    OkrKeyResult,
    OkrKeyResultOwner,
    OkrObjective,
    Person,
)

TODAY = date.today()
Q_START = TODAY - timedelta(days=40)
Q_END = TODAY + timedelta(days=50)

PEOPLE = [
    ("1001", "Omar Dubois", "omar@example.com", "active"),
    ("1002", "Ana Silva", "Ana@Example.com", "active"),
    ("1003", "Ben Okafor", "ben@example.com", "active"),
    ("1004", "Cy Left", "cy@example.com", "inactive"),
]
DEPARTMENTS = [("D1", "Sales"), ("D2", "Engineering")]

BASE = f"""\
version: 1
cycles:
  - key: y
    name: The year
    kind: annual
    start: {Q_START - timedelta(days=100)}
    end: {Q_END + timedelta(days=100)}
    state: in_progress
    objectives:
      - key: o-company
        title: Grow the company
        level: company
        owner: 1001
  - key: q
    name: The quarter
    kind: quarterly
    parent: y
    start: {Q_START}
    end: {Q_END}
    state: in_progress
    objectives:
      - key: o-sales
        title: Sell more
        level: business_unit
        owner: ana@example.com
        parent: o-company
        key_results:
          - key: kr-revenue
            title: Reach 100k revenue
            measurement: currency
            currency: USD
            target: 100000
            owners: [1003]
            check_ins:
              - {{at: {Q_START + timedelta(days=5)}, value: 20000, by: 1002, note: first deals}}
          - key: kr-churn
            title: Cut churn
            measurement: percentage
            progress_type: decrease_to
            initial: 5
            target: 2
      - key: o-team
        title: Ship the thing
        level: team
        owner: team:D2
        parent: o-sales
        key_results:
          - key: kr-ship
            title: Ship it
            measurement: binary
            progress_type: achieved_or_not
            weight: 2
"""
"""Two cycles, three objectives, three key results, one check-in; owners by id, email and team."""

QUARTER_RUNNING = "    state: in_progress\n    objectives:\n      - key: o-sales"


def quarter_in(state: str, text: str = BASE) -> str:
    """`text` with the quarter's state set to `state`."""
    return text.replace(QUARTER_RUNNING, QUARTER_RUNNING.replace("in_progress", state))


def without_history(text: str = BASE) -> str:
    """`text` without its check-ins."""
    return "".join(
        line for line in text.splitlines(keepends=True) if "check_ins:" not in line and "{at: " not in line
    )


OKR_TABLES = (OkrCycle, OkrObjective, OkrKeyResult, OkrKeyResultOwner, OkrCheckIn)


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the text")


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            model.__tablename__: conn.scalar(select(func.count()).select_from(model)) for model in OKR_TABLES
        }


@pytest.fixture
def people(store_engine: Engine) -> Engine:
    """The store with four people (one inactive) and two departments."""
    with store_engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {
                    "employee_id": employee_id,
                    "source_connection": "hr",
                    "display_name": name,
                    "email": email,
                    "email_lower": email.lower(),
                    "status": status,
                    "content_hash": "0" * 64,
                }
                for employee_id, name, email, status in PEOPLE
            ],
        )
        conn.execute(insert(Department), [{"key": key, "name": name} for key, name in DEPARTMENTS])
    return store_engine


ImportText = Callable[..., ImportResult]


@pytest.fixture
def import_text(people: Engine) -> ImportText:
    """Import YAML text as `okrs.yaml` into the store with people."""

    def run(text: str = BASE, *, dry_run: bool = False) -> ImportResult:
        return import_okrs(people, parse_yaml_document(text, source="okrs.yaml"), dry_run=dry_run)

    return run


@pytest.fixture
def cli(people: Engine, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `okrhub ARGS --config <tmp config>` against the test store."""
    monkeypatch.setenv(ENV_VAR, store_url)
    monkeypatch.delenv("OKRHUB_CHECK_IN_AS", raising=False)
    config = tmp_path / "hub.yaml"
    config.write_text("version: 1\n")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [*args, "--config", str(config)])

    return run
