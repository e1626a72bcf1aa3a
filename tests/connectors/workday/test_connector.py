"""The Workday connector against the emulator over real HTTP: RaaS, REST, tokens, faults."""

from __future__ import annotations

import json
import logging
import pickle

import pytest
from pydantic import SecretStr, ValidationError

from connectors.workday import WorkdayConnector
from connectors.workday.settings import WorkdaySettings
from hub.contracts import DepartmentRecord, OrgItem, OrgSource, OrgStream, PersonRecord, PersonStatus
from hub.errors import AuthError, ConfigError, SourceDataError
from hub.http.stats import CallStats
from sandbox.server import Fault

from .conftest import CLIENT_SECRET, REFRESH_TOKEN


def read_all(
    connector: WorkdayConnector, since: str | None = None
) -> tuple[OrgStream, list[PersonRecord], list[DepartmentRecord], list[OrgItem]]:
    stream = connector.read_org(connector.default_fields(), since=since)
    items = list(stream)
    people = [item for item in items if isinstance(item, PersonRecord)]
    departments = [item for item in items if isinstance(item, DepartmentRecord)]
    return stream, people, departments, items


# --- contract -----------------------------------------------------------------------------------------
def test_connector_is_an_org_source(make_connector):
    connector = make_connector()
    assert isinstance(connector, OrgSource)
    assert WorkdayConnector.type_name == "workday"
    assert WorkdayConnector.supports_incremental is True


def test_check_passes_in_both_modes(make_connector, emulator):
    assert make_connector().check().ok
    result = make_connector(mode="rest").check()
    assert result.ok
    assert f"lists {len(emulator.org.active())} active workers" in result.detail


def test_check_with_unknown_report_is_not_ok(make_connector):
    result = make_connector(report_name="no_such_report").check()
    assert not result.ok
    assert "report_name" in result.detail


# --- RaaS -----------------------------------------------------------------------------------------------
def test_raas_full_read_returns_every_worker_with_managers_dates_status_identities(make_connector, org):
    stream, people, departments, items = read_all(make_connector())
    assert stream.is_full
    assert stream.cursor is not None
    by_id = {p.employee_id: p for p in people}
    assert set(by_id) == set(org.employees)
    assert any(p.status is PersonStatus.TERMINATED for p in people)
    for emp in org.employees.values():
        person = by_id[emp.employee_id]
        assert person.manager_id == emp.manager_id
        assert person.email == emp.email
        assert (person.first_name, person.last_name) == (emp.first_name, emp.last_name)
        assert person.hire_date == emp.hire_date
        assert person.termination_date == emp.termination_date
        assert person.status is (PersonStatus.ACTIVE if emp.is_active else PersonStatus.TERMINATED)
        assert person.identities == {"salesforce": emp.salesforce_user_id, "jira": emp.jira_account_id}
        assert person.attributes["workday_wid"] == emp.workday_id
        assert (person.cost_centre, person.location, person.job_level) == (
            emp.cost_centre,
            emp.location,
            emp.job_level,
        )
    keys = [d.key for d in departments]
    assert len(keys) == len(set(keys)), "each department is yielded once"
    assert {p.department_id for p in people} <= set(keys)
    first_index = {item.key: n for n, item in enumerate(items) if isinstance(item, DepartmentRecord)}
    for n, item in enumerate(items):
        if isinstance(item, PersonRecord):
            assert first_index[item.department_id or ""] < n, "a department comes before its people"


def test_raas_incremental_returns_just_the_changed(make_connector, org, emulator):
    connector = make_connector()
    first, *_ = read_all(connector)
    cursor = first.cursor
    assert cursor is not None
    changed = set(org.mutate(0.05, seed=3))
    leaver = next(
        e.employee_id for e in org.active() if e.job_level.startswith("IC") and e.employee_id not in changed
    )
    org.terminate(leaver)
    emulator.requests.clear()
    stream, people, _, _ = read_all(connector, since=cursor)
    assert not stream.is_full
    assert {p.employee_id for p in people} == changed | {leaver}
    assert next(p for p in people if p.employee_id == leaver).status is PersonStatus.TERMINATED
    query = emulator.requests.entries[-1].query
    assert "Updated_From=" in query
    assert stream.cursor is not None
    assert stream.cursor >= cursor


