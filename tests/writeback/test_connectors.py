"""The two connectors as rating sinks: the contract, pages, and settings errors."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import SecretStr, ValidationError

from hub.errors import ConfigError
from hub.ratings_contract import RatingSink, RatingWrite
from tests.writeback.conftest import CYCLE, END, START, Hcm


def _write(employee_id: str, value: str, field: str = "overall") -> RatingWrite:
    return RatingWrite(
        idempotency_key=f"{CYCLE}:{employee_id}:{field}",
        employee_id=employee_id,
        review_cycle=CYCLE,
        field=field,
        value=value,
        period_start=START,
        period_end=END,
    )


def test_is_a_rating_sink(hcm: Hcm) -> None:
    assert isinstance(hcm.make_sink(), RatingSink)


def test_write_and_read_back(hcm: Hcm, people: list[str]) -> None:
    sink = hcm.make_sink()
    value = next(iter(hcm.settings.scale.values()))
    writes = [_write(who, value) for who in people] + [
        _write("999999", value),
        _write(people[0], value, "potential"),
    ]
    outcomes = list(sink.write_ratings(writes))
    assert [o.status for o in outcomes] == ["confirmed"] * len(people) + ["rejected", "rejected"]
    assert "999999" in outcomes[-2].detail
    held = list(sink.read_ratings(review_cycle=CYCLE))
    assert sorted(r.employee_id for r in held) == sorted(people)
    assert {r.value for r in held} == {value}
    assert [r.employee_id for r in sink.read_ratings(review_cycle=CYCLE, employee_ids=[people[1]])] == [
        people[1]
    ]
    if hcm.kind != "workday":  # Workday SOAP needs the cycle's period: see the test below
        assert list(sink.read_ratings(review_cycle="other-cycle")) == []


@pytest.mark.parametrize("hcm", ["workday"], indirect=True)
def test_workday_reads_page_by_page(hcm: Hcm, people: list[str]) -> None:
    sink = hcm.make_sink()
    sink.settings = sink.settings.model_copy(update={"ratings_page_size": 3})
    list(sink.write_ratings([_write(who, "Outstanding") for who in people]))
    hcm.app.requests.clear()
    assert len(list(sink.read_ratings(review_cycle=CYCLE))) == len(people)
    assert hcm.app.requests.count("/Performance_Management/") == 4


@pytest.mark.parametrize("hcm", ["workday"], indirect=True)
def test_workday_unknown_cycle_period_is_a_config_error(hcm: Hcm) -> None:
    with pytest.raises(ConfigError, match="review_periods"):
        list(hcm.make_sink().read_ratings(review_cycle="nope"))


@pytest.mark.parametrize("hcm", ["workday_co"], indirect=True)
def test_workday_custom_object_needs_no_review_periods(hcm: Hcm, people: list[str]) -> None:
    sink = hcm.make_sink()
    assert sink.settings.review_periods == {}
    list(sink.write_ratings([_write(who, "Outstanding") for who in people[:3]]))
    hcm.app.requests.clear()
    assert len(list(sink.read_ratings(review_cycle=CYCLE))) == 3
    assert hcm.app.requests.count("/customreport2/") == 1
    assert len(list(sink.read_ratings(review_cycle=CYCLE, employee_ids=people))) == 3
    assert hcm.app.requests.count("/customObjects/") == len(people)


def test_workday_custom_object_mode_needs_its_settings() -> None:
    from connectors.workday.settings import WorkdaySettings

    with pytest.raises(ValidationError, match="needs `custom_object"):
        WorkdaySettings(
            base_url="http://127.0.0.1:1",
            tenant="acme",
            client_id="c",
            client_secret=SecretStr("s"),
            refresh_token=SecretStr("r"),
            mode="rest",
            ratings_mode="custom_object",
        )


def test_period_must_be_in_order() -> None:
    from hub.jobs.writeback.settings import Period, WritebackSettings

    with pytest.raises(ValidationError, match="ends"):
        WritebackSettings(
            connection="x",
            review_cycle="c",
            period=Period(start=date(2026, 2, 1), end=date(2026, 1, 1)),
            scale={"1": "a"},
        )
