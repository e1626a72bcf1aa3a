"""Ratings in a custom object on the worker (`ratings_mode: custom_object`) against the emulator over HTTP."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from connectors.workday import WorkdayConnector
from connectors.workday.settings import CustomObjectRatings, CustomObjectReport, WorkdaySettings
from hub.config.loader import load_config_text
from hub.contracts import ConnectorContext
from hub.errors import AuthError, ConfigError, ConfigErrors
from hub.http.retry import RetrySettings
from hub.http.stats import CallStats
from hub.ratings_contract import RatingWrite
from sandbox.org import SyntheticOrg
from sandbox.server import Fault, ServerThread
from sandbox.workday import WorkdayEmulator
from sandbox.workday_custom_objects import CustomObjectDefinition

CYCLE = "acme-2026"
OBJECT = CustomObjectRatings(
    alias="performanceRatings",
    rating_field="rating",
    review_cycle_field="reviewCycle",
    period_start_field="periodStart",
    period_end_field="periodEnd",
    comment_field="ratingComment",
    report=CustomObjectReport(name="okrhub_ratings"),
)


def write(employee_id: str, value: str, *, cycle: str = CYCLE, comment: str | None = None) -> RatingWrite:
    return RatingWrite(
        idempotency_key=f"{cycle}:{employee_id}:overall",
        employee_id=employee_id,
        review_cycle=cycle,
        field="overall",
        value=value,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
        comment=comment,
    )


@pytest.fixture
def people(org: SyntheticOrg) -> list[str]:
    return sorted(org.employees, key=int)[:5]


@pytest.fixture
def make_sink(make_connector: Callable[..., WorkdayConnector]) -> Callable[..., WorkdayConnector]:
    def make(*, custom_object: CustomObjectRatings = OBJECT, **overrides: Any) -> WorkdayConnector:
        return make_connector(ratings_mode="custom_object", custom_object=custom_object, **overrides)

    return make


@pytest.fixture(autouse=True)
def _quiet_werkzeug() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


# --- writing and reading back ---------------------------------------------------------------------------


def test_writes_instances_and_reads_them_back_without_review_periods(make_sink, emulator, people) -> None:
    sink = make_sink()
    assert sink.settings.review_periods == {}
    outcomes = list(sink.write_ratings([write(who, "Outstanding", comment="L4") for who in people]))
    assert [o.status for o in outcomes] == ["confirmed"] * len(people)
    stored = emulator.custom_objects.of_worker(people[0])
    assert [i.fields for i in stored] == [
        {
            "reviewCycle": CYCLE,
            "rating": "Outstanding",
            "periodStart": "2026-01-01",
            "periodEnd": "2026-12-31",
            "ratingComment": "L4",
        }
    ]
    assert outcomes[0].hcm_reference == stored[0].wid

    held = list(sink.read_ratings(review_cycle=CYCLE, employee_ids=people[:2]))
    assert [(r.employee_id, r.field, r.value, r.hcm_reference) for r in held] == [
        (who, "overall", "Outstanding", emulator.custom_objects.of_worker(who)[0].wid) for who in people[:2]
    ]
    emulator.requests.clear()
    assert sorted(r.employee_id for r in sink.read_ratings(review_cycle=CYCLE)) == people
    assert emulator.requests.count() == 1  # the whole cycle from the report, one call
    assert list(sink.read_ratings(review_cycle="other-cycle")) == []
    assert list(sink.read_ratings(review_cycle="other-cycle", employee_ids=people)) == []


def test_a_changed_rating_updates_the_cycles_instance(make_sink, emulator, people) -> None:
    sink = make_sink()
    who = people[0]
    list(sink.write_ratings([write(who, "Meets_Expectations")]))
    emulator.requests.clear()
    [outcome] = sink.write_ratings([write(who, "Outstanding")])
    assert outcome.status == "confirmed"
    assert emulator.requests.count("/customObjects/", method="PATCH") == 1
    assert emulator.requests.count("/customObjects/", method="POST") == 0
    list(sink.write_ratings([write(who, "Below_Expectations", cycle="acme-2027")]))
    stored = emulator.custom_objects.of_worker(who)
    assert [(i.fields["reviewCycle"], i.fields["rating"]) for i in stored] == [
        (CYCLE, "Outstanding"),
        ("acme-2027", "Below_Expectations"),
    ]
    assert emulator.custom_objects.writes_for(who) == 3
    assert [r.value for r in sink.read_ratings(review_cycle="acme-2027", employee_ids=[who])] == [
        "Below_Expectations"
    ]


def test_a_value_already_held_is_confirmed_without_writing(make_sink, emulator, people) -> None:
    sink = make_sink()
    list(sink.write_ratings([write(people[0], "Outstanding")]))
    [again] = sink.write_ratings([write(people[0], "Outstanding")])
    assert again.status == "confirmed"
    assert again.hcm_reference == emulator.custom_objects.of_worker(people[0])[0].wid
    assert emulator.custom_objects.writes_for(people[0]) == 1


def test_workday_refusals_are_rejected_with_its_text(make_sink, emulator, people) -> None:
    sink = make_sink()
    outcomes = list(
        sink.write_ratings(
            [write(people[0], "Superb"), write("999999", "Outstanding"), write(people[1], "Outstanding")]
        )
    )
    assert [o.status for o in outcomes] == ["rejected", "rejected", "confirmed"]
    assert "Invalid ID value. 'Superb' is not a valid ID value for field 'rating'" in outcomes[0].detail
    assert "HTTP 400" in outcomes[0].detail
    assert "worker `Employee_ID=999999` not found" in outcomes[1].detail
    assert "check that the worker exists" in outcomes[1].detail
    assert emulator.custom_objects.writes == [(people[1], "Outstanding")]

    wrong = make_sink(custom_object=OBJECT.model_copy(update={"alias": "ratingz"}))
    [outcome] = wrong.write_ratings([write(people[0], "Outstanding")])
    assert outcome.status == "rejected"
    assert "custom object `ratingz` does not exist" in outcome.detail
    assert "`custom_object.alias` (ratingz)" in outcome.detail


def test_another_rating_field_is_rejected_without_a_call(make_sink, emulator, people) -> None:
    sink = make_sink()
    emulator.requests.clear()
    other = dataclasses.replace(write(people[0], "Outstanding"), field="potential")
    [outcome] = sink.write_ratings([other])
    assert outcome.status == "rejected"
    assert "not `potential`" in outcome.detail
    assert emulator.requests.count() == 0


def test_refused_credentials_raise(make_sink, people) -> None:
    sink = make_sink(refresh_token=SecretStr("revoked"))
    with pytest.raises(AuthError, match="Manage Refresh Tokens"):
        list(sink.write_ratings([write(people[0], "Outstanding")]))


# --- faults: never resend what may have been stored ------------------------------------------------------


def test_429_is_resent_after_retry_after(make_sink, emulator, people) -> None:
    stats = CallStats()
    sink = make_sink(stats=stats)
    emulator.faults.inject(
        Fault(kind="status", status=429, retry_after="0", path="/customObjects/", method="POST", times=2)
    )
    [outcome] = sink.write_ratings([write(people[0], "Outstanding")])
    assert outcome.status == "confirmed"
    assert stats.retries == 2
    assert emulator.custom_objects.writes_for(people[0]) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="status_after", status=500, path="/customObjects/", method="POST"),
        Fault(kind="delay_after", delay_seconds=1.0, path="/customObjects/", method="POST"),
    ],
    ids=["500-after-store", "timeout-after-store"],
)
def test_an_unclear_answer_is_retry_and_not_resent(make_sink, emulator, people, fault: Fault) -> None:
    sink = make_sink(timeout_seconds=0.3)
    emulator.faults.inject(fault)
    [outcome] = sink.write_ratings([write(people[0], "Outstanding")])
    assert outcome.status == "retry"
    assert emulator.custom_objects.writes_for(people[0]) == 1
    held = list(sink.read_ratings(review_cycle=CYCLE, employee_ids=[people[0]]))
    assert [r.value for r in held] == ["Outstanding"]


def test_a_failing_lookup_writes_nothing(make_sink, emulator, people) -> None:
    sink = make_sink()
    emulator.faults.inject(Fault(kind="status", status=503, path="/customObjects/", method="GET", times=10))
    [outcome] = sink.write_ratings([write(people[0], "Outstanding")])
    assert outcome.status == "retry"
    assert emulator.custom_objects.writes == []


# --- whole-cycle reads without a report -------------------------------------------------------------------


def test_without_a_report_a_cycle_is_read_worker_by_worker(make_sink, emulator, org, people, caplog) -> None:
    sink = make_sink(custom_object=OBJECT.model_copy(update={"report": None}))
    list(sink.write_ratings([write(who, "Outstanding") for who in people]))
    emulator.requests.clear()
    with caplog.at_level(logging.WARNING, logger="connectors.workday.custom_objects"):
        held = sorted(r.employee_id for r in sink.read_ratings(review_cycle=CYCLE))
    assert held == people
    assert emulator.requests.count("/customreport2/") == 1  # the org report names every worker
    assert emulator.requests.count("/customObjects/") == len(org.employees)
    assert "add `custom_object.report`" in caplog.text


def test_rest_mode_names_workers_by_wid(make_sink, emulator, org, people) -> None:
    sink = make_sink(
        mode="rest",
        report_owner=None,
        report_name=None,
        custom_object=OBJECT.model_copy(update={"report": None}),
    )
    wids = [org.employees[who].workday_id for who in people]
    assert sink.settings.worker_id_type() == "WID"
    assert [o.status for o in sink.write_ratings([write(wid, "Outstanding") for wid in wids])] == [
        "confirmed"
    ] * 5
    assert emulator.custom_objects.writes_for(people[0]) == 1
    held = sorted(r.employee_id for r in sink.read_ratings(review_cycle=CYCLE))
    assert held == sorted(wids)


def test_rest_mode_with_employee_ids_needs_a_report_for_a_whole_cycle(make_sink) -> None:
    sink = make_sink(
        mode="rest",
        report_owner=None,
        report_name=None,
        custom_object=OBJECT.model_copy(update={"report": None, "worker_id_type": "Employee_ID"}),
    )
    with pytest.raises(ConfigError, match=r"custom_object\.report"):
        list(sink.read_ratings(review_cycle=CYCLE))


# --- a single-instance custom object ---------------------------------------------------------------------


@pytest.fixture
def single(org: SyntheticOrg) -> Iterator[tuple[WorkdayEmulator, WorkdayConnector]]:
    app = WorkdayEmulator(org, custom_object=CustomObjectDefinition(instances="single"))
    with ServerThread(app) as server:
        settings = WorkdaySettings(
            base_url=server.url,
            tenant="acme",
            client_id="okrhub-sandbox",
            client_secret=SecretStr("sandbox-workday-secret"),
            refresh_token=SecretStr("sandbox-workday-refresh"),
            report_owner="isu_okrhub",
            report_name="okrhub_workers",
            retry=RetrySettings(max_attempts=3, backoff_base_seconds=0.01),
            ratings_mode="custom_object",
            custom_object=OBJECT.model_copy(update={"instances": "single"}),
        )
        connector = WorkdayConnector(settings, context=ConnectorContext(connection="hcm", stats=CallStats()))
        yield app, connector
        connector.close()


def test_a_single_instance_object_is_replaced_with_one_put(single, people) -> None:
    app, sink = single
    who = people[0]
    assert list(sink.read_ratings(review_cycle=CYCLE, employee_ids=[who])) == []  # a 404: nothing held
    app.requests.clear()
    [first] = sink.write_ratings([write(who, "Meets_Expectations")])
    assert first.status == "confirmed"
    assert app.requests.count("/customObjects/") == 1
    assert app.requests.count("/customObjects/", method="PUT") == 1
    list(sink.write_ratings([write(who, "Outstanding", cycle="acme-2027")]))
    assert [i.fields["reviewCycle"] for i in app.custom_objects.of_worker(who)] == ["acme-2027"]
    assert list(sink.read_ratings(review_cycle=CYCLE, employee_ids=[who])) == []
    assert [r.value for r in sink.read_ratings(review_cycle="acme-2027", employee_ids=[who])] == [
        "Outstanding"
    ]
    assert [r.employee_id for r in sink.read_ratings(review_cycle="acme-2027")] == [who]


# --- instances served in the nested form some documentation shows ---------------------------------------


def test_fields_nested_under_data_are_read() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "token_type": "Bearer"})
        assert (
            request.url.path == "/ccx/api/v1/acme/workers/Employee_ID=21001/customObjects/performanceRatings"
        )
        instance = {"id": "abc", "descriptor": "x", "data": {"rating": "Outstanding", "reviewCycle": CYCLE}}
        return httpx.Response(200, json={"total": 1, "data": [instance]})

    settings = WorkdaySettings(
        base_url="https://wd2-impl-services1.workday.test",
        tenant="acme",
        client_id="cid",
        client_secret=SecretStr("s"),
        refresh_token=SecretStr("r"),
        report_owner="isu",
        report_name="workers",
        ratings_mode="custom_object",
        custom_object=OBJECT,
    )
    context = ConnectorContext(connection="hcm", stats=CallStats(), transport=httpx.MockTransport(handler))
    connector = WorkdayConnector(settings, context=context)
    [held] = connector.read_ratings(review_cycle=CYCLE, employee_ids=["21001"])
    assert (held.employee_id, held.value, held.hcm_reference) == ("21001", "Outstanding", "abc")
    connector.close()


# --- configuration errors --------------------------------------------------------------------------------


def settings(**overrides: Any) -> WorkdaySettings:
    values: dict[str, Any] = {
        "base_url": "http://127.0.0.1:1",
        "tenant": "acme",
        "client_id": "c",
        "client_secret": SecretStr("s"),
        "refresh_token": SecretStr("r"),
        "mode": "rest",
        "ratings_mode": "custom_object",
        "custom_object": {
            "alias": "performanceRatings",
            "rating_field": "rating",
            "review_cycle_field": "cycle",
        },
    }
    return WorkdaySettings(**(values | overrides))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"custom_object": None}, "ratings_mode `custom_object` needs `custom_object: {alias"),
        ({"ratings_mode": "soap"}, "`custom_object` is set but ratings_mode is `soap`"),
        (
            {
                "custom_object": {
                    "alias": "performance ratings",
                    "rating_field": "r",
                    "review_cycle_field": "c",
                }
            },
            "`alias`: 'performance ratings' is not a Workday web service alias",
        ),
        (
            {
                "custom_object": {
                    "alias": "p",
                    "rating_field": "r",
                    "review_cycle_field": "c",
                    "comment_field": "2x",
                }
            },
            "`comment_field`: '2x' is not a Workday web service alias",
        ),
        (
            {"custom_object": {"alias": "p", "rating_field": "r", "review_cycle_field": "r"}},
            "field alias(es) r used for more than one purpose",
        ),
        (
            {
                "custom_object": {
                    "alias": "p",
                    "rating_field": "r",
                    "review_cycle_field": "c",
                    "path": "/x/{worker}",
                }
            },
            "lacks {alias}",
        ),
        (
            {
                "custom_object": {
                    "alias": "p",
                    "rating_field": "r",
                    "review_cycle_field": "c",
                    "path": "/x/{worker}/{alias}/{id}",
                }
            },
            "unknown placeholder(s) id",
        ),
        (
            {
                "custom_object": {
                    "alias": "p",
                    "rating_field": "r",
                    "review_cycle_field": "c",
                    "report": {"name": "x"},
                }
            },
            "`custom_object.report` needs an owner",
        ),
        (
            {"custom_object": {"alias": "p", "rating_field": "r", "review_cycle_field": "c", "table": "x"}},
            "Extra inputs are not permitted",
        ),
    ],
)
def test_settings_errors_say_what_to_fix(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(**overrides)
    assert message in str(caught.value)


def test_settings_defaults() -> None:
    loaded = settings()
    assert loaded.custom_object is not None
    assert loaded.custom_object.instances == "multi"
    assert loaded.custom_object.path == "/ccx/api/v1/{tenant}/workers/{worker}/customObjects/{alias}"
    assert loaded.worker_id_type() == "WID"
    raas = settings(mode="raas", report_owner="isu", report_name="workers")
    assert raas.worker_id_type() == "Employee_ID"
    other_path = {**OBJECT.model_dump(exclude={"report"}), "path": "api/customObjects/v2/{alias}/{worker}/"}
    custom = settings(custom_object=other_path).custom_object
    assert custom is not None
    assert custom.path == "/api/customObjects/v2/{alias}/{worker}"


def test_hub_yaml_errors_name_the_line_and_field() -> None:
    text = """\
version: 1
connections:
  hcm:
    type: workday
    base_url: https://wd2-impl-services1.workday.com
    tenant: acme
    client_id: cid
    client_secret: ${WD_SECRET}
    refresh_token: ${WD_REFRESH}
    report_owner: isu
    report_name: workers
    ratings_mode: custom_object
    custom_object:
      alias: performance-ratings
      rating_field: rating
      review_cycle_field: reviewCycle
"""
    with pytest.raises(ConfigErrors) as caught:
        load_config_text(text, source_name="hub.yaml", env={"WD_SECRET": "s", "WD_REFRESH": "r"})
    [error] = caught.value.errors
    assert (error.file, error.line, error.field) == ("hub.yaml", 14, "connections.hcm.custom_object.alias")
    assert "not a Workday web service alias" in error.message

    valid = text.replace("performance-ratings", "performanceRatings")
    loaded = load_config_text(valid, source_name="hub.yaml", env={"WD_SECRET": "s", "WD_REFRESH": "r"})
    connection = loaded.config.connections["hcm"]
    assert isinstance(connection, WorkdaySettings)
    assert connection.custom_object is not None
    assert connection.custom_object.alias == "performanceRatings"