def test_raas_without_prompt_reads_everything_and_says_so(make_connector, org, caplog):
    connector = make_connector(updated_since_prompt=None)
    with caplog.at_level(logging.WARNING):
        stream, people, _, _ = read_all(connector, since="2026-11-01T00:00:00Z")
    assert stream.is_full
    assert stream.cursor is None
    assert len(people) == len(org.employees)
    assert "reading the whole org" in caplog.text


def test_bad_cursor_is_a_config_error(make_connector):
    with pytest.raises(ConfigError, match="full org sync"):
        make_connector().read_org(make_connector().default_fields(), since="yesterday")


def test_raas_truncated_json_is_source_data_error(make_connector, emulator):
    emulator.faults.inject(Fault(kind="truncate_json", path="customreport2"))
    with pytest.raises(SourceDataError, match="not complete JSON"):
        read_all(make_connector())


def test_stream_iterates_once(make_connector):
    stream = make_connector().read_org(make_connector().default_fields(), since=None)
    list(stream)
    with pytest.raises(RuntimeError, match="only once"):
        list(stream)


# --- REST -----------------------------------------------------------------------------------------------
def test_rest_reads_active_workers_across_pages_with_correct_managers(make_connector, org, emulator):
    stream, people, departments, _ = read_all(make_connector(mode="rest"))
    assert stream.is_full
    active = org.active()
    assert emulator.requests.count(r"/workers$") == -(-len(active) // 100)
    employee_of = {e.workday_id: e for e in org.employees.values()}
    assert {p.employee_id for p in people} == {e.workday_id for e in active}
    for person in people:
        emp = employee_of[person.employee_id]
        manager = employee_of[person.manager_id].employee_id if person.manager_id else None
        assert manager == emp.manager_id, f"{emp.employee_id} ({emp.title})"
        assert person.email == emp.email
        assert person.display_name == emp.display_name
        assert person.status is PersonStatus.ACTIVE
    managers = [p for p in people if employee_of[p.employee_id].job_level[0] in "EM"]
    assert len(managers) > 10, "managers themselves are covered"
    keys = {d.key for d in departments}
    assert len(keys) == len(departments)
    assert {p.department_id for p in people} <= keys
    assert {d.parent_key for d in departments} - {None} <= keys
    roots = [d for d in departments if d.parent_key is None]
    assert [employee_of[d.manager_id].employee_id for d in roots] == [next(iter(org.employees))]
    assert emulator.requests.count("supervisoryOrganizations/") == len(departments), "each org fetched once"


def test_rest_prefix_is_configurable(make_connector, org):
    _, people, _, _ = read_all(make_connector(mode="rest", rest_prefix="ccx/api/common/v1/"))
    assert len(people) == len(org.active())


def test_rest_ignores_since_and_reads_a_full_snapshot(make_connector, caplog):
    with caplog.at_level(logging.WARNING):
        stream, *_ = read_all(make_connector(mode="rest"), since="2026-11-01T00:00:00Z")
    assert stream.is_full
    assert "mode is `rest`" in caplog.text


def test_rest_short_page_before_total_is_source_data_error(make_connector, emulator):
    short = json.dumps({"total": 250, "data": [{"id": f"w{n}", "descriptor": "X"} for n in range(40)]})
    emulator.faults.inject(Fault(kind="status", status=200, body=short, path=r"/workers$", after=1))
    with pytest.raises(SourceDataError, match="truncated"):
        read_all(make_connector(mode="rest"))


def test_rest_truncated_json_is_source_data_error(make_connector, emulator):
    emulator.faults.inject(Fault(kind="truncate_json", path=r"/workers$"))
    with pytest.raises(SourceDataError, match="not JSON"):
        read_all(make_connector(mode="rest"))


# --- tokens and faults ------------------------------------------------------------------------------
def test_token_expiring_mid_sync_is_renewed_once(make_connector, emulator, org):
    stats = CallStats()
    emulator.faults.inject(Fault(kind="expire_token", after=2))
    _, people, _, _ = read_all(make_connector(mode="rest", stats=stats))
    assert len(people) == len(org.active())
    assert emulator.tokens_issued == 2
    assert stats.by_status[401] == 1


def test_token_expiring_before_the_report_is_renewed(make_connector, emulator, org):
    connector = make_connector()
    connector.check()  # token + report: requests 1 and 2
    emulator.faults.inject(Fault(kind="expire_token"))
    _, people, _, _ = read_all(connector)
    assert len(people) == len(org.employees)
    assert emulator.tokens_issued == 2


def test_token_is_reused_across_calls(make_connector, emulator):
    connector = make_connector(mode="rest")
    read_all(connector)
    assert emulator.tokens_issued == 1
    assert emulator.requests.count("oauth2") == 1


@pytest.mark.parametrize(
    ("overrides", "fix"),
    [
        ({"refresh_token": SecretStr("revoked-refresh-token")}, "Manage Refresh Tokens for Integrations"),
        ({"client_secret": SecretStr("wrong-client-secret")}, "View API Clients"),
    ],
)
def test_refused_credentials_raise_auth_error_without_secrets(make_connector, overrides, fix, caplog):
    connector = make_connector(**overrides)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as caught:
        connector.check()
    message = str(caught.value)
    assert fix in message
    secrets = {CLIENT_SECRET, REFRESH_TOKEN, *(v.get_secret_value() for v in overrides.values())}
    for secret in secrets:
        assert secret not in message
        assert secret not in caplog.text
        assert secret not in repr(pickle.loads(pickle.dumps(caught.value)).attrs())
    with pytest.raises(AuthError):
        read_all(connector)


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (429, "0")])
def test_throttling_and_unavailability_are_retried(make_connector, emulator, org, status, retry_after):
    stats = CallStats()
    emulator.faults.inject(
        Fault(kind="status", status=status, retry_after=retry_after, path="customreport2", times=2)
    )
    _, people, _, _ = read_all(make_connector(stats=stats))
    assert len(people) == len(org.employees)
    assert stats.retries == 2
    assert stats.by_status[status] == 2


