"""The BambooHR emulator speaks BambooHR: shapes, quirks, errors and the sandbox admin API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.bamboohr import BambooHREmulator
from sandbox.org import SyntheticOrg, generate_org
from sandbox.server import Fault, ServerThread

KEY = "emulator-test-key"
JSON = {"Accept": "application/json"}


@pytest.fixture
def org() -> SyntheticOrg:
    return generate_org(120, seed=5)


@pytest.fixture
def emulator(org: SyntheticOrg) -> BambooHREmulator:
    return BambooHREmulator(org, company="acme", api_key=KEY)


@pytest.fixture
def server(emulator: BambooHREmulator) -> Iterator[ServerThread]:
    with ServerThread(emulator) as running:
        yield running


@pytest.fixture
def api(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{server.url}/api/gateway.php/acme/v1/", auth=(KEY, "x"), headers=JSON, trust_env=False
    ) as client:
        yield client


@pytest.fixture
def admin(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/_sandbox/", trust_env=False) as client:
        yield client


def report(api: httpx.Client, fields: list[str], **filters: Any) -> httpx.Response:
    body: dict[str, Any] = {"title": "test", "fields": fields}
    if filters:
        body["filters"] = filters
    return api.post("reports/custom", params={"format": "JSON", "onlyCurrent": "false"}, json=body)


def error_of(response: httpx.Response) -> str:
    assert response.content == b""
    assert response.headers["X-BambooHR-Error-Message"] == response.headers["X-BambooHR-Error-Messsage"]
    return response.headers["X-BambooHR-Error-Message"]


# --- directory -------------------------------------------------------------------------------------
def test_directory_lists_only_active_people_with_supervisor_names(
    api: httpx.Client, org: SyntheticOrg
) -> None:
    body = api.get("employees/directory").json()
    ids = [e["id"] for e in body["employees"]]
    assert ids == [e.employee_id for e in org.active()]
    assert len(ids) < len(org.employees)
    assert {"id": "supervisor", "type": "employee", "name": "Manager"} in body["fields"]
    entry = next(e for e in body["employees"] if e["id"] != "1001")
    emp = org.get(entry["id"])
    assert entry["supervisor"] == org.get(emp.manager_id or "").display_name
    assert entry["workEmail"] == emp.email
    assert entry["photoUploaded"] is False
    assert entry["canUploadPhoto"] == 1
    assert "supervisorEId" not in entry


# --- custom report ---------------------------------------------------------------------------------
def test_custom_report_has_everyone_with_strings_and_zero_dates(api: httpx.Client, org: SyntheticOrg) -> None:
    response = report(
        api, ["employeeNumber", "supervisorEId", "status", "terminationDate", "hireDate", "noSuchField"]
    )
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "test"
    assert [f["id"] for f in body["fields"]] == [
        "employeeNumber",
        "supervisorEId",
        "status",
        "terminationDate",
        "hireDate",
    ]
    rows = {row["id"]: row for row in body["employees"]}
    assert set(rows) == set(org.employees)
    for employee_id, emp in org.employees.items():
        row = rows[employee_id]
        assert "noSuchField" not in row
        assert isinstance(row["employeeNumber"], str)
        assert row["employeeNumber"] != employee_id
        assert row["supervisorEId"] == emp.manager_id
        assert row["status"] == ("Active" if emp.is_active else "Inactive")
        assert row["hireDate"] == emp.hire_date.isoformat()
        expected = emp.termination_date.isoformat() if emp.termination_date else "0000-00-00"
        assert row["terminationDate"] == expected
    assert any(row["status"] == "Inactive" for row in rows.values())


def test_custom_report_knows_every_field_by_alias_or_number(api: httpx.Client, org: SyntheticOrg) -> None:
    fields = [
        "id",
        "employeeNumber",
        "firstName",
        "lastName",
        "preferredName",
        "displayName",
        "workEmail",
        "jobTitle",
        "department",
        "division",
        "location",
        "supervisorEId",
        "supervisor",
        "supervisorEmail",
        "status",
        "employmentHistoryStatus",
        "hireDate",
        "terminationDate",
        "customCostCenter",
        "customJobLevel",
        "customSalesforceUserId",
        "customJiraAccountId",
        "lastChanged",
    ]
    body = report(api, [*fields, "4001"]).json()
    assert [f["id"] for f in body["fields"]] == [*fields, "4001"]
    row = next(r for r in body["employees"] if r["id"] == "1002")
    emp, boss = org.get("1002"), org.get("1001")
    assert row["supervisor"] == boss.display_name
    assert row["supervisorEmail"] == boss.email
    assert row["customCostCenter"] == row["4001"] == emp.cost_centre
    assert row["customSalesforceUserId"] == emp.salesforce_user_id
    assert row["lastChanged"] == "2026-01-01T00:00:00+00:00"
    assert row["preferredName"] is None


def test_custom_report_filters(api: httpx.Client, org: SyntheticOrg) -> None:
    rows = report(api, ["firstName"], employeeIds=["1003", 1004, "99999"]).json()["employees"]
    assert [r["id"] for r in rows] == ["1003", "1004"]
    since = org.tick()
    org.update("1010", location="Berlin")
    value = since.isoformat()
    rows = report(api, ["location"], lastChanged={"includeNull": "yes", "value": value}).json()["employees"]
    assert rows == [{"id": "1010", "location": "Berlin"}]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/json; charset=utf-8"])
def test_custom_report_needs_exactly_application_json(api: httpx.Client, content_type: str) -> None:
    response = api.post(
        "reports/custom",
        params={"format": "JSON"},
        content=b'{"fields":["firstName"]}',
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 400
    assert error_of(response) == "Malformed XML"


def test_custom_report_other_formats_are_not_emulated(api: httpx.Client) -> None:
    response = api.post("reports/custom", params={"format": "CSV"}, json={"fields": ["firstName"]})
    assert response.status_code == 404
    assert error_of(response)


# --- changed since ----------------------------------------------------------------------------------
def test_changed_is_a_map_keyed_by_id(api: httpx.Client, org: SyntheticOrg) -> None:
    since = org.tick()
    org.update("1005", title="Chief Vibes Officer")
    org.delete("1006")
    hired = org.hire("1001").employee_id
    body = api.get("employees/changed", params={"since": since.isoformat()}).json()
    assert set(body["employees"]) == {"1005", "1006", hired}
    assert body["employees"]["1005"]["action"] == "Updated"
    assert body["employees"]["1006"] == {
        "id": "1006",
        "action": "Deleted",
        "lastChanged": body["employees"]["1006"]["lastChanged"],
    }
    assert body["latest"] == org.clock.isoformat()
    deleted = api.get("employees/changed", params={"since": since.isoformat(), "type": "deleted"}).json()
    assert list(deleted["employees"]) == ["1006"]


def test_changed_needs_a_valid_since_with_plus_encoded(api: httpx.Client) -> None:
    assert api.get("employees/changed").status_code == 400
    assert api.get("employees/changed", params={"since": "yesterday"}).status_code == 400
    raw_plus = api.get("employees/changed?since=2026-01-01T00:00:00+00:00")
    assert raw_plus.status_code == 400
    assert "%2B" in error_of(raw_plus)
    assert api.get("employees/changed?since=2026-01-01T00:00:00%2B00:00").status_code == 200
    assert api.get("employees/changed", params={"since": "2026-01-01T00:00:00Z"}).status_code == 200


# --- one employee, metadata ------------------------------------------------------------------------------
def test_one_employee_and_field_metadata(api: httpx.Client, org: SyntheticOrg) -> None:
    one = api.get("employees/1002", params={"fields": "firstName,supervisorEId,bogus"}).json()
    assert one == {"id": "1002", "firstName": org.get("1002").first_name, "supervisorEId": "1001"}
    assert api.get("employees/424242").status_code == 404
    meta = api.get("meta/fields").json()
    aliases = {f["alias"] for f in meta}
    assert {"customCostCenter", "customJobLevel", "customSalesforceUserId", "customJiraAccountId"} <= aliases
    assert all({"id", "name", "type", "alias"} <= set(f) for f in meta)


# --- errors ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("auth", [None, ("wrong", "x"), ("", KEY)])
def test_bad_or_missing_key_is_401_with_the_error_header(
    server: ServerThread, auth: tuple[str, str] | None
) -> None:
    response = httpx.get(
        f"{server.url}/api/gateway.php/acme/v1/meta/fields", auth=auth, headers=JSON, trust_env=False
    )
    assert response.status_code == 401
    assert "API key" in error_of(response)


def test_unknown_routes_and_companies_are_404(api: httpx.Client, server: ServerThread) -> None:
    assert error_of(api.get("no/such/thing")) == "No route for GET /api/gateway.php/acme/v1/no/such/thing"
    assert api.delete("meta/fields").status_code == 404
    other = httpx.get(
        f"{server.url}/api/gateway.php/other/v1/meta/fields", auth=(KEY, "x"), headers=JSON, trust_env=False
    )
    assert other.status_code == 404
    assert "other" in error_of(other)


def test_rate_limit_answers_429_with_retry_after(api: httpx.Client, emulator: BambooHREmulator) -> None:
    emulator.limiter.per_second = 2
    statuses = [api.get("meta/fields") for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].headers["Retry-After"] == "1"
    assert error_of(statuses[2])


# --- sandbox admin ---------------------------------------------------------------------------------------
def test_mutate_changes_the_org_from_outside(
    admin: httpx.Client, api: httpx.Client, org: SyntheticOrg
) -> None:
    since = org.clock.isoformat()
    changed = admin.post("mutate", json={"change_ratio": 0.05, "seed": 1}).json()["changed"]
    assert len(changed) == round(len(org.active()) * 0.05)
    assert admin.post("mutate", json={"terminate": ["1042"]}).json() == {"changed": ["1042"]}
    assert org.get("1042").status == "Inactive"
    assert admin.post("mutate", json={"rehire": ["1042"]}).json() == {"changed": ["1042"]}
    assert org.get("1042").is_active
    assert admin.post("mutate", json={"delete": ["1043"]}).json() == {"changed": ["1043"]}
    assert "1043" not in org.employees
    feed = api.get("employees/changed", params={"since": since}).json()["employees"]
    assert set(feed) == {*changed, "1042", "1043"}
    assert admin.post("mutate", json={"fire": ["1"]}).status_code == 400
    assert admin.post("mutate", json={"terminate": ["424242"]}).status_code == 400
    assert admin.post("rate_limit", json={"per_second": 50}).json() == {"per_second": 50.0}
    assert admin.get("org").json()["size"] == len(org.employees)
    assert admin.post("nothing", json={}).status_code == 404


def test_admin_calls_are_neither_logged_nor_faulted(admin: httpx.Client, emulator: BambooHREmulator) -> None:
    emulator.faults.inject(Fault(kind="status", status=500))
    assert admin.post("mutate", json={"change_ratio": 0.01}).status_code == 200
    assert emulator.requests.count() == 0


def test_a_large_report_is_served_quickly() -> None:
    big = BambooHREmulator(generate_org(20_000, seed=1), api_key=KEY)
    with ServerThread(big) as running:
        response = httpx.post(
            f"{running.url}/api/gateway.php/acme/v1/reports/custom",
            params={"format": "JSON"},
            json={"title": "all", "fields": ["firstName", "lastName", "supervisorEId", "status", "hireDate"]},
            auth=(KEY, "x"),
            timeout=30,
            trust_env=False,
        )
    assert response.status_code == 200
    assert len(response.json()["employees"]) == 20_000
    assert response.elapsed.total_seconds() < 5
