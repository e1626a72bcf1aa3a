"""BambooHR connector against its emulator over real HTTP: reads, cursors, quirks and failures."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError

from connectors.bamboohr import BambooHRConnector
from connectors.bamboohr.settings import BambooHRSettings
from hub.contracts import (
    Capability,
    ConnectorContext,
    DepartmentRecord,
    OrgSource,
    PersonRecord,
    PersonRemoved,
    PersonStatus,
)
from hub.errors import AuthError, ConnectorError, RateLimited, SourceDataError
from hub.http.retry import RetrySettings
from hub.http.stats import CallStats
from hub.registry import ConnectorRegistry
from sandbox.bamboohr import BambooHREmulator
from sandbox.org import SyntheticOrg
from sandbox.server import Fault
from tests.connectors.bamboohr.conftest import API_KEY, CONNECTION, WRONG_KEY, MakeConnector

CURSOR_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def people_of(items: Iterable[object]) -> dict[str, PersonRecord]:
    return {item.employee_id: item for item in items if isinstance(item, PersonRecord)}


# --- contract ------------------------------------------------------------------------------------
def test_connector_is_an_org_source_and_registers(make_connector: MakeConnector) -> None:
    connector = make_connector()
    assert isinstance(connector, OrgSource)
    assert BambooHRConnector.capabilities == frozenset({Capability.ORG_SOURCE, Capability.RATING_SINK})
    spec = ConnectorRegistry.from_classes([BambooHRConnector]).get("bamboohr")
    assert spec.settings_model is BambooHRSettings


def test_settings_take_a_secret_reference_never_a_literal_key() -> None:
    found: set[str] = set()
    raw = {"base_url": "https://api.bamboohr.com/api/gateway.php/acme/v1", "api_key": "${BAMBOO_KEY}"}
    settings = BambooHRSettings.model_validate(
        raw, context={"env": {"BAMBOO_KEY": API_KEY}, "secrets": found}
    )
    assert settings.api_key.get_secret_value() == API_KEY
    assert found == {API_KEY}
    assert settings.read_mode == "custom_report"
    assert settings.changed_ids_per_request == 500
    with pytest.raises(ValidationError):
        BambooHRSettings.model_validate({**raw, "api_key": API_KEY})


def test_check_reports_visible_fields(make_connector: MakeConnector) -> None:
    result = make_connector().check()
    assert result.ok
    assert "24 fields visible" in result.detail


# --- full read -----------------------------------------------------------------------------------
def test_full_read_returns_everyone_including_inactive_in_one_report(
    make_connector: MakeConnector, emulator: BambooHREmulator, org: SyntheticOrg
) -> None:
    stats = CallStats()
    connector = make_connector(stats=stats)
    stream = connector.read_org(connector.default_fields(), since=None)
    people = people_of(list(stream))
    assert stream.is_full
    assert set(people) == set(org.employees)
    inactive = {e.employee_id for e in org.employees.values() if not e.is_active}
    assert inactive, "the synthetic org should hold terminated people"
    assert {p.employee_id for p in people.values() if p.status is PersonStatus.TERMINATED} == inactive
    assert emulator.requests.count("reports/custom", method="POST") == 1
    assert stats.api_calls == 1


def test_full_read_normalises_every_field(make_connector: MakeConnector, org: SyntheticOrg) -> None:
    connector = make_connector()
    people = people_of(list(connector.read_org(connector.default_fields(), since=None)))
    for employee_id, emp in org.employees.items():
        person = people[employee_id]
        assert person.manager_id == emp.manager_id
        assert person.email == emp.email
        assert person.first_name == emp.first_name
        assert person.display_name == emp.display_name
        assert person.title == emp.title
        assert person.department == emp.department
        assert person.cost_centre == emp.cost_centre
        assert person.location == emp.location
        assert person.job_level == emp.job_level
        assert person.hire_date == emp.hire_date
        assert person.termination_date == emp.termination_date  # "0000-00-00" -> None
        expected = PersonStatus.ACTIVE if emp.is_active else PersonStatus.TERMINATED
        assert person.status is expected
        assert person.identities == {}
    ceo = next(p for p in people.values() if p.manager_id is None)
    assert ceo.title == "Chief Executive Officer"


def test_identities_and_attributes_when_the_field_map_asks(
    make_connector: MakeConnector, org: SyntheticOrg
) -> None:
    connector = make_connector()
    fields = connector.default_fields().merged(
        identities={"salesforce": "customSalesforceUserId", "jira": "customJiraAccountId"},
        attributes={"division": "division", "employment": "employmentHistoryStatus"},
    )
    people = people_of(list(connector.read_org(fields, since=None)))
    for employee_id, emp in org.employees.items():
        assert people[employee_id].identities == {
            "salesforce": emp.salesforce_user_id,
            "jira": emp.jira_account_id,
        }
        assert people[employee_id].attributes == {
            "division": emp.division,
            "employment": emp.employment_status,
        }


def test_fields_bamboohr_silently_drops_are_reported_once(
    make_connector: MakeConnector, org: SyntheticOrg, caplog: pytest.LogCaptureFixture
) -> None:
    connector = make_connector(changed_ids_per_request=2)
    fields = connector.default_fields().merged(fields={"job_level": "customLevelTypo"})
    people = people_of(list(connector.read_org(fields, since=None)))
    assert len(people) == len(org.employees)
    assert all(p.job_level is None for p in people.values())
    assert "left out field(s) customLevelTypo" in caplog.text
    caplog.clear()
    since = org.tick().isoformat()
    org.mutate(0.02, seed=1)
    list(connector.read_org(fields, since=since))
    assert "left out field(s)" not in caplog.text, "said once per connector, not once per chunk"


def test_departments_are_yielded_once_each_before_their_people(
    make_connector: MakeConnector, org: SyntheticOrg
) -> None:
    connector = make_connector()
    items = list(connector.read_org(connector.default_fields(), since=None))
    departments = [item for item in items if isinstance(item, DepartmentRecord)]
    keys = [d.key for d in departments]
    assert len(keys) == len(set(keys))
    assert set(keys) == {e.department for e in org.employees.values()}
    assert all(d.key == d.name for d in departments)
    announced: set[str] = set()
    for item in items:
        if isinstance(item, DepartmentRecord):
            announced.add(item.key)
        elif isinstance(item, PersonRecord):
            assert item.department in announced


def test_full_read_cursor_is_read_start_minus_five_minutes(make_connector: MakeConnector) -> None:
    connector = make_connector()
    stream = connector.read_org(connector.default_fields(), since=None)
    before = datetime.now(UTC).replace(microsecond=0)
    iterator = iter(stream)
    next(iterator)
    assert stream.cursor is None, "no cursor before the stream is exhausted"
    list(iterator)
    after = datetime.now(UTC)
    assert stream.cursor is not None
    assert CURSOR_FORMAT.match(stream.cursor)
    cursor = datetime.strptime(stream.cursor, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before - timedelta(minutes=5) <= cursor <= after - timedelta(minutes=5)


def test_full_read_of_an_empty_company_is_returned_as_is(
    make_connector: MakeConnector, org: SyntheticOrg
) -> None:
    org.employees.clear()
    connector = make_connector()
    stream = connector.read_org(connector.default_fields(), since=None)
    assert list(stream) == []
    assert stream.is_full
    assert stream.cursor is not None


# --- incremental read ----------------------------------------------------------------------------
def test_incremental_returns_exactly_the_changes(
    make_connector: MakeConnector, emulator: BambooHREmulator, org: SyntheticOrg
) -> None:
    connector = make_connector()
    full = connector.read_org(connector.default_fields(), since=None)
    list(full)
    assert full.cursor is not None
    changed = set(org.mutate(0.05, seed=3))
    leaver = next(
        e.employee_id for e in org.active() if e.job_level.startswith("IC") and e.employee_id not in changed
    )
    org.terminate(leaver)
    mistake = next(e.employee_id for e in org.active() if e.employee_id not in changed | {leaver})
    org.delete(mistake)
    hire = org.hire(next(iter(org.employees))).employee_id
    emulator.requests.clear()

    stream = connector.read_org(connector.default_fields(), since=full.cursor)
    items = list(stream)

    assert not stream.is_full
    people = people_of(items)
    assert set(people) == changed | {leaver, hire}
    assert [item for item in items if isinstance(item, PersonRemoved)] == [PersonRemoved(mistake)]
    assert people[leaver].status is PersonStatus.TERMINATED
    assert people[leaver].termination_date is not None
    for employee_id in changed:
        emp = org.get(employee_id)
        assert (people[employee_id].title, people[employee_id].location, people[employee_id].cost_centre) == (
            emp.title,
            emp.location,
            emp.cost_centre,
        )
    latest = max(org.clock, *(e.last_changed for e in org.employees.values()))
    assert stream.cursor == latest.isoformat(timespec="seconds")
    assert emulator.requests.count("employees/changed") == 1
    assert emulator.requests.count("reports/custom") == 1


def test_incremental_reads_changed_ids_in_chunks(
    make_connector: MakeConnector, emulator: BambooHREmulator, org: SyntheticOrg
) -> None:
    connector = make_connector(changed_ids_per_request=4)
    since = org.tick().isoformat()
    changed = org.mutate(0.05, seed=5)
    stream = connector.read_org(connector.default_fields(), since=since)
    assert set(people_of(list(stream))) == set(changed)
    assert emulator.requests.count("reports/custom") == math.ceil(len(changed) / 4)
    assert "+00:00" in since
    assert "%2B00%3A00" in next(e.query for e in emulator.requests.entries if "changed" in e.path)


def test_incremental_without_changes_keeps_the_cursor(
    make_connector: MakeConnector, emulator: BambooHREmulator
) -> None:
    connector = make_connector()
    since = "2099-01-01T00:00:00Z"
    stream = connector.read_org(connector.default_fields(), since=since)
    assert list(stream) == []
    assert stream.cursor == since
    assert emulator.requests.count("reports/custom") == 0


def test_invalid_cursor_fails_with_the_vendor_reason(make_connector: MakeConnector) -> None:
    connector = make_connector()
    with pytest.raises(ConnectorError, match=r"HTTP 400.*Invalid since") as caught:
        list(connector.read_org(connector.default_fields(), since="last tuesday"))
    assert caught.value.connection == CONNECTION


# --- directory mode ------------------------------------------------------------------------------
def test_directory_mode_is_a_full_snapshot_of_active_people(
    make_connector: MakeConnector, emulator: BambooHREmulator, org: SyntheticOrg
) -> None:
    connector = make_connector(read_mode="directory")
    fields = connector.default_fields()
    assert "manager_id" not in fields.fields
    assert "status" not in fields.fields
    stream = connector.read_org(fields, since="2026-01-01T00:00:00Z")  # no change feed: always full
    people = people_of(list(stream))
    assert stream.is_full
    assert set(people) == {e.employee_id for e in org.active()}
    assert all(p.status is PersonStatus.ACTIVE for p in people.values())
    assert emulator.requests.count("employees/directory") == 1
    assert emulator.requests.count("employees/changed") == 0


# --- retries -------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 503])
def test_throttling_with_retry_after_is_retried(
    make_connector: MakeConnector, emulator: BambooHREmulator, org: SyntheticOrg, status: int
) -> None:
    emulator.faults.inject(
        Fault(kind="status", status=status, retry_after="30", path="reports/custom", times=2)
    )
    stats = CallStats()
    connector = make_connector(stats=stats)
    people = people_of(list(connector.read_org(connector.default_fields(), since=None)))
    assert len(people) == len(org.employees)
    assert stats.retries == 2
    assert stats.by_status[status] == 2


def test_throttling_that_never_ends_gives_up_as_rate_limited(
    make_connector: MakeConnector, emulator: BambooHREmulator
) -> None:
    emulator.faults.inject(Fault(kind="status", status=429, retry_after="1", path="meta/fields", times=50))
    connector = make_connector(context_retry=RetrySettings(max_attempts=3, max_wait_seconds=0.01))
    with pytest.raises(RateLimited) as caught:
        connector.check()
    assert caught.value.retry_after == 1.0
    assert emulator.requests.count("meta/fields") == 3


def test_the_emulators_own_rate_limit_is_survived(
    make_connector: MakeConnector, emulator: BambooHREmulator, org: SyntheticOrg
) -> None:
    emulator.limiter.per_second = 1
    stats = CallStats()
    connector = make_connector(
        stats=stats,
        context_retry=RetrySettings(max_attempts=10, max_wait_seconds=0.3, backoff_base_seconds=0.05),
    )
    connector.check()
    people = people_of(list(connector.read_org(connector.default_fields(), since=None)))
    assert len(people) == len(org.employees)
    assert stats.by_status[429] >= 1


@pytest.mark.parametrize("kind", ["short_body", "reset"])
def test_a_body_cut_short_or_a_reset_is_fetched_again(
    make_connector: MakeConnector, emulator: BambooHREmulator, org: SyntheticOrg, kind: str
) -> None:
    emulator.faults.inject(Fault(kind=kind, path="reports/custom"))  # type: ignore[arg-type]
    stats = CallStats()
    connector = make_connector(stats=stats)
    people = people_of(list(connector.read_org(connector.default_fields(), since=None)))
    assert len(people) == len(org.employees)
    assert stats.retries == 1
    assert emulator.requests.count("reports/custom") == 2


# --- failures ------------------------------------------------------------------------------------
def test_wrong_key_is_an_auth_error_naming_the_connection(
    make_connector: MakeConnector, emulator: BambooHREmulator
) -> None:
    connector = make_connector(bad_credentials=True)
    with pytest.raises(AuthError) as caught:
        connector.check()
    message = str(caught.value)
    assert f"connection `{CONNECTION}`" in message
    assert "api_key" in message
    assert "Invalid API key" in message  # BambooHR's reason, from its error header
    assert WRONG_KEY not in message
    assert API_KEY not in message
    assert caught.value.connection == CONNECTION
    assert caught.value.status == 401
    assert emulator.requests.count("meta/fields") == 1, "a 401 is not retried"
    with pytest.raises(AuthError, match="POST reports/custom"):
        list(connector.read_org(connector.default_fields(), since=None))


def test_wrong_company_says_to_check_the_base_url(make_connector: MakeConnector, base_url: str) -> None:
    connector = make_connector(base_url=base_url.replace("/acme/", "/acne/"))
    with pytest.raises(ConnectorError, match="base_url") as caught:
        connector.check()
    assert caught.value.status == 404
    assert "acne" in str(caught.value)


@pytest.mark.parametrize(
    ("path", "since", "where"),
    [
        ("reports/custom", None, "POST reports/custom"),
        ("employees/changed", "2026-01-01T00:00:00Z", "GET employees/changed"),
    ],
)
def test_truncated_json_is_a_source_data_error(
    make_connector: MakeConnector, emulator: BambooHREmulator, path: str, since: str | None, where: str
) -> None:
    emulator.faults.inject(Fault(kind="truncate_json", path=path))
    connector = make_connector()
    stream = connector.read_org(connector.default_fields(), since=since)
    with pytest.raises(SourceDataError, match=where) as caught:
        list(stream)
    assert caught.value.connection == CONNECTION
    assert stream.cursor is None


def test_secret_never_shows_in_errors_or_logs(
    make_connector: MakeConnector, emulator: BambooHREmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    with pytest.raises(AuthError) as auth:
        list(make_connector(bad_credentials=True).read_org(make_connector().default_fields(), since=None))
    errors.append(str(auth.value))
    emulator.faults.inject(Fault(kind="status", status=429, retry_after="1", path="reports/custom"))
    emulator.faults.inject(Fault(kind="truncate_json", path="reports/custom"))
    connector = make_connector()
    with pytest.raises(SourceDataError) as bad_body:
        list(connector.read_org(connector.default_fields(), since=None))
    errors.append(str(bad_body.value))
    assert "retry 1 of" in caplog.text
    for text in [*errors, caplog.text]:
        assert API_KEY not in text
        assert WRONG_KEY not in text


# --- shapes only respx can produce ---------------------------------------------------------------
@pytest.fixture
def offline() -> Iterator[BambooHRConnector]:
    settings = BambooHRSettings(
        base_url="https://api.bamboohr.com/api/gateway.php/acme/v1",
        api_key=SecretStr(API_KEY),
        retry=RetrySettings(max_attempts=2, max_wait_seconds=0.01),
    )
    connector = BambooHRConnector(
        settings, context=ConnectorContext(connection=CONNECTION, stats=CallStats())
    )
    yield connector
    connector.close()


BASE = "https://api.bamboohr.com/api/gateway.php/acme/v1"


@respx.mock
def test_report_without_an_employees_list_is_not_an_empty_company(offline: BambooHRConnector) -> None:
    respx.post(f"{BASE}/reports/custom").mock(
        return_value=httpx.Response(200, json={"title": "x", "fields": []})
    )
    with pytest.raises(SourceDataError, match="no `employees` list"):
        list(offline.read_org(offline.default_fields(), since=None))


@respx.mock
def test_numeric_ids_and_the_php_empty_map_are_accepted(offline: BambooHRConnector) -> None:
    respx.get(f"{BASE}/employees/changed").mock(
        return_value=httpx.Response(
            200,
            json={
                "latest": "2026-11-02T10:00:00+00:00",
                "employees": {
                    "123": {"id": 123, "action": "Updated", "lastChanged": "2026-11-02T10:00:00+00:00"}
                },
            },
        )
    )
    report = respx.post(f"{BASE}/reports/custom").mock(
        return_value=httpx.Response(
            200, json={"employees": [{"id": 123, "supervisorEId": 7, "status": "Active"}]}
        )
    )
    stream = offline.read_org(offline.default_fields(), since="2026-11-01T00:00:00+00:00")
    assert people_of(list(stream))["123"].manager_id == "7"
    assert stream.cursor == "2026-11-02T10:00:00+00:00"
    assert report.calls.last.request.headers["content-type"] == "application/json"
    assert b'"employeeIds":["123"]' in report.calls.last.request.content

    respx.get(f"{BASE}/employees/changed").mock(
        return_value=httpx.Response(200, json={"latest": "2026-11-02T10:00:00+00:00", "employees": []})
    )
    stream = offline.read_org(offline.default_fields(), since="2026-11-03T00:00:00Z")
    assert list(stream) == []
    assert stream.cursor == "2026-11-03T00:00:00Z"


@respx.mock
def test_changed_entries_of_an_unknown_shape_stop_the_read(offline: BambooHRConnector) -> None:
    respx.get(f"{BASE}/employees/changed").mock(
        return_value=httpx.Response(
            200, json={"latest": "x", "employees": [{"id": "1", "action": "Updated"}]}
        )
    )
    with pytest.raises(SourceDataError, match="not a map keyed by id"):
        list(offline.read_org(offline.default_fields(), since="2026-11-01T00:00:00Z"))
