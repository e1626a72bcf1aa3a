"""CSV import, and export in both formats: what is exported imports back as unchanged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from hub.errors import ConfigErrors
from hub.okrs.checkins import record_check_in
from hub.okrs.csv_format import HEADERS, parse_csv, write_csv
from hub.okrs.export import export_document, render_yaml
from hub.okrs.importing import import_okrs
from hub.okrs.repository import check_in_history, load_tree
from hub.okrs.source import parse_yaml_document
from okr_core.checkins import ConnectorAuthor

from .conftest import Q_START

ALL_UNCHANGED = {
    "cycles": {"created": 0, "updated": 0, "unchanged": 2},
    "objectives": {"created": 0, "updated": 0, "unchanged": 3},
    "key_results": {"created": 0, "updated": 0, "unchanged": 3},
}


def _csv_errors(text: str):
    with pytest.raises(ConfigErrors) as caught:
        parse_csv(text, source="okrs.csv")
    return caught.value.errors


def test_yaml_export_imports_back_unchanged(import_text, people: Engine) -> None:
    import_text()
    record_check_in(
        people,
        "kr-churn",
        4,
        author=ConnectorAuthor(connection="c", mapping="m", run_id="1", query="q", raw_result="{}"),
    )
    exported = render_yaml(export_document(people))
    result = import_okrs(people, parse_yaml_document(exported, source="export.yaml"))
    assert {kind: result.counts[kind] for kind in ALL_UNCHANGED} == ALL_UNCHANGED
    assert result.counts["check_ins"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert not result.changed
    # connector check-ins stay in the store, and out of the file
    assert "raw_result" not in exported
    assert [r.value for r in check_in_history(people, "kr-churn")] == [4]
    assert render_yaml(export_document(people)) == exported


def test_csv_export_imports_back_unchanged(import_text, people: Engine) -> None:
    import_text()
    exported = write_csv(export_document(people))
    assert exported.splitlines()[0].split(",") == list(HEADERS)
    result = import_okrs(people, parse_csv(exported, source="export.csv"))
    assert {kind: result.counts[kind] for kind in ALL_UNCHANGED} == ALL_UNCHANGED
    assert result.counts["check_ins"] == {"created": 0, "updated": 0, "unchanged": 0}


def test_csv_alone_builds_the_same_tree(import_text, people: Engine, tmp_path) -> None:
    import_text()
    exported = write_csv(export_document(people))
    tree = load_tree(people)
    parsed = parse_csv(exported, source="export.csv")
    document = parsed.document
    assert [c.key for c in document.cycles] == ["y", "q"]
    assert [o.key for o in document.cycles[0].objectives] == ["o-company"]
    assert [kr.key for o in document.cycles[1].objectives for kr in o.key_results] == list(
        k for k in tree.key_results
    )
    assert document.cycles[1].objectives[0].key_results[0].owners == ["1003"]


def test_export_of_one_cycle_keeps_its_parent_cycle(import_text, people: Engine) -> None:
    import_text()
    document = export_document(people, cycle="q")
    assert [(c.key, len(c.objectives)) for c in document.cycles] == [("y", 0), ("q", 2)]
    result = import_okrs(people, parse_yaml_document(render_yaml(document), source="q.yaml"))
    assert result.counts["objectives"] == {"created": 0, "updated": 0, "unchanged": 2}


def test_csv_unknown_column_suggests_the_right_one() -> None:
    errors = _csv_errors("cycle,cycle_nmae\nq,Q\n")
    assert errors[0].line == 1
    assert errors[0].column == 2
    assert errors[0].field == "cycle_nmae"
    assert "did you mean `cycle_name`?" in errors[0].reason


def test_csv_errors_name_row_column_and_header(import_text, people: Engine) -> None:
    import_text()
    rows = write_csv(export_document(people)).splitlines()
    header = rows[0].split(",")
    broken = rows[3].split(",")
    broken[header.index("kr_target")] = "lots"
    text = "\n".join([*rows[:3], ",".join(broken), *rows[4:]]) + "\n"
    errors = _csv_errors(text)
    assert len(errors) == 1
    assert (errors[0].line, errors[0].column, errors[0].field) == (
        4,
        header.index("kr_target") + 1,
        "kr_target",
    )
    assert "valid number" in errors[0].reason


def test_csv_domain_refusals_point_at_the_cell(import_text, people: Engine) -> None:
    import_text()
    rows = write_csv(export_document(people)).splitlines()
    header = rows[0].split(",")
    churn = next(i for i, row in enumerate(rows) if ",kr-churn," in row)
    cells = rows[churn].split(",")
    cells[header.index("kr_target")] = cells[header.index("kr_initial")]
    rows[churn] = ",".join(cells)
    with pytest.raises(ConfigErrors) as caught:
        import_okrs(people, parse_csv("\n".join(rows) + "\n", source="okrs.csv"))
    error = caught.value.errors[0]
    assert (error.line, error.field) == (churn + 1, "kr_target")
    assert "equals the initial number" in error.reason


def test_csv_repeated_cells_must_agree() -> None:
    text = (
        "cycle,cycle_name,cycle_kind,cycle_start,cycle_end,objective,objective_title,objective_level,objective_owner\n"
        f"q,Q,quarterly,{Q_START},{Q_START + timedelta(days=80)},o,One,company,1001\n"
        "q,Another name,,,,o,,,\n"
    )
    errors = _csv_errors(text)
    assert (errors[0].line, errors[0].field) == (3, "cycle_name")
    assert "disagrees with `Q` on line 2" in errors[0].reason


def test_csv_cells_left_empty_take_the_other_rows_values(people: Engine) -> None:
    text = (
        "cycle,cycle_name,cycle_kind,cycle_start,cycle_end,cycle_state,objective,objective_title,"
        "objective_level,objective_owner,kr,kr_title,kr_target,kr_owners\n"
        f"q,Q,quarterly,{Q_START},{Q_START + timedelta(days=80)},in_progress,"
        "o,One,company,1001,k1,First,10,1002;1003\n"
        "q,,,,,,o,,,,k2,Second,20,\n"
        "q,,,,,,o2,Two,team,team:D1,,,,\n"
    )
    result = import_okrs(people, parse_csv(text, source="okrs.csv"))
    assert result.counts["key_results"]["created"] == 2
    tree = load_tree(people)
    assert tree.key_results["k1"].owners == ("1002", "1003")
    assert tree.key_results["k2"].objective_id == "o"
    assert tree.key_results_of("o2") == ()
