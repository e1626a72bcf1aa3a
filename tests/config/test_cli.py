from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from hub.cli.config_cmds import schema_command, validate_command
from hub.config.schema import schema_text
from tests.config.conftest import VALID


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def console(out: io.StringIO) -> Console:
    return Console(file=out, width=200, color_system=None)


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("PEOPLE_KEY", "people-secret-1")
    monkeypatch.setenv("DESK_TOKEN", "desk-secret-2")
    monkeypatch.delenv("OKRHUB_DATABASE_URL", raising=False)


def test_valid_config_prints_a_summary(tmp_path, registry, console, out, env):
    path = tmp_path / "hub.yaml"
    path.write_text(VALID, encoding="utf-8")

    code = validate_command(path, json_output=False, registry=registry, console=console)

    assert code == 0
    assert out.getvalue() == "config OK: 2 connections, org sync from hr\n"


def test_invalid_config_prints_each_error_with_its_position(tmp_path, registry, console, out, env):
    path = tmp_path / "hub.yaml"
    path.write_text("version: 1\nconections: {}\njobs:\n  org_sync:\n    cron: '0 2 * *'\n", encoding="utf-8")

    code = validate_command(path, json_output=False, registry=registry, console=console)

    assert code == 1
    text = out.getvalue()
    assert "2 problems" in text
    assert f"{path}:2:1" in text
    assert "unknown key `conections`; did you mean `connections`?" in text
    assert f"{path}:5:11" in text
    assert "jobs.org_sync.cron" in text


def test_json_output_lists_structured_errors(tmp_path, registry, console, out, env):
    path = tmp_path / "hub.yaml"
    path.write_text("version: 1\nconections: {}\n", encoding="utf-8")

    code = validate_command(path, json_output=True, registry=registry, console=console)

    assert code == 1
    report = json.loads(out.getvalue())
    assert report["ok"] is False
    (error,) = report["errors"]
    assert error["file"] == str(path)
    assert (error["line"], error["column"], error["field"]) == (2, 1, "conections")
    assert error["reason"] == "unknown key `conections`; did you mean `connections`?"


def test_json_output_of_a_valid_config(tmp_path, registry, console, out, env):
    path = tmp_path / "hub.yaml"
    path.write_text(VALID, encoding="utf-8")

    assert validate_command(path, json_output=True, registry=registry, console=console) == 0
    assert json.loads(out.getvalue()) == {"ok": True, "errors": []}


def test_missing_config_file_is_an_error_not_a_crash(tmp_path, registry, console, out):
    code = validate_command(tmp_path / "missing.yaml", json_output=True, registry=registry, console=console)

    assert code == 1
    (error,) = json.loads(out.getvalue())["errors"]
    assert error["reason"].startswith("config file not found")


def test_schema_command_prints_the_schema(registry, console, out):
    assert schema_command(None, registry=registry, console=console) == 0
    assert out.getvalue() == schema_text(registry)


def test_schema_command_writes_the_schema(tmp_path, registry, console, out):
    target = tmp_path / "schema" / "hub.schema.json"

    assert schema_command(target, registry=registry, console=console) == 0
    assert target.read_text(encoding="utf-8") == schema_text(registry)
    assert str(target) in out.getvalue()
