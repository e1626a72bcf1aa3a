"""Recording check-ins: the service (people and connectors) and `okrhub okrs checkin`."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, select

from hub.okrs.checkins import record_check_in
from hub.okrs.records import AdminAuthor
from hub.okrs.repository import check_in_history, last_check_ins, load_tree
from hub.store.engine import begin_write
from hub.store.models import OkrCheckIn
from okr_core.checkins import ConnectorAuthor, PersonAuthor
from okr_core.errors import CheckInRefused, InvalidValue, UnknownReference
from okr_core.key_results import KeyResultState

from .conftest import BASE, Q_START, TODAY, quarter_in, table_counts, without_history

CONNECTOR = ConnectorAuthor(
    connection="salesforce-prod",
    mapping="kr_revenue_q",
    run_id="run-881",
    query="SELECT SUM(Amount) FROM Opportunity WHERE IsWon = true",
    raw_result='{"totalSize": 1, "records": [{"expr0": 41000.5}]}',
)


def _at(days: int, hour: int = 12) -> datetime:
    return datetime.combine(Q_START + timedelta(days=days), time(hour), tzinfo=UTC)


def test_first_check_in_starts_a_draft_key_result_and_keeps_history(import_text, people: Engine) -> None:
    import_text()
    stored = record_check_in(
        people,
        "kr-churn",
        4.5,
        author=PersonAuthor(person_id="1002"),
        note="better onboarding",
        confidence=6,
        at=_at(10),
    )
    assert stored.previous.state is KeyResultState.DRAFT
    assert stored.key_result.state is KeyResultState.IN_PROGRESS
    assert stored.key_result.current == 4.5
    kr = load_tree(people).key_results["kr-churn"]
    assert (kr.state, kr.current, kr.last_check_in_at) == (KeyResultState.IN_PROGRESS, 4.5, _at(10))
    [record] = check_in_history(people, "kr-churn")
    assert record.id == stored.record.id
    assert (record.value, record.note, record.confidence, record.at) == (4.5, "better onboarding", 6, _at(10))
    assert record.author == PersonAuthor(person_id="1002")
    assert record.fetched_at is None


def test_reaching_the_target_closes_and_a_closed_key_result_refuses(import_text, people: Engine) -> None:
    import_text()
    stored = record_check_in(people, "kr-ship", 1, author=PersonAuthor(person_id="1003"), at=_at(11))
    assert stored.key_result.state is KeyResultState.CLOSED
    with pytest.raises(CheckInRefused, match="the key result is closed"):
        record_check_in(people, "kr-ship", 0, author=PersonAuthor(person_id="1003"), at=_at(12))
    assert [r.value for r in check_in_history(people, "kr-ship")] == [1]


def test_a_passed_hard_deadline_refuses_and_stores_nothing(import_text, people: Engine) -> None:
    deadline = f"            deadline: {Q_START + timedelta(days=3)}\n            hard_deadline: true\n"
    import_text(BASE.replace("            weight: 2\n", "            weight: 2\n" + deadline))
    before = table_counts(people)
    with pytest.raises(CheckInRefused, match=r"hard deadline .* has passed"):
        record_check_in(people, "kr-ship", 1, author=PersonAuthor(person_id="1003"), at=_at(4))
    assert table_counts(people) == before
    assert load_tree(people).key_results["kr-ship"].state is KeyResultState.DRAFT
    record_check_in(people, "kr-ship", 0, author=PersonAuthor(person_id="1003"), at=_at(2))


def test_a_draft_cycle_refuses(import_text, people: Engine) -> None:
    import_text(quarter_in("draft", without_history()))
    with pytest.raises(CheckInRefused, match="has not started"):
        record_check_in(people, "kr-churn", 4, author=AdminAuthor(), at=_at(10))
    assert table_counts(people)["okr_check_ins"] == 0


def test_a_connector_check_in_keeps_its_provenance(import_text, people: Engine) -> None:
    import_text()
    fetched = _at(20, 6)
    stored = record_check_in(people, "kr-revenue", 41000.5, author=CONNECTOR, at=_at(20), fetched_at=fetched)
    [_, record] = check_in_history(people, "kr-revenue")
    assert record.author == CONNECTOR
    assert record.fetched_at == fetched
    assert record.to_dict()["author"] == {
        "kind": "connector",
        "connection": "salesforce-prod",
        "mapping": "kr_revenue_q",
        "run_id": "run-881",
        "query": "SELECT SUM(Amount) FROM Opportunity WHERE IsWon = true",
        "raw_result": '{"totalSize": 1, "records": [{"expr0": 41000.5}]}',
        "fetched_at": fetched.isoformat(),
    }
    assert last_check_ins(people, ["kr-revenue"])["kr-revenue"].id == stored.record.id
    with people.connect() as conn:
        row = conn.execute(select(OkrCheckIn).where(OkrCheckIn.id == stored.record.id)).one()
    assert (row.author_kind, row.author_employee_id, row.raw_result) == (
        "connector",
        None,
        CONNECTOR.raw_result,
    )
    # without fetched_at, the value was fetched when it held
    later = record_check_in(people, "kr-revenue", 42000, author=CONNECTOR, at=_at(21))
    assert later.record.fetched_at == _at(21)


def test_a_back_dated_check_in_joins_history_without_replacing_the_value(import_text, people: Engine) -> None:
    import_text()
    stored = record_check_in(people, "kr-revenue", 5000, author=AdminAuthor(), at=_at(2))
    assert stored.key_result.current == 20000
    assert [r.value for r in check_in_history(people, "kr-revenue")] == [5000, 20000]
    assert check_in_history(people, "kr-revenue")[0].author == AdminAuthor()


def test_bad_references_and_values_are_refused(import_text, people: Engine) -> None:
    import_text()
    with pytest.raises(UnknownReference, match="kr-nope"):
        record_check_in(people, "kr-nope", 1, author=AdminAuthor())
    with pytest.raises(UnknownReference, match="9999"):
        record_check_in(people, "kr-churn", 1, author=PersonAuthor(person_id="9999"))
    with pytest.raises(InvalidValue, match="binary"):
        record_check_in(people, "kr-ship", 0.5, author=AdminAuthor())
    with pytest.raises(InvalidValue, match="confidence"):
        record_check_in(people, "kr-churn", 4, author=AdminAuthor(), confidence=11)
    assert table_counts(people)["okr_check_ins"] == 1


def test_a_check_in_joins_the_callers_transaction(import_text, people: Engine) -> None:
    import_text()
    with begin_write(people) as conn:
        record_check_in(conn, "kr-churn", 4, author=AdminAuthor(), at=_at(10))
        assert len(check_in_history(conn, "kr-churn")) == 1
        conn.rollback()
    assert check_in_history(people, "kr-churn") == []
    assert load_tree(people).key_results["kr-churn"].state is KeyResultState.DRAFT


# --- the command ---------------------------------------------------------------------------------


def test_checkin_command_prints_progress_and_colour(import_text, cli, people: Engine) -> None:
    import_text()
    result = cli(
        "okrs",
        "checkin",
        "kr-churn",
        "3.5",
        "--note",
        "new playbook",
        "--confidence",
        "7",
        "--as",
        "ANA@example.com",
    )
    assert result.exit_code == 0, result.output
    assert "checked in kr-churn = 3.5% (was never checked in) by Ana Silva" in result.output
    assert "key result:" in result.output
    assert "50%" in result.output
    assert "draft → in_progress" in result.output
    [record] = check_in_history(people, "kr-churn")
    assert (record.author, record.note, record.confidence) == (
        PersonAuthor(person_id="1002"),
        "new playbook",
        7,
    )
    assert record.at.date() == datetime.now(UTC).date()


def test_checkin_json_and_the_default_admin_author(import_text, cli, people: Engine) -> None:
    import_text()
    result = cli("okrs", "checkin", "kr-ship", "1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] is True
    assert data["check_in"]["author"] == {"kind": "admin"}
    assert data["previous_state"] == "draft"
    assert data["key_result"]["state"] == "closed"
    assert data["key_result"]["progress"] == 1.0
    assert data["key_result"]["colour"] == "green"
    assert data["objective"]["key"] == "o-team"
    assert check_in_history(people, "kr-ship")[0].author == AdminAuthor()


def test_checkin_author_from_the_environment(
    import_text, cli, people: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_text()
    monkeypatch.setenv("OKRHUB_CHECK_IN_AS", "1003")
    assert cli("okrs", "checkin", "kr-churn", "4").exit_code == 0
    assert check_in_history(people, "kr-churn")[0].author == PersonAuthor(person_id="1003")


def test_checkin_refusals_exit_1_with_the_reason_and_store_nothing(import_text, cli, people: Engine) -> None:
    import_text()
    assert cli("okrs", "checkin", "kr-ship", "1").exit_code == 0
    before = table_counts(people)
    closed = cli("okrs", "checkin", "kr-ship", "0")
    assert closed.exit_code == 1
    assert "refused: the key result is closed" in closed.output
    unknown = cli("okrs", "checkin", "kr-nope", "1", "--json")
    assert unknown.exit_code == 1
    assert json.loads(unknown.output)["error"]["missing"] == "kr-nope"
    nobody = cli("okrs", "checkin", "kr-churn", "4", "--as", "9999")
    assert nobody.exit_code == 1
    assert "9999" in nobody.output
    assert table_counts(people) == before
    assert TODAY >= Q_START


def test_concurrent_check_ins_keep_every_entry_and_the_latest_value(import_text, people: Engine) -> None:
    import_text()
    days = [7, 3, 9, 1, 8, 2, 6, 4]
    errors: list[BaseException] = []

    def check_in(day: int) -> None:
        try:
            record_check_in(people, "kr-churn", 5 - day / 10, author=AdminAuthor(), at=_at(day))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=check_in, args=(day,)) for day in days]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(check_in_history(people, "kr-churn")) == len(days)
    kr = load_tree(people).key_results["kr-churn"]
    assert (kr.current, kr.last_check_in_at) == (5 - 9 / 10, _at(9))
