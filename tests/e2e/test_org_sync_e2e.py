"""Org sync end to end: real connectors over HTTP to the emulators, into SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from hub.contracts import Capability
from hub.http.stats import CallStats
from hub.jobs.org_sync import OrgSyncOptions, run_org_sync
from hub.store.ledger import RunLedger
from hub.store.models import Identity, Person, SyncCursor
from sandbox.server import Fault


def sync(runtime, **options):
    settings = runtime.loaded.config.org_sync
    stats = CallStats()
    with runtime.connector(settings.connection, stats, capability=Capability.ORG_SOURCE) as source:
        return run_org_sync(
            runtime.engine,
            connection=settings.connection,
            source=source,
            settings=settings,
            stats=stats,
            options=OrgSyncOptions(**options),
        )


def emulator(runtime, sandbox):
    return sandbox.bamboohr if runtime.loaded.config.org_sync.connection == "bamboohr" else sandbox.workday


def stored(runtime) -> dict[str, Person]:
    with runtime.engine.connect() as conn:
        return {p.employee_id: p for p in conn.execute(select(Person)).all()}


def assert_store_matches(runtime, org):
    people = stored(runtime)
    assert set(people) == set(org.employees)
    for emp in org.employees.values():
        person = people[emp.employee_id]
        assert person.status == ("active" if emp.is_active else "terminated"), emp.employee_id
        assert person.manager_employee_id == emp.manager_id
        assert person.email == emp.email
        assert person.title == emp.title
        assert person.location == emp.location
        assert person.cost_centre == emp.cost_centre


def test_full_then_incremental_sync_mirrors_the_hcm(runtime, sandbox, org):
    first = sync(runtime)
    assert first.status == "succeeded", first.error
    assert first.counts["created"] == len(org.employees)
    assert_store_matches(runtime, org)
    with runtime.engine.connect() as conn:
        salesforce = conn.scalar(
            select(func.count()).select_from(Identity).where(Identity.system == "salesforce")
        )
    assert salesforce == len(org.employees)

    changed = org.mutate(0.03, seed=9)
    leaver = next(e for e in changed)
    org.terminate(leaver)
    second = sync(runtime)
    assert second.mode == "incremental"
    assert second.status == "succeeded", second.error
    assert second.counts["updated"] == len(changed)
    assert second.counts["read"] == len(changed)
    assert_store_matches(runtime, org)

    third = sync(runtime)
    assert third.counts["created"] == third.counts["updated"] == 0


def test_a_rehire_reactivates_the_same_person(runtime, sandbox, org):
    leaver = next(e.employee_id for e in org.employees.values() if not e.is_active)
    sync(runtime)
    org.rehire(leaver)
    result = sync(runtime, full=True)
    assert result.counts["reactivated"] == 1
    assert stored(runtime)[leaver].status == "active"


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 429, "retry_after": "0"},
        {"kind": "status", "status": 500, "times": 2},
        {"kind": "status", "status": 503, "retry_after": "0"},
        {"kind": "reset"},
        {"kind": "short_body"},
        {"kind": "delay", "delay_seconds": 3.0},
    ],
    ids=["429", "500", "503", "reset", "short_body", "slow"],
)
def test_transient_faults_are_retried_and_the_sync_completes(runtime, sandbox, org, fault):
    app = emulator(runtime, sandbox)
    app.faults.inject(Fault(**fault, path="reports/custom|customreport2"))
    result = sync(runtime)
    assert result.status == "succeeded", result.error
    assert result.retries >= 1
    assert_store_matches(runtime, org)
    run = RunLedger(runtime.engine).get(result.run_id)
    assert run.retries == result.retries
    assert run.api_calls == result.api_calls


def test_a_truncated_response_fails_clearly_and_writes_nothing(runtime, sandbox, org):
    sync(runtime)
    before = stored(runtime)
    org.mutate(0.05, seed=2)
    emulator(runtime, sandbox).faults.inject(Fault(kind="truncate_json", path="reports/custom|customreport2"))
    result = sync(runtime, full=True)
    assert result.status == "failed"
    assert result.error is not None
    assert "SourceDataError" in result.error.attrs()["type"]
    after = stored(runtime)
    assert {k: v.content_hash for k, v in after.items()} == {k: v.content_hash for k, v in before.items()}
    assert all(p.status == before[k].status for k, p in after.items())


def test_bad_credentials_fail_with_a_recorded_auth_error_and_no_secret(runtime, sandbox, env, monkeypatch):
    app = emulator(runtime, sandbox)
    app.faults.inject(Fault(kind="status", status=401, times=20))
    result = sync(runtime)
    assert result.status == "failed"
    assert result.error.attrs()["type"] == "AuthError"
    run = RunLedger(runtime.engine).get(result.run_id)
    recorded = json.dumps(run.to_dict())
    for secret in env.values():
        assert secret not in recorded
    with runtime.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Person)) == 0
        assert conn.scalar(select(func.count()).select_from(SyncCursor)) == 0


def test_an_empty_source_never_deactivates(runtime, sandbox, org):
    sync(runtime)
    for employee_id in list(org.employees):
        org.delete(employee_id)
    result = sync(runtime, full=True, force=True)
    assert result.status == "guarded"
    assert all(p.status in ("active", "terminated") for p in stored(runtime).values())
    assert sum(p.status == "active" for p in stored(runtime).values()) == sum(
        1 for p in stored(runtime).values() if p.status == "active"
    )


def test_a_stable_org_is_skipped_by_digest_and_a_new_field_map_rebuilds_everyone(
    runtime, sandbox, org, write_config, store_url
):
    from hub.runtime import open_runtime

    sync(runtime)
    again = sync(runtime, full=True)
    assert again.counts["unchanged"] == len(org.employees)
    assert again.counts["updated"] == 0

    # The admin maps one more attribute: every record changes although no vendor row did.
    connection = runtime.loaded.config.org_sync.connection
    path = write_config(connection)
    vendor = "division" if connection == "bamboohr" else "Location"
    path.write_text(path.read_text() + f"  attributes: {{extra: {vendor}}}\n")
    remapped = open_runtime(path, database_url=store_url)
    try:
        result = sync(remapped, full=True)
    finally:
        remapped.engine.dispose()
    assert result.counts["updated"] == len(org.employees)
    assert result.counts["unchanged"] == 0


def test_a_workday_token_that_expires_mid_sync_is_refreshed_and_the_sync_completes(
    write_config, env, store_url, sandbox, org
):
    from hub.runtime import open_runtime

    runtime = open_runtime(write_config("workday"), database_url=store_url)
    try:
        sync(runtime)
        org.mutate(0.05, seed=8)
        sandbox.workday.faults.inject(Fault(kind="expire_token", path="customreport2"))
        issued = sandbox.workday.tokens_issued
        result = sync(runtime, full=True)
        assert result.status == "succeeded", result.error
        assert sandbox.workday.tokens_issued > issued
        assert_store_matches(runtime, org)
    finally:
        runtime.engine.dispose()
