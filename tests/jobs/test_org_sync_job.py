"""The org-sync job's rules, on SQLite and PostgreSQL: what lands in the store and the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.config.models import OrgSyncSettings
from hub.contracts import PersonStatus
from hub.errors import RecordRejected
from hub.http.stats import CallStats
from hub.jobs.org_sync import OrgSyncOptions, run_org_sync
from hub.store.ledger import RunLedger
from hub.store.models import Department, Identity, Person, StagedPerson, SyncCursor
from tests.jobs.fake_source import PersonRemoved, small_org

SETTINGS = OrgSyncSettings(connection="hr")


def sync(engine, hr, settings=SETTINGS, **options):
    return run_org_sync(
        engine,
        connection="hr",
        source=hr,
        settings=settings,
        stats=CallStats(),
        options=OrgSyncOptions(**options),
    )


def people(engine) -> dict[str, Person]:
    with engine.connect() as conn:
        return {p.employee_id: p for p in conn.execute(select(Person)).all()}


def identities(engine) -> set[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Person.employee_id, Identity.system, Identity.external_id).join(
                Person, Person.id == Identity.person_id
            )
        )
        return set(map(tuple, rows))


def test_first_full_sync_stores_people_departments_identities_and_cursor(store_engine):
    hr = small_org(20)
    result = sync(store_engine, hr)
    assert result.status == "succeeded", result.error
    assert result.mode == "full"
    assert result.counts["created"] == 20
    stored = people(store_engine)
    assert len(stored) == 20
    assert stored["7"].manager_employee_id == "3"
    assert stored["7"].email_lower == "p7@acme.test"
    assert stored["1"].hire_date.isoformat() == "2015-01-01"
    assert ("7", "salesforce", "005P7") in identities(store_engine)
    assert ("7", "email", "p7@acme.test") in identities(store_engine)
    assert ("7", "fakehr", "7") in identities(store_engine)
    with store_engine.connect() as conn:
        assert set(conn.scalars(select(Department.key))) == {"Exec", "Sales", "Eng"}
        assert conn.scalar(select(SyncCursor.cursor)) == "v0"
        assert conn.scalar(select(func.count()).select_from(StagedPerson)) == 0
    run = RunLedger(store_engine).get(result.run_id)
    assert run.status == "succeeded"
    assert run.counts["created"] == 20


def test_a_second_run_over_an_unchanged_org_writes_nothing(store_engine):
    hr = small_org(20)
    sync(store_engine, hr)
    before = {emp: p.updated_at for emp, p in people(store_engine).items()}
    result = sync(store_engine, hr, full=True)
    assert result.counts["unchanged"] == 20
    assert result.counts["created"] == result.counts["updated"] == result.counts["deactivated"] == 0
    assert {emp: p.updated_at for emp, p in people(store_engine).items()} == before


def test_an_update_is_written_and_previewed_with_its_fields(store_engine):
    hr = small_org(20)
    sync(store_engine, hr)
    hr.put(**{**_fields(hr.people["8"]), "title": "Staff Engineer", "identities": {"salesforce": "005NEW"}})
    result = sync(store_engine, hr, full=True)
    assert result.counts["updated"] == 1
    assert result.preview.updated[0].employee_id == "8"
    assert set(result.preview.updated[0].fields) == {"title", "identities"}
    assert people(store_engine)["8"].title == "Staff Engineer"
    assert ("8", "salesforce", "005NEW") in identities(store_engine)
    assert ("8", "salesforce", "005P8") not in identities(store_engine)


def test_people_missing_from_a_full_sync_are_deactivated_never_deleted_and_come_back_on_rehire(store_engine):
    hr = small_org(30)
    sync(store_engine, hr)
    gone = hr.people.pop("12")
    result = sync(store_engine, hr, full=True)
    assert result.counts["deactivated"] == 1
    stored = people(store_engine)["12"]
    assert stored.status == "inactive"
    assert stored.deactivated_at is not None
    hr.people["12"] = gone
    result = sync(store_engine, hr, full=True)
    assert result.counts["reactivated"] == 1
    stored = people(store_engine)["12"]
    assert stored.status == "active"
    assert stored.deactivated_at is None


def test_mass_deactivation_is_guarded_and_writes_nothing_until_forced(store_engine):
    hr = small_org(30)
    sync(store_engine, hr)
    for emp in [str(i) for i in range(10, 20)]:
        hr.people.pop(emp)
    hr.put(**{**_fields(hr.people["4"]), "title": "Changed"})
    result = sync(store_engine, hr, full=True)
    assert result.status == "guarded"
    assert result.error.guard == "max_deactivate_ratio"
    assert "10 of 30 active people" in str(result.error)
    stored = people(store_engine)
    assert all(p.status == "active" for p in stored.values())
    assert stored["4"].title == "Engineer"
    assert RunLedger(store_engine).get(result.run_id).status == "guarded"
    forced = sync(store_engine, hr, full=True, force=True)
    assert forced.status == "succeeded"
    assert forced.counts["deactivated"] == 10


def test_an_empty_source_never_deactivates_even_with_force(store_engine):
    hr = small_org(10)
    sync(store_engine, hr)
    hr.people.clear()
    result = sync(store_engine, hr, full=True, force=True)
    assert result.status == "guarded"
    assert result.error.guard == "empty_source"
    assert all(p.status == "active" for p in people(store_engine).values())


def test_mass_manager_change_is_guarded(store_engine):
    hr = small_org(30)
    sync(store_engine, hr)
    for i in range(4, 16):
        hr.put(**{**_fields(hr.people[str(i)]), "manager_id": "1"})
    result = sync(store_engine, hr, full=True)
    assert result.status == "guarded"
    assert result.error.guard == "max_manager_change_ratio"
    assert people(store_engine)["5"].manager_employee_id == "3"


def test_dry_run_shows_the_diff_and_writes_nothing(store_engine):
    hr = small_org(20)
    sync(store_engine, hr)
    hr.people.pop("9")
    hr.put(employee_id="99", email="new@acme.test", display_name="New Person", manager_id="2")
    result = sync(store_engine, hr, full=True, dry_run=True)
    assert result.status == "succeeded"
    assert result.dry_run
    assert [c.employee_id for c in result.preview.created] == ["99"]
    assert [c.employee_id for c in result.preview.deactivated] == ["9"]
    stored = people(store_engine)
    assert "99" not in stored
    assert stored["9"].status == "active"
    with store_engine.connect() as conn:
        assert conn.scalar(select(SyncCursor.cursor)) == "v0"
        assert conn.scalar(select(func.count()).select_from(StagedPerson)) == 0
    assert RunLedger(store_engine).get(result.run_id).dry_run


def test_duplicate_emails_are_rejected_with_a_reason_and_the_holder_keeps_it(store_engine):
    hr = small_org(10)
    sync(store_engine, hr)
    hr.put(employee_id="50", email="P5@acme.test", display_name="Impostor", manager_id="2")
    hr.put(employee_id="51", email="twin@acme.test", display_name="Twin A", manager_id="2")
    hr.put(employee_id="52", email="twin@acme.test", display_name="Twin B", manager_id="2")
    result = sync(store_engine, hr, full=True)
    reasons = {r["record_key"]: r["reason"] for r in result.preview.rejected}
    assert "already belongs to employee 5" in reasons["50"]
    assert "also given to employee 51" in reasons["52"]
    stored = people(store_engine)
    assert "50" not in stored
    assert "52" not in stored
    assert stored["51"].email == "twin@acme.test"
    rejected = {r.record_key: r.reason for r in RunLedger(store_engine).get(result.run_id).rejections}
    assert set(rejected) == {"50", "52"}


def test_manager_cycles_are_reported_not_stored(store_engine):
    hr = small_org(10)
    sync(store_engine, hr)
    hr.put(**{**_fields(hr.people["2"]), "manager_id": "4"})
    result = sync(store_engine, hr, full=True)
    assert result.status == "succeeded"
    assert result.counts["manager_cycles"] == 1
    assert sorted(result.preview.cycles[0]) == ["2", "4"]
    stored = people(store_engine)
    assert stored["2"].manager_employee_id is None or stored["4"].manager_employee_id is None
    assert "manager_cycle" in stored["2"].flags
    warnings = [
        r for r in RunLedger(store_engine).get(result.run_id).rejections if "manager cycle" in r.reason
    ]
    assert {w.record_key for w in warnings} == {"2", "4"}


def test_missing_and_terminated_managers_are_flagged_and_the_person_still_synced(store_engine):
    hr = small_org(10)
    hr.put(**{**_fields(hr.people["5"]), "manager_id": "404"})
    sync(store_engine, hr)
    assert people(store_engine)["5"].flags == ["manager_missing"]
    hr.put(**{**_fields(hr.people["2"]), "status": PersonStatus.TERMINATED})
    result = sync(store_engine, hr, full=True)
    stored = people(store_engine)
    assert stored["4"].status == "active"
    assert stored["4"].flags == ["manager_inactive"]
    assert result.counts["manager_inactive"] == len([p for p in hr.people.values() if p.manager_id == "2"])


def test_bad_rows_are_rejected_recorded_and_never_deactivate_their_person(store_engine):
    hr = small_org(10)
    sync(store_engine, hr)
    bad = hr.people.pop("6")
    hr.extra.append(RecordRejected(bad.employee_id, "`hireDate` is not a date: '31/02/2020'"))
    result = sync(store_engine, hr, full=True)
    assert result.counts["rejected"] == 1
    assert result.counts["deactivated"] == 0
    assert people(store_engine)["6"].status == "active"
    rejected = RunLedger(store_engine).get(result.run_id).rejections
    assert rejected[0].reason == "`hireDate` is not a date: '31/02/2020'"


def test_incremental_applies_changes_and_deletions_and_moves_the_cursor(store_engine):
    hr = small_org(20)
    sync(store_engine, hr)
    hr.change("7", title="Lead")
    hr.changed.append(PersonRemoved("8"))
    result = sync(store_engine, hr)
    assert result.mode == "incremental"
    assert hr.reads == [None, "v0"]
    assert result.counts["updated"] == 1
    assert result.counts["deactivated"] == 1
    stored = people(store_engine)
    assert stored["7"].title == "Lead"
    assert stored["8"].status == "inactive"
    assert stored["9"].status == "active"
    with store_engine.connect() as conn:
        assert conn.scalar(select(SyncCursor.cursor)) == "v1"


def test_a_crash_mid_stream_writes_nothing_and_keeps_the_cursor_so_the_rerun_resumes(store_engine):
    hr = small_org(20)
    sync(store_engine, hr)
    hr.change("7", title="Lead")
    hr.change("9", title="Lead")
    hr.fail_after = 1
    with pytest.raises(RuntimeError, match="mid-stream"):
        sync(store_engine, hr)
    assert people(store_engine)["7"].title == "Engineer"
    with store_engine.connect() as conn:
        assert conn.scalar(select(SyncCursor.cursor)) == "v0"
        assert conn.scalar(select(func.count()).select_from(StagedPerson)) == 0
    failed = RunLedger(store_engine).recent(limit=1)[0]
    assert failed.status == "failed"
    hr.fail_after = None
    result = sync(store_engine, hr)
    assert hr.reads[-1] == "v0"
    assert result.counts["updated"] == 2
    assert people(store_engine)["9"].title == "Lead"


def test_duplicate_employee_ids_in_one_source_are_rejected(store_engine):
    hr = small_org(5)
    hr.extra.append(hr.people["4"])
    result = sync(store_engine, hr)
    assert result.counts["rejected"] == 1
    assert "lists this employee id twice" in result.preview.rejected[0]["reason"]


def _fields(record):
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def test_mass_termination_marked_by_the_source_is_guarded_too(store_engine):
    hr = small_org(30)
    sync(store_engine, hr)
    for i in range(10, 16):
        hr.put(**{**_fields(hr.people[str(i)]), "status": PersonStatus.TERMINATED})
    result = sync(store_engine, hr, full=True)
    assert result.status == "guarded"
    assert "6 marked inactive or terminated" in str(result.error)
    assert all(p.status == "active" for p in people(store_engine).values())
    forced = sync(store_engine, hr, full=True, force=True)
    assert forced.counts["terminated"] == 6
    assert people(store_engine)["12"].status == "terminated"


def test_a_cycle_fixed_in_the_hcm_is_restored_by_the_next_full_sync(store_engine):
    hr = small_org(10)
    sync(store_engine, hr)
    hr.put(**{**_fields(hr.people["2"]), "manager_id": "4"})
    sync(store_engine, hr, full=True)
    hr.put(**{**_fields(hr.people["2"]), "manager_id": "1"})
    result = sync(store_engine, hr, full=True)
    assert result.counts["manager_cycles"] == 0
    stored = people(store_engine)
    assert stored["2"].manager_employee_id == "1"
    assert stored["4"].manager_employee_id == "2"
    assert stored["2"].flags == stored["4"].flags == []
