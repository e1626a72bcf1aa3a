"""`okrhub okrs show`: the same numbers as okr_core, as a rich tree and as JSON."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, time, timedelta

import pytest
from rich.console import Console
from sqlalchemy import Engine, event

from hub.cli.okrs_cmds import okrs_show_command
from hub.okrs.checkins import record_check_in
from hub.okrs.repository import load_tree
from hub.okrs.view import build_view
from okr_core.checkins import ConnectorAuthor, PersonAuthor
from okr_core.errors import UnknownReference
from okr_core.health import alignment_health
from okr_core.rollup import compute_progress

from .conftest import BASE, Q_START, TODAY

AS_OF = Q_START + timedelta(days=45)


def _walk(objectives):
    for objective in objectives:
        yield objective
        yield from _walk(objective["children"])


def test_view_matches_compute_progress(import_text, people: Engine) -> None:
    import_text()
    record_check_in(people, "kr-churn", 4.4, author=PersonAuthor(person_id="1002"), at=_at(30))
    data = build_view(people, as_of=AS_OF)
    tree = load_tree(people)
    report = compute_progress(tree, AS_OF)
    stale = {s.key_result_id for s in alignment_health(tree, AS_OF).stale}

    objectives = list(_walk(data["objectives"]))
    assert {o["key"] for o in objectives} == set(tree.objectives)
    for objective in objectives:
        expected = report.objectives[objective["key"]]
        assert objective["progress"] == pytest.approx(expected.progress.progress)
        assert objective["colour"] == expected.colour.value
        assert objective["expected"] == pytest.approx(expected.expected)
    key_results = [kr for o in objectives for kr in o["key_results"]]
    assert {kr["key"] for kr in key_results} == set(tree.key_results)
    for kr in key_results:
        expected = report.key_results[kr["key"]]
        assert kr["progress"] == pytest.approx(expected.progress)
        assert kr["colour"] == expected.colour.value
        assert kr["stale"] is (kr["key"] in stale)
    assert {s["key"] for s in data["health"]["stale"]} == stale
    assert data["health"]["depth"] == tree.depth() == 3
    assert data["health"]["unaligned"] == []
    assert {o["colour"] for o in objectives} >= {"red"}


def test_view_shows_the_last_check_in_and_who_made_it(import_text, people: Engine) -> None:
    import_text()
    record_check_in(
        people,
        "kr-churn",
        4,
        author=ConnectorAuthor(
            connection="warehouse", mapping="churn_q", run_id="77", query="SELECT 4", raw_result="[4]"
        ),
        at=_at(44),
    )
    data = build_view(people, as_of=AS_OF)
    krs = {kr["key"]: kr for o in _walk(data["objectives"]) for kr in o["key_results"]}
    revenue = krs["kr-revenue"]["last_check_in"]
    assert revenue["author"] == {"kind": "person", "employee_id": "1002", "name": "Ana Silva"}
    assert revenue["value"] == 20000
    assert krs["kr-revenue"]["owners"] == [{"employee_id": "1003", "name": "Ben Okafor"}]
    churn = krs["kr-churn"]["last_check_in"]["author"]
    assert (churn["kind"], churn["connection"], churn["mapping"], churn["run_id"]) == (
        "connector",
        "warehouse",
        "churn_q",
        "77",
    )
    assert krs["kr-churn"]["stale"] is False
    assert krs["kr-ship"]["last_check_in"] is None
    assert krs["kr-ship"]["stale"] is True  # never checked in, and the weekly cadence has passed


def test_owner_view_has_the_persons_progress_and_what_they_own(import_text, people: Engine) -> None:
    import_text()
    tree = load_tree(people)
    report = compute_progress(tree, AS_OF)
    data = build_view(people, as_of=AS_OF, owner="ben@example.com")
    assert data["owner"]["employee_id"] == "1003"
    assert data["owner"]["progress"] == pytest.approx(report.people["1003"].progress)
    assert data["objectives"] == []
    assert [kr["key"] for kr in data["other_key_results"]] == ["kr-revenue"]

    ana = build_view(people, as_of=AS_OF, owner="1002")
    assert [o["key"] for o in ana["objectives"]] == ["o-sales"]
    assert ana["objectives"][0]["children"] == []
    assert ana["owner"]["progress"] == pytest.approx(report.people["1002"].progress)

    with pytest.raises(UnknownReference):
        build_view(people, as_of=AS_OF, owner="nobody@example.com")


def test_a_cycle_filter_keeps_the_alignment_above_it(import_text, people: Engine) -> None:
    import_text()
    data = build_view(people, as_of=AS_OF, cycle="q")
    root = data["objectives"][0]
    assert (root["key"], root["context"]) == ("o-company", True)
    assert [(c["key"], c["context"]) for c in root["children"]] == [("o-sales", False)]
    with pytest.raises(UnknownReference, match="stored cycles: q, y"):
        build_view(people, as_of=AS_OF, cycle="nope")


def test_the_rich_tree_has_titles_percentages_and_the_health_footer(import_text, people: Engine) -> None:
    import_text()
    buffer = io.StringIO()
    assert (
        okrs_show_command(people, as_of=AS_OF, console=Console(file=buffer, width=200, color_system=None))
        == 0
    )
    out = buffer.getvalue()
    report = compute_progress(load_tree(people), AS_OF)
    for title, key in (
        ("Grow the company", "o-company"),
        ("Sell more", "o-sales"),
        ("Ship the thing", "o-team"),
    ):
        assert title in out
        assert f"{report.objectives[key].progress.progress:.0%}" in out
    assert "Reach 100k revenue" in out
    assert "20,000 USD of 100,000 USD" in out
    assert "owner Ben Okafor" in out
    assert "by Ana Silva" in out
    assert "STALE" in out
    assert "alignment health" in out
    assert "depth 3" in out
    assert "Engineering (team D2)" in out


def test_show_json_is_the_view(import_text, people: Engine) -> None:
    import_text()
    buffer = io.StringIO()
    okrs_show_command(people, as_of=AS_OF, json_output=True, console=Console(file=buffer, width=200))
    assert json.loads(buffer.getvalue()) == build_view(people, as_of=AS_OF)


def test_show_on_an_empty_store(people: Engine) -> None:
    buffer = io.StringIO()
    assert okrs_show_command(people, as_of=TODAY, console=Console(file=buffer, width=120)) == 0
    assert "no OKRs here yet" in buffer.getvalue()


def _at(days: int):
    return datetime.combine(Q_START + timedelta(days=days), time(12), tzinfo=UTC)


def test_loading_the_tree_takes_the_same_number_of_queries_however_big_it_is(
    import_text, people: Engine
) -> None:
    import_text()
    small = _statements(people, lambda: build_view(people, as_of=AS_OF, cycle="q"))
    many = "".join(
        f"      - key: o-extra-{n}\n"
        f"        title: Extra {n}\n"
        "        level: individual\n"
        "        owner: 1003\n"
        "        parent: o-team\n"
        "        key_results:\n"
        + "".join(
            f"          - {{key: kr-extra-{n}-{k}, title: Extra {k}, target: 10, owners: [1001, 1002]}}\n"
            for k in range(3)
        )
        for n in range(40)
    )
    import_text(BASE + many)
    assert len(load_tree(people).key_results) == 123
    big = _statements(people, lambda: build_view(people, as_of=AS_OF, cycle="q"))
    assert big == small


def _statements(engine: Engine, action) -> int:
    count = 0

    def count_it(*_args) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", count_it)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", count_it)
    return count
