"""The Workday emulator speaks the shapes the connector relies on (VENDOR_APIS.md §2)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.org import SyntheticOrg, generate_org
from sandbox.server import Fault, ServerThread
from sandbox.workday import WorkdayEmulator, build_index

CLIENT = ("okrhub-sandbox", "sandbox-workday-secret")
REFRESH = "sandbox-workday-refresh"
REST = "/ccx/api/v1/acme"
REPORT = "/ccx/service/customreport2/acme/isu_okrhub/okrhub_workers"


@pytest.fixture
def org() -> SyntheticOrg:
    return generate_org(180, seed=5)


@pytest.fixture
def app(org: SyntheticOrg) -> WorkdayEmulator:
    return WorkdayEmulator(org)


@pytest.fixture
def http(app: WorkdayEmulator) -> Iterator[httpx.Client]:
    with ServerThread(app) as server, httpx.Client(base_url=server.url, trust_env=False) as client:
        yield client


def token(http: httpx.Client) -> str:
    response = http.post(
        "/ccx/oauth2/acme/token", auth=CLIENT, data={"grant_type": "refresh_token", "refresh_token": REFRESH}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def authed(http: httpx.Client) -> httpx.Client:
    http.headers["Authorization"] = f"Bearer {token(http)}"
    return http


# --- OAuth ------------------------------------------------------------------------------------------------
def test_token_exchange_with_basic_or_form_credentials(http):
    body = http.post(
        "/ccx/oauth2/acme/token", auth=CLIENT, data={"grant_type": "refresh_token", "refresh_token": REFRESH}
    ).json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    form = {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "client_id": CLIENT[0],
        "client_secret": CLIENT[1],
    }
    assert http.post("/ccx/oauth2/acme/token", data=form).status_code == 200


@pytest.mark.parametrize(
    ("auth", "data", "status", "error"),
    [
        (
            ("okrhub-sandbox", "bad-secret-x7"),
            {"grant_type": "refresh_token", "refresh_token": REFRESH},
            401,
            "invalid_client",
        ),
        (None, {"grant_type": "refresh_token", "refresh_token": REFRESH}, 401, "invalid_client"),
        (CLIENT, {"grant_type": "refresh_token", "refresh_token": "revoked-token-x7"}, 400, "invalid_grant"),
        (CLIENT, {"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_token_refusals_use_oauth_error_bodies(http, auth, data, status, error):
    response = http.post("/ccx/oauth2/acme/token", auth=auth, data=data)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert "x7" not in response.text, "the emulator never echoes a credential"


def test_bearer_token_is_required_and_expire_tokens_revokes_it(authed, app):
    assert authed.get(f"{REST}/workers").status_code == 200
    anonymous = authed.get(f"{REST}/workers", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_token"
    app.expire_tokens()
    expired = authed.get(REPORT, params={"format": "json"})
    assert expired.status_code == 401
    assert "invalid_token" in expired.headers["WWW-Authenticate"]


def test_expire_token_fault_revokes_then_answers_with_401(authed, app):
    app.faults.inject(Fault(kind="expire_token", path="workers"))
    assert authed.get(f"{REST}/workers").status_code == 401


def test_tokens_expire_after_their_ttl(org):
    app = WorkdayEmulator(org, token_ttl_seconds=0)
    with ServerThread(app) as server, httpx.Client(base_url=server.url, trust_env=False) as http:
        bearer = token(http)
        time.sleep(0.01)
        assert http.get(f"{REST}/workers", headers={"Authorization": f"Bearer {bearer}"}).status_code == 401


# --- REST -----------------------------------------------------------------------------------------------
def test_workers_paging_defaults_limits_and_total(authed, org):
    active = org.active()
    first = authed.get(f"{REST}/workers").json()
    assert first["total"] == len(active)
    assert len(first["data"]) == 20
    ids = []
    for offset in range(0, len(active), 100):
        page = authed.get(f"{REST}/workers", params={"limit": 100, "offset": offset}).json()
        ids += [w["id"] for w in page["data"]]
    assert ids == [e.workday_id for e in active]
    worker = first["data"][0]
    assert {"id", "descriptor", "href", "primaryWorkEmail", "businessTitle", "isManager"} <= set(worker)
    assert set(worker["primarySupervisoryOrganization"]) == {"id", "descriptor", "href"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "x"}, "limit"),
    ],
)
def test_paging_errors_use_workday_error_body(authed, params, field):
    response = authed.get(f"{REST}/workers", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]
    assert body["errors"][0]["field"] == field


def test_terminated_workers_are_not_listed_by_rest(authed, org):
    leaver = next(e for e in org.employees.values() if not e.is_active)
    assert authed.get(f"{REST}/workers/{leaver.workday_id}").status_code == 404
    assert (
        authed.get(f"{REST}/workers/Employee_ID={leaver.employee_id}").json()["errors"][0]["location"]
        == "path"
    )


def test_worker_by_wid_or_employee_id_and_direct_reports(authed, org):
    vp = org.employees["1002"]
    by_wid = authed.get(f"{REST}/workers/{vp.workday_id}").json()
    by_ref = authed.get(f"{REST}/workers/Employee_ID=1002").json()
    assert by_wid == by_ref
    assert by_wid["isManager"] is True
    reports = authed.get(f"{REST}/workers/Employee_ID=1002/directReports", params={"limit": 100}).json()
    expected = [e.workday_id for e in org.active() if e.manager_id == "1002"]
    assert reports["total"] == len(expected)
    assert [w["id"] for w in reports["data"]] == expected


def test_supervisory_orgs_follow_the_manager_convention(authed, org):
    """Manager of my org, or of the superior org when I manage my own, is my manager."""
    orgs: dict[str, dict[str, Any]] = {}
    total = authed.get(f"{REST}/supervisoryOrganizations", params={"limit": 1}).json()["total"]
    for offset in range(0, total, 100):
        page = authed.get(f"{REST}/supervisoryOrganizations", params={"limit": 100, "offset": offset}).json()
        orgs.update({o["id"]: o for o in page["data"]})
    assert len(orgs) == total
    detail = authed.get(f"{REST}/supervisoryOrganizations/{next(iter(orgs))}").json()
    assert {"id", "descriptor", "name", "manager"} <= set(detail)
    wid_to_emp = {e.workday_id: e.employee_id for e in org.employees.values()}
    workers = []
    for offset in range(0, len(org.active()), 100):
        workers += authed.get(f"{REST}/workers", params={"limit": 100, "offset": offset}).json()["data"]
    for worker in workers:
        sup = orgs[worker["primarySupervisoryOrganization"]["id"]]
        if sup["manager"]["id"] == worker["id"]:
            superior = sup.get("superiorOrganization")
            manager = orgs[superior["id"]]["manager"]["id"] if superior else None
        else:
            manager = sup["manager"]["id"]
        assert (wid_to_emp[manager] if manager else None) == org.employees[
            wid_to_emp[worker["id"]]
        ].manager_id


def test_common_v1_prefix_is_served_too(authed):
    assert authed.get("/ccx/api/common/v1/acme/workers", params={"limit": 1}).json()["total"] > 0


def test_unknown_paths_answer_with_workday_error_body(authed):
    response = authed.get(f"{REST}/nothingHere")
    assert response.status_code == 404
    assert "error" in response.json()


# --- RaaS -----------------------------------------------------------------------------------------------
def test_report_lists_everyone_and_omits_empty_values(authed, org):
    rows = authed.get(REPORT, params={"format": "json"}).json()["Report_Entry"]
    assert [r["Employee_ID"] for r in rows] == sorted(org.employees, key=int)
    ceo, *_ = rows
    assert "Manager_Employee_ID" not in ceo
    active = next(r for r in rows if r["Active_Status"] == "1")
    assert "Termination_Date" not in active
    leaver = next(r for r in rows if r["Active_Status"] == "0")
    assert leaver["Termination_Date"] == org.employees[leaver["Employee_ID"]].termination_date.isoformat()
    assert all(value != "" for row in rows for value in row.values())
    assert {"Worker_WID", "Supervisory_Organization_ID", "Salesforce_User_ID", "Jira_Account_ID"} <= set(
        active
    )


def test_updated_from_prompt_keeps_recent_changes(authed, org):
    org.mutate(0.02, seed=1)  # warm the clock past "now" so stamps are recent
    since = org.tick()
    changed = org.update("1010", title="Changed")
    org.terminate("1020")
    stamp = since.isoformat().replace("+00:00", "Z")
    rows = authed.get(REPORT, params={"format": "json", "Updated_From": stamp}).json()["Report_Entry"]
    assert {r["Employee_ID"] for r in rows} == {"1010", "1020"}
    assert next(r for r in rows if r["Employee_ID"] == "1010")["Business_Title"] == changed.title
    assert next(r for r in rows if r["Employee_ID"] == "1020")["Active_Status"] == "0"


def test_report_errors(authed):
    assert authed.get(REPORT, params={"format": "json", "Updated_From": "soon"}).status_code == 400
    assert authed.get(REPORT, params={"format": "csv"}).status_code == 400
    assert (
        authed.get("/ccx/service/customreport2/acme/isu_okrhub/other", params={"format": "json"}).status_code
        == 404
    )


def test_index_is_rebuilt_after_org_changes(app, org):
    before = app.index()
    assert app.index() is before
    org.update("1005", title="X")
    assert app.index() is not before


@pytest.mark.slow
def test_a_100k_worker_report_serves_in_seconds():
    org = generate_org(100_000, seed=1)
    app = WorkdayEmulator(org)
    build_index(org)
    with ServerThread(app) as server, httpx.Client(base_url=server.url, trust_env=False, timeout=60) as http:
        http.headers["Authorization"] = f"Bearer {token(http)}"
        started = time.perf_counter()
        response = http.get(REPORT, params={"format": "json"})
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert response.content.count(b'"Employee_ID"') == 100_000
    assert elapsed < 10, f"took {elapsed:.1f}s"