def test_token_endpoint_outage_is_retried(make_connector, emulator, org):
    emulator.faults.inject(Fault(kind="status", status=503, path="oauth2"))
    _, people, _, _ = read_all(make_connector())
    assert len(people) == len(org.employees)


# --- settings -------------------------------------------------------------------------------------------
def test_raas_mode_needs_a_report(make_settings):
    with pytest.raises(ValidationError, match="report_owner and report_name"):
        make_settings(report_owner=None, report_name=None)
    assert make_settings(mode="rest", report_owner=None, report_name=None).mode == "rest"


def test_page_size_is_capped_at_100(make_settings):
    with pytest.raises(ValidationError):
        make_settings(page_size=101)


def test_secrets_must_be_references_in_config(server):
    raw = {
        "base_url": server.url,
        "tenant": "acme",
        "client_id": "c",
        "client_secret": "literal-secret",
        "refresh_token": "${WD_REFRESH}",
        "report_owner": "o",
        "report_name": "r",
    }
    with pytest.raises(ValidationError, match="never the secret itself"):
        WorkdaySettings.model_validate(raw, context={"env": {"WD_REFRESH": "x"}})
    raw["client_secret"] = "${WD_SECRET}"
    settings = WorkdaySettings.model_validate(raw, context={"env": {"WD_REFRESH": "rt", "WD_SECRET": "cs"}})
    assert settings.client_secret.get_secret_value() == "cs"
    assert "cs" not in repr(settings)
