"""Importing OKR files: created once, idempotent by key, all or nothing, errors at file:line:field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from hub.errors import ConfigError, ConfigErrors
from hub.okrs.importing import import_okrs
from hub.okrs.repository import check_in_history, load_tree
from hub.okrs.source import parse_yaml_document
from hub.store.models import OkrKeyResult
from okr_core.checkins import PersonAuthor
from okr_core.cycles import CycleState
from okr_core.key_results import KeyResultState
from okr_core.objectives import OwnerKind

from .conftest import BASE, Q_END, Q_START, line_of, quarter_in, table_counts, without_history


def _errors(import_text, text: str) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        import_text(text)
    return caught.value.errors


def test_import_creates_everything_and_a_reimport_changes_nothing(import_text, people: Engine) -> None:
    first = import_text()
    assert first.counts == {
        "cycles": {"created": 2, "updated": 0, "unchanged": 0},
        "objectives": {"created": 3, "updated": 0, "unchanged": 0},
        "key_results": {"created": 3, "updated": 0, "unchanged": 0},
        "check_ins": {"created": 1, "updated": 0, "unchanged": 0},
    }
    assert table_counts(people) == {
        "okr_cycles": 2,
        "okr_objectives": 3,
        "okr_key_results": 3,
        "okr_key_result_owners": 1,
        "okr_check_ins": 1,
    }
    tree = load_tree(people)
    assert tree.cycles["q"].parent_id == "y"
    assert tree.objectives["o-sales"].parent_id == "o-company"
    assert tree.objectives["o-sales"].owner.id == "1002"  # given as an email, stored as the employee id
    assert tree.objectives["o-team"].owner.kind is OwnerKind.TEAM
    revenue = tree.key_results["kr-revenue"]
    assert revenue.owners == ("1003",)
    assert revenue.current == 20000
    assert revenue.state is KeyResultState.IN_PROGRESS
    assert tree.key_results["kr-churn"].state is KeyResultState.DRAFT
    assert tree.key_results["kr-ship"].weight == 2

    again = import_text()
    assert again.changes == ()
    assert not again.changed
    assert again.counts == {
        "cycles": {"created": 0, "updated": 0, "unchanged": 2},
        "objectives": {"created": 0, "updated": 0, "unchanged": 3},
        "key_results": {"created": 0, "updated": 0, "unchanged": 3},
        "check_ins": {"created": 0, "updated": 0, "unchanged": 1},
    }
    assert table_counts(people)["okr_check_ins"] == 1


def test_a_changed_file_updates_only_what_changed(import_text, people: Engine) -> None:
    import_text()
    with people.connect() as conn:
        before = {
            row.key: row.updated_at for row in conn.execute(select(OkrKeyResult.key, OkrKeyResult.updated_at))
        }
    changed = BASE.replace("title: Cut churn", "title: Cut churn to 2%").replace(
        "owners: [1003]", "owners: [1003, ben@example.com]".replace("ben@example.com", "1001")
    )
    changed = changed.replace(
        "        parent: o-sales\n",
        "        parent: o-company\n",
    ) + (
        "      - key: o-new\n"
        "        title: A new one\n"
        "        level: individual\n"
        "        owner: 1003\n"
        "        parent: o-team\n"
    )
    result = import_text(changed)
    assert result.counts["cycles"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert result.counts["objectives"] == {"created": 1, "updated": 1, "unchanged": 2}
    assert result.counts["key_results"] == {"created": 0, "updated": 2, "unchanged": 1}
    assert set(result.changes) == {
        ("objective", "o-new", "created"),
        ("objective", "o-team", "updated"),
        ("key_result", "kr-churn", "updated"),
        ("key_result", "kr-revenue", "updated"),
    }
    tree = load_tree(people)
    assert tree.key_results["kr-churn"].title == "Cut churn to 2%"
    assert tree.key_results["kr-revenue"].owners == ("1003", "1001")
    assert tree.key_results["kr-revenue"].current == 20000  # state is not the file's to change
    assert tree.objectives["o-team"].parent_id == "o-company"
    assert tree.objectives["o-new"].parent_id == "o-team"
    with people.connect() as conn:
        after = {
            row.key: row.updated_at for row in conn.execute(select(OkrKeyResult.key, OkrKeyResult.updated_at))
        }
    assert after["kr-ship"] == before["kr-ship"]
    assert after["kr-churn"] > before["kr-churn"]


def test_departments_are_named_by_key_or_by_name(import_text, people: Engine) -> None:
    import_text(BASE.replace("owner: team:D2", "owner: team:engineering"))
    assert load_tree(people).objectives["o-team"].owner.id == "D2"
    assert import_text().changes == ()  # the key and the name are the same owner


def test_what_the_file_omits_is_never_deleted(import_text, people: Engine) -> None:
    import_text()
    trimmed = BASE[: BASE.index("      - key: o-team")]
    result = import_text(trimmed)
    assert result.counts["objectives"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert result.to_dict()["deletes"] == 0
    assert "o-team" in load_tree(people).objectives
    assert table_counts(people)["okr_key_results"] == 3


def test_a_dry_run_counts_and_writes_nothing(import_text, people: Engine) -> None:
    result = import_text(dry_run=True)
    assert result.dry_run
    assert result.counts["objectives"]["created"] == 3
    assert set(table_counts(people).values()) == {0}


# (what to change in BASE, the line's marker in the changed text, field path end, message part)
BAD_INPUTS = {
    "unknown owner": (
        ("owners: [1003]", "owners: [9999]"),
        "owners: [9999]",
        "key_results[kr-revenue].owners[0]",
        "unknown person `9999`",
    ),
    "unknown owner email": (
        ("owner: ana@example.com", "owner: nobody@example.com"),
        "owner: nobody@example.com",
        "objectives[o-sales].owner",
        "unknown person `nobody@example.com`",
    ),
    "unknown department": (
        ("owner: team:D2", "owner: team:D3"),
        "owner: team:D3",
        "objectives[o-team].owner",
        "unknown department `D3`",
    ),
    "misspelt key": (
        ("title: Ship it", "titel: Ship it"),
        "titel: Ship it",
        "key_results[kr-ship].titel",
        "unknown key `titel`; did you mean `title`?",
    ),
    "initial equals target": (
        ("            initial: 5\n            target: 2", "            initial: 5\n            target: 5"),
        "target: 5",
        "key_results[kr-churn].target",
        "equals the initial number",
    ),
    "decrease with the target above the initial": (
        ("            initial: 5\n            target: 2", "            initial: 5\n            target: 8"),
        "target: 8",
        "key_results[kr-churn].target",
        "is above the initial number (5.0) of a decrease-to key result",
    ),
    "cycle ending before it starts": (
        (f"    end: {Q_END}", "    end: 2001-01-01"),
        "end: 2001-01-01",
        "cycles[q].end",
        "the cycle ends before it starts",
    ),
    "objective parent loop": (
        ("        owner: 1001\n", "        owner: 1001\n        parent: o-team\n"),
        "parent: o-team",
        "objectives[o-company].parent",
        "would become its own ancestor",
    ),
    "unknown parent key": (
        ("parent: o-company", "parent: o-compnay"),
        "parent: o-compnay",
        "objectives[o-sales].parent",
        "unknown parent objective `o-compnay`; did you mean `o-company`?",
    ),
    "unknown parent cycle": (
        ("parent: y", "parent: x"),
        "parent: x",
        "cycles[q].parent",
        "unknown parent cycle `x`",
    ),
    "bad enum": (
        ("progress_type: decrease_to", "progress_type: decrease"),
        "progress_type: decrease",
        "key_results[kr-churn].progress_type",
        "'decrease_to'",
    ),
    "duplicate key": (
        ("key: kr-churn", "key: kr-revenue"),
        "            title: Cut churn",
        "key_results[kr-revenue].key",
        "key result key `kr-revenue` is used twice",
    ),
    "currency without code": (
        ("            currency: USD\n", ""),
        "key: kr-revenue",
        "key_results[kr-revenue].currency",
        "needs a currency code",
    ),
    "missing target": (
        ("            target: 100000\n", ""),
        "key: kr-revenue",
        "key_results[kr-revenue].target",
        "missing required key `target`",
    ),
    "check-in before the cycle": (
        (f"{{at: {Q_START + timedelta(days=5)}", "{at: 2001-01-01"),
        "{at: 2001-01-01",
        "key_results[kr-revenue].check_ins[0]",
        "before cycle `q` starts",
    ),
    "check-in by an unknown person": (
        ("by: 1002", "by: 7777"),
        "by: 7777",
        "check_ins[0].by",
        "unknown person `7777`",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_names_file_line_and_field_and_stores_nothing(
    import_text, people: Engine, case: str
) -> None:
    (old, new), marker, field, message = BAD_INPUTS[case]
    assert old in BASE, old
    text = BASE.replace(old, new, 1)
    errors = _errors(import_text, text)
    assert len(errors) == 1, errors
    error = errors[0]
    assert error.file == "okrs.yaml"
    if case == "duplicate key":
        assert error.line == line_of(text, marker) - 1
    else:
        assert error.line == line_of(text, marker)
    assert error.field is not None
    assert error.field.endswith(field), error.field
    assert message in error.reason, error.reason
    assert str(error).startswith(f"okrs.yaml:{error.line}:")
    assert set(table_counts(people).values()) == {0}


def test_a_bad_file_leaves_a_filled_store_as_it_was(import_text, people: Engine) -> None:
    import_text()
    before = load_tree(people)
    text = BASE.replace("title: Cut churn", "title: Cut churn again").replace(
        "owners: [1003]", "owners: [9999]"
    )
    _errors(import_text, text)
    after = load_tree(people)
    assert after.key_results == before.key_results
    assert after.objectives == before.objectives


def test_every_problem_is_reported_at_once(import_text) -> None:
    text = (
        BASE.replace("titel", "x")
        .replace("title: Ship it", "titel: Ship it")
        .replace("owner: 1001", "owner: 4242")
    )
    errors = _errors(import_text, text)
    assert len(errors) == 1  # shape errors stop before owners are looked up
    text = BASE.replace("owner: 1001", "owner: 4242").replace("owners: [1003]", "owners: [4343]")
    errors = _errors(import_text, text)
    assert [e.line for e in errors] == sorted(e.line for e in errors)
    assert {e.reason.split("`")[1] for e in errors} == {"4242", "4343"}


def test_check_in_history_is_appended_and_never_rewritten(import_text, people: Engine) -> None:
    import_text()
    later = BASE.replace(
        "note: first deals}",
        "note: first deals}\n"
        f"              - {{at: {Q_START + timedelta(days=20)}, value: 45000, by: ben@example.com}}",
    )
    result = import_text(later)
    assert result.counts["check_ins"] == {"created": 1, "updated": 0, "unchanged": 1}
    history = check_in_history(people, "kr-revenue")
    assert [r.value for r in history] == [20000, 45000]
    assert history[1].author == PersonAuthor(person_id="1003")
    assert load_tree(people).key_results["kr-revenue"].current == 45000

    rewritten = BASE.replace("value: 20000", "value: 25000")
    errors = _errors(import_text, rewritten)
    assert "already stored with value 20000 by 1002" in errors[0].reason
    assert errors[0].line == line_of(rewritten, "value: 25000")


def test_an_import_may_start_a_cycle_but_not_close_it(import_text, people: Engine) -> None:
    import_text(quarter_in("draft", without_history()))
    assert load_tree(people).cycles["q"].state is CycleState.DRAFT
    assert import_text(BASE).counts["cycles"]["updated"] == 1
    assert load_tree(people).cycles["q"].state is CycleState.IN_PROGRESS

    closed = quarter_in("closed")
    errors = _errors(import_text, closed)
    assert "cannot go from in_progress to closed" in errors[0].reason
    assert errors[0].field == "cycles[q].state"


def test_a_check_in_on_a_draft_cycle_is_refused_at_its_line(import_text) -> None:
    draft = quarter_in("draft")
    errors = _errors(import_text, draft)
    assert "has not started" in errors[0].reason
    assert errors[0].line == line_of(draft, "{at: ")


def test_a_parent_may_already_be_in_the_store(import_text, people: Engine) -> None:
    import_text()
    extra = (
        "version: 1\n"
        "cycles:\n"
        "  - key: q\n"
        f"    name: The quarter\n"
        "    kind: quarterly\n"
        "    parent: y\n"
        f"    start: {Q_START}\n"
        f"    end: {Q_END}\n"
        "    state: in_progress\n"
        "    objectives:\n"
        "      - key: o-solo\n"
        "        title: Aligned to a stored objective\n"
        "        level: individual\n"
        "        owner: 1003\n"
        "        parent: o-company\n"
    )
    result = import_text(extra)
    assert result.counts["objectives"] == {"created": 1, "updated": 0, "unchanged": 0}
    assert result.counts["cycles"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert load_tree(people).objectives["o-solo"].parent_id == "o-company"

    loop = extra.replace("parent: o-company", "parent: o-solo")
    errors = _errors(import_text, loop)
    assert "own ancestor" in errors[0].reason


def test_a_loop_through_stored_objectives_is_refused(import_text, people: Engine) -> None:
    import_text()
    # Only the year and o-company are in this file; o-team and o-sales, below it, are stored.
    text = BASE[: BASE.index("  - key: q\n")].replace(
        "        owner: 1001\n", "        owner: 1001\n        parent: o-team\n"
    )
    errors = _errors(import_text, text)
    assert errors[0].line == line_of(text, "parent: o-team")
    assert "(o-company -> o-team -> o-sales -> o-company)" in errors[0].reason


def test_yaml_syntax_errors_have_a_position(people: Engine) -> None:
    with pytest.raises(ConfigErrors) as caught:
        import_okrs(people, parse_yaml_document("version: 1\ncycles:\n  - key: [\n", source="bad.yaml"))
    assert caught.value.errors[0].line is not None
    assert "YAML syntax error" in caught.value.errors[0].reason
