"""The emulators' write-back endpoints, over HTTP, in the vendors' shapes."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from lxml import etree

from connectors.workday.soap import BSVC, SOAP_ENV, envelope, update_rating_request
from sandbox.bamboohr import BambooHREmulator
from sandbox.org import generate_org
from sandbox.server import Fault, ServerThread
from sandbox.workday import WorkdayEmulator
from sandbox.workday_custom_objects import CustomObjectDefinition


@pytest.fixture
def bamboo() -> Iterator[tuple[BambooHREmulator, httpx.Client]]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = BambooHREmulator(generate_org(10, seed=2))
    with ServerThread(app) as server:
        client = httpx.Client(
            base_url=f"{server.url}/api/gateway.php/acme/v1/",
            auth=("sandbox-bamboohr-key", "x"),
            headers={"Accept": "application/json"},
        )
        yield app, client
        client.close()


def test_bamboohr_table_rows_round_trip(bamboo) -> None:
    _, client = bamboo
    row = {"customReviewCycle": "c", "customRating": "Meets", "customRatingDate": "2026-12-31"}
    answer = client.post("employees/1001/tables/customPerformanceRatings", json=row)
    assert (answer.status_code, answer.content) == (200, b"")
    rows = client.get("employees/all/tables/customPerformanceRatings").json()
    assert rows == [{"id": "1", "employeeId": "1001", **row}]
    assert client.get("employees/1002/tables/customPerformanceRatings").json() == []
    tables = client.get("meta/tables").json()
    assert tables[0]["alias"] == "customPerformanceRatings"
    assert "customRating" in {f["alias"] for f in tables[0]["fields"]}


def test_bamboohr_table_errors(bamboo) -> None:
    _, client = bamboo
    bad = client.post("employees/1001/tables/customPerformanceRatings", json={"customRating": "Great"})
    assert bad.status_code == 406
    assert "Invalid value 'Great'" in bad.headers["X-BambooHR-Error-Message"]
    unknown_field = client.post("employees/1001/tables/customPerformanceRatings", json={"customX": "1"})
    assert unknown_field.status_code == 406
    assert (
        client.post(
            "employees/9999/tables/customPerformanceRatings", json={"customRating": "Meets"}
        ).status_code
        == 404
    )
    assert client.post("employees/1001/tables/customNope", json={"customRating": "Meets"}).status_code == 404
    assert client.get("employees/all/tables/customNope").status_code == 404


def test_bamboohr_status_after_stores_then_fails(bamboo) -> None:
    app, client = bamboo
    app.faults.inject(Fault(kind="status_after", status=500, path="/tables/"))
    answer = client.post("employees/1001/tables/customPerformanceRatings", json={"customRating": "Meets"})
    assert answer.status_code == 500
    assert len(app.rows_of("customPerformanceRatings")) == 1


@pytest.fixture
def workday() -> Iterator[tuple[WorkdayEmulator, httpx.Client]]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = WorkdayEmulator(generate_org(10, seed=2))
    with ServerThread(app) as server:
        token = httpx.post(
            f"{server.url}/ccx/oauth2/acme/token",
            auth=("okrhub-sandbox", "sandbox-workday-secret"),
            data={"grant_type": "refresh_token", "refresh_token": "sandbox-workday-refresh"},
        ).json()["access_token"]
        client = httpx.Client(
            base_url=f"{server.url}/ccx/service/acme/Performance_Management/v45.0",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/xml"},
        )
        yield app, client
        client.close()


def _update(rating: str, employee: str = "1001") -> bytes:
    from datetime import date

    return envelope(
        update_rating_request(
            version="v45.0",
            employee_id=employee,
            review_type="Annual",
            start=date(2026, 1, 1),
            end=date(2026, 12, 31),
            rating=rating,
            comment="well done",
        )
    )


def test_workday_update_echoes_and_stores(workday) -> None:
    app, client = workday
    answer = client.post("", content=_update("Meets_Expectations"))
    assert answer.status_code == 200
    doc = etree.fromstring(answer.content)
    response = doc.find(f"{{{SOAP_ENV}}}Body/{{{BSVC}}}Update_Employee_Review_Rating_Response")
    assert response is not None
    assert response.findtext(f".//{{{BSVC}}}Rating_Reference/{{{BSVC}}}ID") == "Meets_Expectations"
    assert response.findtext(f".//{{{BSVC}}}Comment") == "well done"
    assert app.writes_for("1001") == 1


def test_workday_validation_fault(workday) -> None:
    app, client = workday
    answer = client.post("", content=_update("Superb"))
    assert answer.status_code == 500
    doc = etree.fromstring(answer.content)
    fault = doc.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault.findtext("faultcode") == "SOAP-ENV:Client.validationError"
    error = fault.find(f"detail/{{{BSVC}}}Validation_Fault/{{{BSVC}}}Validation_Error")
    assert "'Superb' is not a valid ID value" in error.findtext(f"{{{BSVC}}}Message")
    assert error.findtext(f"{{{BSVC}}}Xpath").endswith("bsvc:Rating_Reference[1]")
    assert app.rating_writes == []


def test_workday_needs_a_bearer_token(workday) -> None:
    _, client = workday
    answer = client.post("", content=_update("Meets_Expectations"), headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert b"Client.authenticationError" in answer.content


@pytest.fixture
def objects() -> Iterator[tuple[WorkdayEmulator, httpx.Client]]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = WorkdayEmulator(generate_org(10, seed=2))
    with ServerThread(app) as server:
        token = httpx.post(
            f"{server.url}/ccx/oauth2/acme/token",
            auth=("okrhub-sandbox", "sandbox-workday-secret"),
            data={"grant_type": "refresh_token", "refresh_token": "sandbox-workday-refresh"},
        ).json()["access_token"]
        client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
        yield app, client
        client.close()


RATINGS = "/ccx/api/v1/acme/workers/Employee_ID=1001/customObjects/performanceRatings"


def test_workday_custom_object_instances_round_trip(objects) -> None:
    app, client = objects
    assert client.get(RATINGS).json() == {"total": 0, "data": []}
    created = client.post(RATINGS, json={"reviewCycle": "c1", "rating": "Meets_Expectations"})
    assert created.status_code == 201
    instance = created.json()
    wid = app.index().by_id["1001"].workday_id
    assert instance["id"] == app.custom_objects.of_worker("1001")[0].wid
    assert instance["href"].endswith(f"/workers/{wid}/customObjects/performanceRatings/{instance['id']}")
    assert (instance["reviewCycle"], instance["rating"]) == ("c1", "Meets_Expectations")
    assert instance["descriptor"]
    client.post(RATINGS, json={"reviewCycle": "c2", "rating": "Outstanding"})
    page = client.get(RATINGS, params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 2
    assert [i["reviewCycle"] for i in page["data"]] == ["c2"]
    # The same worker by WID, and one instance by id.
    by_wid = f"/ccx/api/v1/acme/workers/{wid}/customObjects/performanceRatings"
    assert client.get(by_wid).json()["total"] == 2
    updated = client.patch(f"{RATINGS}/{instance['id']}", json={"rating": "Outstanding"})
    assert (updated.status_code, updated.json()["rating"], updated.json()["reviewCycle"]) == (
        200,
        "Outstanding",
        "c1",
    )
    assert client.get(f"{RATINGS}/{instance['id']}").json()["rating"] == "Outstanding"
    assert app.custom_objects.writes == [
        ("1001", "Meets_Expectations"),
        ("1001", "Outstanding"),
        ("1001", "Outstanding"),
    ]


def test_workday_custom_object_errors_in_workday_shape(objects) -> None:
    app, client = objects
    bad_value = client.post(RATINGS, json={"reviewCycle": "c1", "rating": "Superb"})
    assert bad_value.status_code == 400
    body = bad_value.json()
    assert "'Superb' is not a valid ID value" in body["error"]
    assert body["errors"] == [{"error": body["error"], "field": "rating", "location": "body"}]
    assert client.post(RATINGS, json={"rating": "Outstanding"}).json()["errors"][0]["field"] == "reviewCycle"
    assert (
        client.post(RATINGS, json={"reviewCycle": "c", "bogus": "x"}).json()["errors"][0]["field"] == "bogus"
    )
    assert client.post(RATINGS, json={"reviewCycle": "c", "periodEnd": "31/12/2026"}).status_code == 400
    assert (
        client.post(RATINGS, content=b"[1]", headers={"Content-Type": "application/json"}).status_code == 400
    )
    assert client.put(RATINGS, json={"reviewCycle": "c"}).status_code == 405
    unknown_worker = client.get(RATINGS.replace("1001", "999999"))
    assert unknown_worker.status_code == 404
    assert unknown_worker.json()["error"] == "worker `Employee_ID=999999` not found"
    assert client.get(RATINGS.replace("performanceRatings", "nope")).status_code == 404
    assert client.patch(f"{RATINGS}/nope", json={"rating": "Outstanding"}).status_code == 404
    assert client.get(RATINGS, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert app.custom_objects.writes == []


def test_workday_custom_object_faults_and_report(objects) -> None:
    app, client = objects
    app.faults.inject(
        Fault(kind="status", status=429, retry_after="3", path="/customObjects/", method="POST")
    )
    limited = client.post(RATINGS, json={"reviewCycle": "c1", "rating": "Outstanding"})
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert app.custom_objects.writes == []
    app.faults.inject(Fault(kind="status_after", status=500, path="/customObjects/", method="POST"))
    assert client.post(RATINGS, json={"reviewCycle": "c1", "rating": "Outstanding"}).status_code == 500
    assert app.custom_objects.writes_for("1001") == 1
    rows = client.get("/ccx/service/customreport2/acme/isu_okrhub/okrhub_ratings", params={"format": "json"})
    [row] = rows.json()["Report_Entry"]
    assert row == {
        "Employee_ID": "1001",
        "Worker_WID": app.index().by_id["1001"].workday_id,
        "Custom_Object_WID": app.custom_objects.of_worker("1001")[0].wid,
        "reviewCycle": "c1",
        "rating": "Outstanding",
    }


def test_workday_single_instance_custom_object() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = WorkdayEmulator(generate_org(10, seed=2), custom_object=CustomObjectDefinition(instances="single"))
    with ServerThread(app) as server:
        token = httpx.post(
            f"{server.url}/ccx/oauth2/acme/token",
            auth=("okrhub-sandbox", "sandbox-workday-secret"),
            data={"grant_type": "refresh_token", "refresh_token": "sandbox-workday-refresh"},
        ).json()["access_token"]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client:
            missing = client.get(RATINGS)
            assert missing.status_code == 404
            assert "has no instance of custom object `performanceRatings`" in missing.json()["error"]
            assert client.put(RATINGS, json={"reviewCycle": "c1", "rating": "Outstanding"}).status_code == 201
            replaced = client.put(RATINGS, json={"reviewCycle": "c2", "rating": "Below_Expectations"})
            assert replaced.status_code == 200
            assert client.get(RATINGS).json()["reviewCycle"] == "c2"
            assert client.post(RATINGS, json={"reviewCycle": "c3"}).status_code == 405
    assert len(app.custom_objects.of_worker("1001")) == 1
    assert len(app.custom_objects.writes) == 2
