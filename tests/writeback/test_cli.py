"""`okrhub writeback ...` end to end: the real ratings service, the BambooHR emulator, a real store."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from hub.cli.main import app
from hub.ratings.document import parse_ratings_yaml
from hub.ratings.importing import import_ratings
from hub.ratings.service import finalize_cycle
from hub.store.models import Department, Person
from sandbox.bamboohr import BambooHREmulator
from sandbox.org import generate_org
from sandbox.server import ServerThread

PEOPLE = [("1001", None), ("1002", "1001"), ("1003", "1002"), ("1004", "1003"), ("1005", "1003")]
RATINGS = """\
version: 1
review_cycle:
  key: r-2026
  name: Review 2026
  okr_cycle: y
  levels: [manager]
  scale:
    - {value: 1, label: Below}
    - {value: 2, label: Partly}
    - {value: 3, label: Meets}
    - {value: 4, label: Exceeds}
    - {value: 5, label: Exceptional}
  guideline: {1: 0.1, 2: 0.1, 3: 0.6, 4: 0.1, 5: 0.1}
ratings:
  - {employee: "1002", rating: 3}
  - {employee: "1003", rating: 4}
  - {employee: "1004", rating: 5}
  - {employee: "1005", rating: 2}
"""
WRITEBACK = """\
connection: hr
review_cycle: r-2026
period: {start: 2026-01-01, end: 2026-12-31}
scale: {1: Below, 2: Partially meets, 3: Meets, 4: Exceeds, 5: Outstanding}
comment: label
"""


@pytest.fixture
def emulator() -> Iterator[tuple[BambooHREmulator, str]]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app_ = BambooHREmulator(generate_org(20, seed=1))
    with ServerThread(app_) as server:
        yield app_, f"{server.url}/api/gateway.php/acme/v1"


@pytest.fixture
def rated(store_engine: Engine) -> Engine:
    with store_engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {
                    "employee_id": who,
                    "source_connection": "hr",
                    "display_name": f"P {who}",
                    "manager_employee_id": manager,
                    "department_key": "D",
                    "status": "active",
                    "content_hash": "0" * 64,
                }
                for who, manager in PEOPLE
            ],
        )
        conn.execute(insert(Department), [{"key": "D", "name": "Dept"}])
    import_ratings(store_engine, parse_ratings_yaml(RATINGS, source="ratings.yaml"))
    return store_engine


@pytest.fixture
def cli(rated: Engine, store_url: str, emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _, base_url = emulator
    monkeypatch.setenv("BAMBOOHR_API_KEY", "sandbox-bamboohr-key")
    config = tmp_path / "hub.yaml"
    config.write_text(
        f"version: 1\nconnections:\n  hr:\n    type: bamboohr\n    base_url: {base_url}\n"
        "    api_key: ${BAMBOOHR_API_KEY}\n"
    )
    (tmp_path / "writeback").mkdir()
    (tmp_path / "writeback" / "ratings.yaml").write_text(WRITEBACK)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [*args, "--config", str(config), "--database-url", store_url])

    return run


def test_cli_sends_finalized_ratings_once(cli, rated: Engine, emulator) -> None:
    app_, _ = emulator
    open_cycle = cli("writeback", "ratings", "--json")
    assert open_cycle.exit_code == 0, open_cycle.output
    assert json.loads(open_cycle.output)["counts"] == {}

    finalize_cycle(rated, by="1001", cycle="r-2026")
    dry = cli("writeback", "ratings", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    planned = {o["employee_id"]: o["value"] for o in json.loads(dry.output)["outcomes"]}
    assert planned == {"1002": "Meets", "1003": "Exceeds", "1004": "Outstanding", "1005": "Partially meets"}
    assert app_.rows_of("customPerformanceRatings") == []

    sent = cli("writeback", "ratings", "--json")
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.output)["counts"] == {"confirmed": 4}
    rows = app_.rows_of("customPerformanceRatings")
    assert sorted(r["employeeId"] for r in rows) == ["1002", "1003", "1004", "1005"]
    assert {r["customRatingComment"] for r in rows if r["employeeId"] == "1003"} == {"Exceeds"}

    again = cli("writeback", "ratings", "--json")
    assert json.loads(again.output)["counts"] == {}

    outbox = cli("writeback", "outbox", "--status", "confirmed", "--json")
    assert outbox.exit_code == 0, outbox.output
    assert len(json.loads(outbox.output)) == 4

    table = cli("writeback", "outbox")
    assert "r-2026:1003:overall" in table.output

    app_.table_rows["customPerformanceRatings"].append(
        {"id": "500", "employeeId": "1004", "customReviewCycle": "r-2026", "customRating": "Below"}
    )
    report = cli("writeback", "reconcile", "--json")
    assert report.exit_code == 1
    mismatches = json.loads(report.output)["mismatches"]
    assert [(m["employee_id"], m["kind"], m["expected"], m["held"]) for m in mismatches] == [
        ("1004", "different", "Outstanding", "Below")
    ]


def test_cli_cancel_and_bad_settings(cli, rated: Engine, tmp_path: Path) -> None:
    finalize_cycle(rated, by="1001", cycle="r-2026")
    (tmp_path / "writeback" / "ratings.yaml").write_text(WRITEBACK.replace("4: Exceeds", "4: Nope"))
    run = cli("writeback", "ratings", "--json")
    assert run.exit_code == 1
    rejected = cli("writeback", "outbox", "--status", "rejected", "--json")
    [row] = json.loads(rejected.output)
    assert "Invalid value 'Nope'" in row["last_error"]

    cancelled = cli("writeback", "cancel", row["key"], "--reason", "set by hand", "--json")
    assert cancelled.exit_code == 0, cancelled.output
    assert json.loads(cancelled.output)["status"] == "cancelled"
    assert json.loads(cli("writeback", "ratings", "--json").output)["counts"] == {}
    missing = cli("writeback", "cancel", "nope", "--reason", "x")
    assert missing.exit_code == 1

    (tmp_path / "writeback" / "ratings.yaml").write_text(WRITEBACK + "colour: blue\n")
    bad = cli("writeback", "ratings", "--json")
    assert bad.exit_code == 2
    error = json.loads(bad.output)["error"]["errors"][0]
    assert error["line"] == 6
    assert error["field"] == "colour"
