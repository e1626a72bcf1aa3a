"""`okrhub ratings ...` as an admin types them (CliRunner, the test store, a tiny config)."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import BASE, line_of


def _write(tmp_path: Path, text: str = BASE) -> Path:
    path = tmp_path / "ratings.yaml"
    path.write_text(text)
    return path


def test_the_whole_flow_in_json(cli, tmp_path: Path) -> None:
    path = _write(tmp_path)
    first = cli("ratings", "import", str(path), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["counts"]["ratings"]["created"] == 5
    again = cli("ratings", "import", str(path))
    assert again.exit_code == 0, again.output
    assert "already matched" in again.output

    calibrated = cli(
        "ratings", "calibrate", "1006", "4", "--reason", "narrow scope", "--by", "1002", "--json"
    )
    assert calibrated.exit_code == 0, calibrated.output
    data = json.loads(calibrated.output)
    assert (data["before"]["value"], data["after"]["value"], data["level"]) == (5, 4, "director")

    refused = cli("ratings", "calibrate", "1006", "3", "--reason", "x", "--by", "1007", "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.output)["error"]["type"] == "RatingRefused"

    dist = cli("ratings", "distribution", "--by", "department", "--json")
    assert dist.exit_code == 0, dist.output
    assert {g["key"] for g in json.loads(dist.output)["groups"]} == {"D1", "D2"}

    shown = cli("ratings", "show", "--json")
    people = {p["employee_id"]: p for p in json.loads(shown.output)["people"]}
    assert people["1006"]["manager_rating"]["value"] == 5
    assert people["1006"]["calibrated_rating"]["value"] == 4
    assert people["1006"]["adjustments"] == 1

    final = cli("ratings", "finalize", "--by", "1001", "--json")
    assert json.loads(final.output)["action"] == "finalize"
    locked = cli("ratings", "import", str(path))
    assert locked.exit_code == 1
    assert "finalized" in locked.output
    reopened = cli("ratings", "reopen", "--reason", "appeal", "--by", "1001", "--json")
    assert reopened.exit_code == 0, reopened.output
    assert json.loads(reopened.output)["reason"] == "appeal"


def test_tables_and_bars(cli, tmp_path: Path) -> None:
    assert cli("ratings", "import", str(_write(tmp_path))).exit_code == 0
    dist = cli("ratings", "distribution", "--cycle", "r-2026")
    assert dist.exit_code == 0, dist.output
    assert "guideline 60%" in dist.output
    assert "▲" in dist.output
    assert "█" in dist.output
    shown = cli("ratings", "show")
    assert shown.exit_code == 0, shown.output
    assert "Growth" in shown.output
    calibrated = cli("ratings", "calibrate", "1004", "4", "--reason", "strong", "--by", "1003")
    assert "3 Meets → 4 Exceeds" in calibrated.output


def test_a_bad_file_exits_2_with_file_and_line(cli, tmp_path: Path) -> None:
    text = BASE.replace('"1009", rating: 2', '"1009", rating: 9')
    path = _write(tmp_path, text)
    result = cli("ratings", "import", str(path), "--json")
    assert result.exit_code == 2
    [error] = json.loads(result.output)["error"]["errors"]
    assert (error["file"], error["line"], error["field"]) == (
        str(path),
        line_of(text, "rating: 9"),
        "ratings[4].rating",
    )
