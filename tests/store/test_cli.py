from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from sqlalchemy import Engine

from hub.cli.store_cmds import (
    db_current_command,
    db_upgrade_command,
    format_counts,
    format_duration,
    runs_list_command,
    runs_show_command,
)
from hub.errors import StoreError
from hub.store.engine import ENV_VAR
from hub.store.ledger import Rejection, RunLedger
from hub.store.migrate import head_revision


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=160, color_system=None), buffer


@pytest.fixture
def runs(store_engine: Engine) -> tuple[int, int]:
    moments = iter(datetime(2025, 3, 1, 7, 0, tzinfo=UTC) + timedelta(seconds=s) for s in (0, 75, 600, 605))
    ledger = RunLedger(store_engine, clock=lambda: next(moments))
    first = ledger.start(job="org_sync", connection="bamboohr_main")
    ledger.finish(
        first,
        status="succeeded",
        counts={"updated": 3, "created": 12, "unchanged": 0},
        api_calls=40,
        retries=2,
        summary="created 12 · updated 3",
        rejections=[Rejection(f"E-{n}", f"no email [row {n}]") for n in range(60)],
    )
    second = ledger.start(job="org_sync", connection="bamboohr_main", dry_run=True)
    ledger.finish(
        second,
        status="failed",
        counts={},
        api_calls=1,
        retries=0,
        error={"type": "AuthError", "message": "BambooHR rejected the API key", "status": 401},
    )
    return first, second


def test_runs_list_json(store_engine: Engine, runs: tuple[int, int]) -> None:
    console, buffer = _console()
    assert runs_list_command(store_engine, limit=10, job=None, json_output=True, console=console) == 0
    data = json.loads(buffer.getvalue())
    assert [run["id"] for run in data] == [runs[1], runs[0]]
    assert data[1]["counts"] == {"updated": 3, "created": 12, "unchanged": 0}
    assert data[1]["started_at"] == "2025-03-01T07:00:00+00:00"
    assert data[1]["duration_ms"] == 75000
    assert data[0]["dry_run"] is True


def test_runs_list_table(store_engine: Engine, runs: tuple[int, int]) -> None:
    console, buffer = _console()
    assert runs_list_command(store_engine, limit=10, job="org_sync", json_output=False, console=console) == 0
    out = buffer.getvalue()
    assert "created 12 · updated 3" in out
    assert "1 m 15 s" in out
    assert "2025-03-01 07:00:00" in out
    assert "failed (dry run)" in out
    assert "bamboohr_main" in out


def test_runs_list_empty(store_engine: Engine) -> None:
    console, buffer = _console()
    assert runs_list_command(store_engine, limit=10, job=None, json_output=False, console=console) == 0
    assert "no runs recorded yet" in buffer.getvalue()
    console, buffer = _console()
    runs_list_command(store_engine, limit=10, job=None, json_output=True, console=console)
    assert json.loads(buffer.getvalue()) == []


def test_runs_show_json_has_everything(store_engine: Engine, runs: tuple[int, int]) -> None:
    console, buffer = _console()
    assert runs_show_command(store_engine, runs[0], json_output=True, console=console) == 0
    data = json.loads(buffer.getvalue())
    assert data["id"] == runs[0]
    assert data["status"] == "succeeded"
    assert data["rejection_count"] == 60
    assert len(data["rejections"]) == 60
    assert data["rejections"][0] == {"record_key": "E-0", "reason": "no email [row 0]", "detail": None}
    assert data["host"]
    assert data["error"] is None


def test_runs_show_panel(store_engine: Engine, runs: tuple[int, int]) -> None:
    console, buffer = _console()
    assert (
        runs_show_command(store_engine, runs[0], json_output=False, rejections_limit=5, console=console) == 0
    )
    out = buffer.getvalue()
    assert f"run {runs[0]} · org_sync" in out
    assert "created 12 · updated 3" in out
    assert "no email [row 4]" in out  # brackets are not taken for markup
    assert "E-5" not in out
    assert "first 5 of 60" in out

    console, buffer = _console()
    runs_show_command(store_engine, runs[1], json_output=False, console=console)
    out = buffer.getvalue()
    assert "AuthError: BambooHR rejected the API key" in out
    assert "status: 401" in out
    assert "rejected records" not in out


def test_runs_show_missing(store_engine: Engine) -> None:
    with pytest.raises(StoreError, match="no run with id 404"):
        runs_show_command(store_engine, 404, json_output=False, console=_console()[0])


def test_db_commands(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, store_url)

    console, buffer = _console()
    assert db_current_command(None, console=console) == 1
    assert "revision none, empty" in buffer.getvalue()

    console, buffer = _console()
    assert db_upgrade_command(None, console=console) == 0
    assert f"upgraded from empty to {head_revision()}" in buffer.getvalue()

    console, buffer = _console()
    assert db_upgrade_command(None, console=console) == 0
    assert f"already at {head_revision()}" in buffer.getvalue()

    console, buffer = _console()
    assert db_current_command(None, console=console) == 0
    assert f"revision {head_revision()} (head)" in buffer.getvalue()


def test_db_commands_never_print_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "postgresql://okr:pa55word@127.0.0.1:1/okrhub?connect_timeout=3")
    with pytest.raises(StoreError) as caught:
        db_upgrade_command(None, console=_console()[0])
    assert "pa55word" not in str(caught.value)
    assert "okr:***@127.0.0.1:1" in str(caught.value)


@pytest.mark.parametrize(
    ("ms", "text"),
    [(None, "-"), (850, "850 ms"), (12_345, "12.3 s"), (184_000, "3 m 04 s"), (7_500_000, "2 h 05 m")],
)
def test_format_duration(ms: int | None, text: str) -> None:
    assert format_duration(ms) == text


def test_format_counts() -> None:
    assert (
        format_counts({"updated": 3, "created": 12, "unchanged": 0, "zzz": 1})
        == "created 12 · updated 3 · zzz 1"
    )
    assert format_counts({}) == "-"
