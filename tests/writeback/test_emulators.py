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
