"""The `okrhub` commands as an admin types them: tables for people, JSON for scripts, exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hub.cli.main import app


@pytest.fixture
def cli(write_config, env, tmp_path, monkeypatch):
    monkeypatch.setenv("OKRHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    config = write_config("bamboohr")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [*args[:2], "--config", str(config), *args[2:]] if args else [])

    return run


def run_args(cli, command: list[str], options: list[str] = ()):
    return cli(*command, *options)


def test_sync_org_json_then_people_and_runs(cli, org):
    result = cli("sync", "org", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["status"] == "succeeded"
    assert report["counts"]["created"] == len(org.employees)
    assert report["api_calls"] == 1

    people = cli("people", "--json", "--limit", "0")
    assert people.exit_code == 0, people.output
    listed = json.loads(people.output)
    assert listed["total"] == sum(1 for e in org.employees.values() if e.is_active)
    ceo = next(p for p in listed["people"] if p["manager_id"] is None)
    assert ceo["identities"]["salesforce"].startswith("005")

    runs = cli("runs", "--json")
    assert runs.exit_code == 0, runs.output
    assert json.loads(runs.output)[0]["status"] == "succeeded"

    shown = cli("runs", "show", str(report["run_id"]), "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["counts"]["created"] == len(org.employees)


def test_dry_run_prints_the_diff_for_a_person(cli, org):
    assert cli("sync", "org").exit_code == 0
    changed = org.mutate(0.01, seed=4)
    result = cli("sync", "org", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "DRY RUN, nothing written" in result.output
    assert "would be updated" in result.output
    assert changed[0] in result.output


def test_a_guard_exits_3_and_says_what_to_do(cli, org):
    assert cli("sync", "org").exit_code == 0
    for employee_id in [e.employee_id for e in org.active()][100:200]:
        org.terminate(employee_id)
    result = cli("sync", "org", "--full")
    assert result.exit_code == 3, result.output
    assert "max_deactivate_ratio" in result.output
    assert "--force" in result.output


def test_a_bad_config_names_file_line_and_field(tmp_path):
    config = tmp_path / "hub.yaml"
    config.write_text("version: 1\norg_sync:\n  connection: hr\n  max_deactivate_ration: 0.2\n")
    result = CliRunner().invoke(app, ["validate", "--config", str(config), "--json"])
    assert result.exit_code == 1
    errors = json.loads(result.output)["errors"]
    misspelt = next(e for e in errors if e["field"] and e["field"].endswith("max_deactivate_ration"))
    assert misspelt["line"] == 4
    assert misspelt["file"] == str(config)
    assert "max_deactivate_ratio" in misspelt["message"]


def test_sync_with_a_bad_config_exits_2(tmp_path):
    config = tmp_path / "hub.yaml"
    config.write_text("version: 1\nconnections:\n  hr:\n    type: bambohr\n")
    result = CliRunner().invoke(app, ["sync", "org", "--config", str(config)])
    assert result.exit_code == 2
    assert "did you mean `bamboohr`" in result.output.lower()
