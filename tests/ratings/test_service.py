"""Calibration, finalize/reopen, distributions and the write-back feed, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from hub.ratings.service import (
    calibrate_rating,
    cycle_events,
    finalize_cycle,
    finalized_ratings,
    reopen_cycle,
)
from hub.ratings.views import distribution_report, ratings_overview
from hub.store.models import StoredCalibration, StoredRating
from okr_core.errors import InvalidTransition, InvalidValue, UnknownReference
from okr_core.ratings import RatingRefused

AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _rating(engine: Engine, employee_id: str) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            select(StoredRating.manager_value, StoredRating.current_value).where(
                StoredRating.employee_id == employee_id
            )
        ).one()
    return row.manager_value, row.current_value


def test_every_calibration_is_recorded_and_the_original_stays(rated: Engine) -> None:
    first = calibrate_rating(
        rated, employee="1005", new_value=3, by="1003", rationale="scope was small", at=AT
    )
    assert (first.before.current_value, first.after.current_value) == (4, 3)
    assert first.adjustment.level == "manager"
    second = calibrate_rating(
        rated,
        employee="1005",
        new_value=4,
        by="1002",
        rationale="peer comparison",
        level="director",
        at=AT + timedelta(hours=1),
    )
    assert second.before_label == "Meets"
    assert second.after_label == "Exceeds"
    assert _rating(rated, "1005") == (4, 4)
    with rated.connect() as conn:
        rows = conn.execute(select(StoredCalibration).order_by(StoredCalibration.id)).all()
    assert [(r.previous_value, r.new_value, r.level, r.by_employee_id, r.rationale) for r in rows] == [
        (4, 3, "manager", "1003", "scope was small"),
        (3, 4, "director", "1002", "peer comparison"),
    ]
    assert rows[0].at == AT
    overview = ratings_overview(rated)
    person = next(p for p in overview["people"] if p["employee_id"] == "1005")
    assert person["manager_rating"]["value"] == 4
    assert person["adjustments"] == 2
    assert [h["by"] for h in person["history"]] == ["1003", "1002"]


def test_an_adjuster_outside_the_chain_at_that_level_is_refused(rated: Engine) -> None:
    with pytest.raises(RatingRefused, match="cannot calibrate at level `director`"):
        calibrate_rating(rated, employee="1004", new_value=4, by="1003", rationale="x", level="director")
    with pytest.raises(RatingRefused, match="not in the person's management chain"):
        calibrate_rating(rated, employee="1004", new_value=4, by="1007", rationale="x")
    with pytest.raises(RatingRefused):
        calibrate_rating(rated, employee="1004", new_value=4, by="1004", rationale="x")
    assert _rating(rated, "1004") == (3, 3)


def test_off_scale_values_and_empty_reasons_are_refused(rated: Engine) -> None:
    with pytest.raises(InvalidValue, match="not on the rating scale"):
        calibrate_rating(rated, employee="1004", new_value=6, by="1003", rationale="x")
    with pytest.raises(InvalidValue, match="rationale"):
        calibrate_rating(rated, employee="1004", new_value=4, by="1003", rationale="  ")
    with pytest.raises(UnknownReference):
        calibrate_rating(rated, employee="1003", new_value=4, by="1002", rationale="x")


def test_finalize_locks_and_reopen_is_recorded(rated: Engine) -> None:
    assert finalized_ratings(rated, "r-2026") == []
    calibrate_rating(rated, employee="1009", new_value=3, by="1002", rationale="strong H2")
    finalize_cycle(rated, by="1001", at=AT)
    with pytest.raises(RatingRefused, match="finalized and its ratings are locked"):
        calibrate_rating(rated, employee="1004", new_value=4, by="1003", rationale="late")
    with pytest.raises(InvalidTransition):
        finalize_cycle(rated, by="1001")
    final = finalized_ratings(rated, "r-2026")
    assert [(f.employee_id, f.value, f.label) for f in final] == [
        ("1004", 3, "Meets"),
        ("1005", 4, "Exceeds"),
        ("1006", 5, "Exceptional"),
        ("1008", 3, "Meets"),
        ("1009", 3, "Meets"),
    ]
    assert {f.finalized_at for f in final} == {AT}
    with pytest.raises(InvalidValue, match="reason"):
        reopen_cycle(rated, by="1001", reason="")
    reopen_cycle(rated, by="1001", reason="late appeal for 1004")
    assert finalized_ratings(rated, "r-2026") == []
    calibrate_rating(rated, employee="1004", new_value=4, by="1003", rationale="appeal upheld")
    events = cycle_events(rated)
    assert [(e.action, e.by, e.reason) for e in events] == [
        ("finalize", "1001", None),
        ("reopen", "1001", "late appeal for 1004"),
    ]
    with pytest.raises(UnknownReference):
        finalized_ratings(rated, "nope")


def test_distribution_by_manager_department_and_level(rated: Engine) -> None:
    by_manager = distribution_report(rated, by="manager")
    groups = {g["key"]: g for g in by_manager["groups"]}
    assert set(groups) == {"1003", "1007"}
    assert groups["1003"]["name"] == "Mia Manager"
    assert [b["count"] for b in groups["1003"]["buckets"]] == [0, 0, 1, 1, 1]
    # 1003's team: a third each at 3, 4, 5 against 60/10/10: 3 is 27 points under, 4 and 5 23 over.
    assert groups["1003"]["flagged"] == [3, 4, 5]
    assert by_manager["overall"]["total"] == 5
    by_department = distribution_report(rated, by="department")
    assert {g["name"] for g in by_department["groups"]} == {"Sales", "Engineering"}
    calibrate_rating(rated, employee="1006", new_value=4, by="1002", rationale="calibrated down")
    by_level = distribution_report(rated, by="level")
    levels = {g["key"]: [b["count"] for b in g["buckets"]] for g in by_level["groups"]}
    assert levels["original"] == [0, 1, 2, 1, 1]
    assert levels["manager"] == [0, 1, 2, 1, 1]
    assert levels["director"] == [0, 1, 2, 2, 0]
    assert levels["vp"] == levels["director"]


def test_overview_has_nine_box_and_okr_progress_note(rated: Engine) -> None:
    overview = ratings_overview(rated)
    people = {p["employee_id"]: p for p in overview["people"]}
    assert people["1004"]["nine_box"]["name"] == "Growth employee"
    assert people["1006"]["nine_box"]["name"] == "Trusted professional"
    assert people["1005"]["nine_box"] is None
    assert people["1004"]["okr_progress"] is None
    assert "not in the store" in overview["okr_note"]


def test_finalize_by_an_unknown_person_is_refused(rated: Engine) -> None:
    with pytest.raises(UnknownReference, match="--by"):
        finalize_cycle(rated, by="4242")
    assert finalized_ratings(rated, "r-2026") == []
