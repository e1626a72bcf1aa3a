"""Many check-ins in one transaction: lock, decide in memory, write in bulk, with the single path's rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import Engine

from hub.okrs.checkins import decide_check_in, lock_for_check_in, record_check_in, write_check_ins
from hub.okrs.repository import check_in_history, load_tree
from hub.store.engine import begin_write
from okr_core.checkins import ConnectorAuthor
from okr_core.errors import CheckInRefused, InvalidValue
from okr_core.key_results import KeyResultState

from .conftest import Q_START, table_counts

AUTHOR = ConnectorAuthor(
    connection="salesforce", mapping="m", run_id="7", query="SELECT 1", raw_result='{"value": 1}'
)


def _at(days: int) -> datetime:
    return datetime.combine(Q_START + timedelta(days=days), time(9), tzinfo=UTC)


def test_bulk_check_ins_store_what_single_check_ins_store(import_text, people: Engine) -> None:
    import_text()
    recorded = _at(30)
    with begin_write(people) as conn:
        targets = lock_for_check_in(conn, ["kr-churn", "kr-ship", "kr-revenue", "kr-nope"])
        assert set(targets) == {"kr-churn", "kr-ship", "kr-revenue"}
        assert targets["kr-revenue"].key_result.current == 20000
        writes = [
            decide_check_in(targets[key], value, author=AUTHOR, at=_at(20), recorded_at=recorded)
            for key, value in (("kr-churn", 3.5), ("kr-ship", 1), ("kr-revenue", 41000.5))
        ]
        write_check_ins(conn, writes, updated_at=recorded)

    tree = load_tree(people)
    assert tree.key_results["kr-churn"].state is KeyResultState.IN_PROGRESS
    assert tree.key_results["kr-ship"].state is KeyResultState.CLOSED, "reaching the target closes it"
    assert [
        (kr.current, kr.last_check_in_at) for kr in (tree.key_results[k] for k in ("kr-churn", "kr-revenue"))
    ] == [
        (3.5, _at(20)),
        (41000.5, _at(20)),
    ]
    [_, record] = check_in_history(people, "kr-revenue")
    assert (record.value, record.at, record.fetched_at, record.recorded_at, record.author) == (
        41000.5,
        _at(20),
        _at(20),
        recorded,
        AUTHOR,
    )
    # The single path sees what the bulk path stored: kr-ship is closed now.
    with pytest.raises(CheckInRefused, match="the key result is closed"):
        record_check_in(people, "kr-ship", 0, author=AUTHOR, at=_at(21))


def test_a_refused_check_in_is_decided_in_memory_and_writes_nothing(import_text, people: Engine) -> None:
    import_text()
    before = table_counts(people)
    with begin_write(people) as conn:
        targets = lock_for_check_in(conn, ["kr-ship", "kr-churn"])
        with pytest.raises(InvalidValue, match="binary"):
            decide_check_in(targets["kr-ship"], 0.5, author=AUTHOR, at=_at(20), recorded_at=_at(20))
        with pytest.raises(CheckInRefused, match="before cycle `q` starts"):
            decide_check_in(targets["kr-churn"], 4, author=AUTHOR, at=_at(-1), recorded_at=_at(20))
        write_check_ins(conn, [], updated_at=_at(20))
    assert table_counts(people) == before


def test_a_second_check_in_in_the_same_batch_sees_the_first(import_text, people: Engine) -> None:
    import_text()
    with begin_write(people) as conn:
        target = lock_for_check_in(conn, ["kr-ship"])["kr-ship"]
        first = decide_check_in(target, 1, author=AUTHOR, at=_at(20), recorded_at=_at(20))
        later = target.after(first)
        assert (later.key_result.current, later.key_result.state) == (1, KeyResultState.CLOSED)
        with pytest.raises(CheckInRefused, match="the key result is closed"):
            decide_check_in(later, 0, author=AUTHOR, at=_at(21), recorded_at=_at(21))
        write_check_ins(conn, [first], updated_at=_at(20))
    assert [r.value for r in check_in_history(people, "kr-ship")] == [1]
