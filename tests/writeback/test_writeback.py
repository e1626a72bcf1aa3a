"""The write-back job against both emulators over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from hub.http.stats import CallStats
from hub.jobs.writeback.outbox import cancel, load_rows
from hub.jobs.writeback.reconcile import reconcile
from hub.jobs.writeback.run import run_writeback
from hub.store.ledger import RunLedger
from hub.store.models import utcnow
from sandbox.bamboohr import RATING_OPTIONS, BambooHREmulator, ratings_table
from sandbox.server import Fault
from sandbox.workday import RATING_IDS, WorkdayEmulator
from tests.writeback.conftest import Hcm, StandInRatings


class Crash(Exception):
    """A process dying between two steps."""


def _run(engine: Engine, hcm: Hcm, ratings: StandInRatings, **kwargs):
    stats = kwargs.pop("stats", None) or CallStats()
    sink = hcm.make_sink(stats=stats, **kwargs.pop("sink", {}))
    return run_writeback(
        engine, sink, kwargs.pop("settings", hcm.settings), stats=stats, finalized=ratings, **kwargs
    )


def _assert_each_once(hcm: Hcm, people: list[str]) -> None:
    assert {who: hcm.writes_for(who) for who in people} == dict.fromkeys(people, 1)
    assert hcm.total_writes() == len(people)


def test_only_finalized_ratings_leave(
    store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people
) -> None:
    ratings.finalized = False
    result = _run(store_engine, hcm, ratings)
    assert result.status == "succeeded"
    assert result.counts == {}
    assert hcm.total_writes() == 0

    ratings.finalized = True
    result = _run(store_engine, hcm, ratings)
    assert result.counts == {"confirmed": 10}
    _assert_each_once(hcm, people)
    rows = load_rows(store_engine)
    assert {r.status for r in rows.values()} == {"confirmed"}
    held = {r.employee_id: r.value for r in hcm.make_sink().read_ratings(review_cycle="acme-2026")}
    assert held == {who: hcm.settings.scale[str(v)] for who, v in ratings.ratings.items()}


def test_second_run_sends_nothing(store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people) -> None:
    _run(store_engine, hcm, ratings)
    hcm.app.requests.clear()
    stats = CallStats()
    result = _run(store_engine, hcm, ratings, stats=stats)
    assert result.counts == {}
    assert stats.api_calls == 0
    assert hcm.app.requests.count() == 0
    _assert_each_once(hcm, people)


def test_changed_rating_is_sent_again(
    store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people
) -> None:
    _run(store_engine, hcm, ratings)
    ratings.ratings[people[0]] = 1 + ratings.ratings[people[0]] % 4
    result = _run(store_engine, hcm, ratings)
    assert result.counts == {"confirmed": 1}
    assert hcm.writes_for(people[0]) == 2


def test_dry_run_writes_nothing(store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people) -> None:
    result = _run(store_engine, hcm, ratings, dry_run=True)
    assert result.counts == {"would_send": 10}
    first = next(o for o in result.outcomes if o.employee_id == people[0])
    assert first.value == hcm.settings.scale[str(ratings.ratings[people[0]])]
    assert hcm.writes_for(people[0]) == 0
    assert hcm.app.requests.count(hcm.write_path()) == 0
    assert load_rows(store_engine) == {}
    assert RunLedger(store_engine).get(result.run_id).dry_run


@pytest.mark.parametrize("step", ["marked", "sent", "recorded"])
def test_crash_at_each_step_then_rerun_writes_each_rating_once(
    store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people, step: str
) -> None:
    def crash(at: str) -> None:
        if at == step:
            raise Crash(at)

    with pytest.raises(Crash):
        _run(store_engine, hcm, ratings, checkpoint=crash)
    statuses = {r.status for r in load_rows(store_engine).values()}
    assert statuses <= {"sending", "confirmed"}

    result = _run(store_engine, hcm, ratings)
    assert result.status == "succeeded"
    _assert_each_once(hcm, people)
    assert {r.status for r in load_rows(store_engine).values()} == {"confirmed"}
    assert _run(store_engine, hcm, ratings).counts == {}


def test_crash_while_settling_is_harmless(
    store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people
) -> None:
    def crash_sent(at: str) -> None:
        if at == "sent":
            raise Crash(at)

    def crash_settled(at: str) -> None:
        if at == "settled":
            raise Crash(at)

    with pytest.raises(Crash):
        _run(store_engine, hcm, ratings, checkpoint=crash_sent)
    with pytest.raises(Crash):
        _run(store_engine, hcm, ratings, checkpoint=crash_settled)
    _run(store_engine, hcm, ratings)
    _assert_each_once(hcm, people)


def test_500_after_store_does_not_duplicate(
    store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people
) -> None:
    hcm.app.faults.inject(
        Fault(kind="status_after", status=500, path=hcm.write_path(), method="POST", times=2)
    )
    result = _run(store_engine, hcm, ratings)
    assert result.counts == {"confirmed": 10}
    _assert_each_once(hcm, people)
    assert {r.status for r in load_rows(store_engine).values()} == {"confirmed"}


def test_timeout_after_store_does_not_duplicate(
    store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people
) -> None:
    hcm.app.faults.inject(
        Fault(kind="delay_after", delay_seconds=1.2, path=hcm.write_path(), method="POST", times=1)
    )
    result = _run(store_engine, hcm, ratings, sink={"timeout": 0.4})
    assert result.counts == {"confirmed": 10}
    _assert_each_once(hcm, people)


def test_429_is_retried_and_still_written_once(
    store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people
) -> None:
    hcm.app.faults.inject(
        Fault(kind="status", status=429, retry_after="0", path=hcm.write_path(), method="POST", times=2)
    )
    stats = CallStats()
    result = _run(store_engine, hcm, ratings, stats=stats)
    assert result.counts == {"confirmed": 10}
    assert stats.retries == 2
    _assert_each_once(hcm, people)


def test_rejected_is_kept_with_the_hcm_message_and_retried(
    store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people
) -> None:
    bogus = "Bogus_Rating"
    settings = hcm.settings.model_copy(update={"scale": {**hcm.settings.scale, "4": bogus}})
    first = _run(store_engine, hcm, ratings, settings=settings)
    rejected = [o for o in first.outcomes if o.action == "rejected"]
    fours = sorted(who for who, value in ratings.ratings.items() if value == 4)
    assert sorted(o.employee_id for o in rejected) == fours
    rows = load_rows(store_engine, status="rejected")
    message = "Invalid value 'Bogus_Rating'" if hcm.kind == "bamboohr" else "'Bogus_Rating' is not a valid ID"
    assert all(message in (row.last_error or "") for row in rows.values())
    ledger = RunLedger(store_engine).get(first.run_id)
    assert ledger.rejection_count == len(fours)
    assert message in ledger.rejections[0].reason

    second = _run(store_engine, hcm, ratings, settings=settings)
    assert second.counts == {"rejected": len(fours)}
    assert {r.attempts for r in load_rows(store_engine, status="rejected").values()} == {2}

    # An admin adds the value in the HCM: the next run gets it through.
    if isinstance(hcm.app, BambooHREmulator):
        hcm.app.tables["customPerformanceRatings"] = ratings_table((*RATING_OPTIONS, bogus))
    else:
        assert isinstance(hcm.app, WorkdayEmulator)
        hcm.app.rating_ids = (*RATING_IDS, bogus)
    third = _run(store_engine, hcm, ratings, settings=settings)
    assert third.counts == {"confirmed": len(fours)}
    _assert_each_once(hcm, people)


def test_cancelled_rows_are_not_sent(store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people) -> None:
    settings = hcm.settings.model_copy(update={"scale": {**hcm.settings.scale, "4": "Nope"}})
    _run(store_engine, hcm, ratings, settings=settings)
    key = next(iter(load_rows(store_engine, status="rejected")))
    row = cancel(store_engine, key, reason="rated by hand in the HCM", now=utcnow())
    assert row.status == "cancelled"
    result = _run(store_engine, hcm, ratings, settings=settings)
    assert key not in {o.key for o in result.outcomes}


def test_reconcile_finds_a_rating_changed_by_hand(
    store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people
) -> None:
    _run(store_engine, hcm, ratings)
    clean = reconcile(store_engine, hcm.make_sink(), hcm.settings, finalized=ratings)
    assert clean.matching == 10
    assert clean.mismatches == []

    expected = hcm.settings.scale[str(ratings.ratings[people[3]])]
    other = next(v for v in hcm.settings.scale.values() if v != expected)
    hcm.change_by_hand(people[3], other)
    report = reconcile(store_engine, hcm.make_sink(), hcm.settings, finalized=ratings)
    assert [(m.employee_id, m.kind, m.expected, m.held) for m in report.mismatches] == [
        (people[3], "different", expected, other)
    ]


def test_dry_run_after_a_crash_reads_back_but_writes_nothing(
    store_engine: Engine, hcm: Hcm, ratings: StandInRatings, people
) -> None:
    def crash(at: str) -> None:
        if at == "sent":
            raise Crash(at)

    with pytest.raises(Crash):
        _run(store_engine, hcm, ratings, checkpoint=crash)
    dry = _run(store_engine, hcm, ratings, dry_run=True)
    assert dry.counts == {"settled_confirmed": 1, "settled_pending": 3, "would_send": 9}
    assert {r.status for r in load_rows(store_engine).values()} == {"sending"}
    assert hcm.total_writes() == 1
    _run(store_engine, hcm, ratings)
    _assert_each_once(hcm, people)
