"""`okrhub okrs import | export | show` as an admin types them (CliRunner, the test store, a tiny config)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from .conftest import BASE, Q_START, line_of, table_counts

AS_OF = str(Q_START + timedelta(days=45))


def _write(tmp_path: Path, text: str, name: str = "okrs.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_import_reports_counts_and_is_idempotent(cli, tmp_path: Path) -> None:
    path = _write(tmp_path, BASE)
    first = cli("okrs", "import", str(path))
    assert first.exit_code == 0, first.output
    objectives = next(line for line in first.output.splitlines() if line.strip().startswith("objectives"))
    assert objectives.split() == ["objectives", "3", "created", "0", "updated", "0", "unchanged"]
    assert "created key results: kr-revenue, kr-churn, kr-ship" in first.output
    assert "nothing was deleted" in first.output
    again = cli("okrs", "import", str(path), "--json")
    assert again.exit_code == 0, again.output
    data = json.loads(again.output)
    assert data["ok"] is True
    assert data["counts"]["key_results"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert data["changes"] == []


def test_a_bad_file_exits_2_with_file_line_and_field(cli, tmp_path: Path, people: Engine) -> None:
    text = BASE.replace("owners: [1003]", "owners: [9999]")
    path = _write(tmp_path, text)
    result = cli("okrs", "import", str(path))
    assert result.exit_code == 2
    line = line_of(text, "owners: [9999]")
    assert f"{path}:{line}:" in result.output
    assert "key_results[kr-revenue].owners[0]" in result.output
    assert "unknown person `9999`" in result.output
    as_json = cli("okrs", "import", str(path), "--json")
    assert as_json.exit_code == 2
    [error] = json.loads(as_json.output)["error"]["errors"]
    assert (error["file"], error["line"]) == (str(path), line)
    assert set(table_counts(people).values()) == {0}


def test_a_missing_file_is_a_config_error(cli, tmp_path: Path) -> None:
    result = cli("okrs", "import", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "OKR file not found" in result.output


def test_export_to_a_file_then_import_it_back(cli, tmp_path: Path) -> None:
    assert cli("okrs", "import", str(_write(tmp_path, BASE))).exit_code == 0
    for fmt in ("yaml", "csv"):
        target = tmp_path / f"export.{fmt}"
        exported = cli("okrs", "export", "--format", fmt, "--output", str(target))
        assert exported.exit_code == 0, exported.output
        back = cli("okrs", "import", str(target), "--json")
        assert back.exit_code == 0, back.output
        counts = json.loads(back.output)["counts"]
        assert all(c["created"] == c["updated"] == 0 for c in counts.values()), counts
    stdout = cli("okrs", "export")
    assert stdout.exit_code == 0
    assert "key: kr-revenue" in stdout.output


def test_show_as_a_tree_and_as_json(cli, tmp_path: Path) -> None:
    assert cli("okrs", "import", str(_write(tmp_path, BASE))).exit_code == 0
    tree = cli("okrs", "show", "--as-of", AS_OF)
    assert tree.exit_code == 0, tree.output
    assert "Grow the company" in tree.output
    assert "alignment health" in tree.output
    data = cli("okrs", "show", "--as-of", AS_OF, "--json")
    assert data.exit_code == 0
    parsed = json.loads(data.output)
    assert parsed["as_of"] == AS_OF
    assert parsed["objectives"][0]["key"] == "o-company"
    owner = json.loads(cli("okrs", "show", "--as-of", AS_OF, "--owner", "1003", "--json").output)
    assert owner["owner"]["name"] == "Ben Okafor"
    cycle = cli("okrs", "show", "--cycle", "nope")
    assert cycle.exit_code == 1
    assert "stored cycles: q, y" in cycle.output
