"""Write a checked plan: people, identities, deactivations, flags, departments and the cursor.

Everything here runs inside the run's one transaction, so a crash or an error leaves the store
exactly as it was, and the cursor only moves when every write has landed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, select, update

from hub.contracts import DepartmentRecord
from hub.jobs.org_sync.plan import OrgPlan
from hub.jobs.org_sync.records import people_row
from hub.store.bulk import CHUNK, chunked, upsert
from hub.store.models import Department, Identity, Person, StagedPerson, SyncCursor

PEOPLE_STREAM = "people"


def staged_payloads(conn: Connection, run_id: int) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    """The run's staged rows in chunks of (employee id, content hash, payload), by keyset paging."""
    last = ""
    while True:
        rows = conn.execute(
            select(StagedPerson.employee_id, StagedPerson.content_hash, StagedPerson.payload)
            .where(StagedPerson.run_id == run_id, StagedPerson.employee_id > last)
            .order_by(StagedPerson.employee_id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        yield [(row[0], row[1], row[2]) for row in rows]
        last = rows[-1][0]


def apply_plan(
    conn: Connection,
    plan: OrgPlan,
    *,
    run_id: int,
    connection: str,
    hcm_system: str,
    cursor: str | None,
    now: datetime,
) -> dict[str, int]:
    """Apply `plan`; return the department counts it adds to the run's counts."""
    in_cycle = plan.in_cycle
    for chunk in staged_payloads(conn, run_id):
        rows = [
            people_row(
                payload,
                content=digest,
                connection=connection,
                run_id=run_id,
                now=now,
                flags=list(plan.flags.get(emp, ())),
                manager_id=None if emp in in_cycle else payload["manager_id"],
            )
            | ({"content_hash": ""} if emp in in_cycle else {})
            for emp, digest, payload in chunk
            if emp in plan.changes
        ]
        upsert(
            conn,
            Person.__table__,  # type: ignore[arg-type]
            rows,
            key=["employee_id"],
            update=[c for c in rows[0] if c != "first_seen_at"] if rows else None,
            overrides=lambda excluded: {
                "deactivated_at": case(
                    (excluded.status == "active", None),
                    else_=func.coalesce(Person.__table__.c.deactivated_at, excluded.deactivated_at),
                )
            },
        )
        _write_identities(
            conn,
            [(emp, payload) for emp, _, payload in chunk if emp in plan.changes],
            hcm_system,
            plan.transfers,
            {emp: plan.changes[emp].kind == "created" for emp, _, _ in chunk if emp in plan.changes},
        )
    _deactivate(conn, plan.deactivate, now)
    _cut_cycles(conn, [emp for emp in in_cycle if emp not in plan.changes], now)
    if plan.flag_updates:
        conn.execute(
            update(Person).where(Person.employee_id == bindparam("emp")).values(flags=bindparam("new_flags")),
            [{"emp": emp, "new_flags": list(flags)} for emp, flags in plan.flag_updates.items()],
            execution_options={"synchronize_session": False},
        )
    department_counts = _write_departments(conn, plan.stage.departments, full=plan.mode == "full", now=now)
    _save_cursor(conn, connection, cursor, full=plan.mode == "full", run_id=run_id, now=now)
    conn.execute(delete(StagedPerson).where(StagedPerson.run_id == run_id))
    return department_counts


def _write_identities(
    conn: Connection,
    people: list[tuple[str, dict[str, Any]]],
    hcm_system: str,
    transfers: set[tuple[str, str]],
    created: dict[str, bool],
) -> None:
    if not people:
        return
    ids = dict(
        conn.execute(
            select(Person.employee_id, Person.id).where(Person.employee_id.in_([emp for emp, _ in people]))
        ).all()
    )
    wanted: list[dict[str, Any]] = []
    moving: dict[str, list[str]] = {}
    for emp, payload in people:
        claims = {hcm_system: emp, **payload["identities"]}
        if payload["email"]:
            claims["email"] = payload["email"].lower()
        for system, value in claims.items():
            wanted.append({"person_id": ids[emp], "system": system, "external_id": value})
            if (system, value) in transfers:
                moving.setdefault(system, []).append(value)
    known = [ids[emp] for emp, _ in people if not created.get(emp)]
    if known:
        conn.execute(delete(Identity).where(Identity.person_id.in_(known)))
    # An identity given up by someone inactive or leaving moves to its new holder.
    for system, values in moving.items():
        conn.execute(delete(Identity).where(Identity.system == system, Identity.external_id.in_(values)))
    conn.execute(insert(Identity), wanted)


def _deactivate(conn: Connection, employee_ids: list[str], now: datetime) -> None:
    for batch in chunked(employee_ids):
        conn.execute(
            update(Person)
            .where(and_(Person.employee_id.in_(batch), Person.status == "active"))
            # Clearing the hash makes a later reappearance a change (a rehire), never "unchanged".
            .values(status="inactive", deactivated_at=now, updated_at=now, flags=[], content_hash="")
        )


def _cut_cycles(conn: Connection, employee_ids: list[str], now: datetime) -> None:
    for batch in chunked(employee_ids):
        conn.execute(
            update(Person)
            .where(Person.employee_id.in_(batch))
            # An empty hash makes the next full sync read them again and re-check the cycle.
            .values(manager_employee_id=None, flags=["manager_cycle"], updated_at=now, content_hash="")
        )


def _write_departments(
    conn: Connection, departments: dict[str, DepartmentRecord], *, full: bool, now: datetime
) -> dict[str, int]:
    stored = {
        row.key: row
        for row in conn.execute(
            select(
                Department.key,
                Department.name,
                Department.parent_key,
                Department.cost_centre,
                Department.manager_employee_id,
                Department.active,
            )
        )
    }
    rows = []
    created = updated = 0
    for key, dept in departments.items():
        row = {
            "key": key,
            "name": dept.name,
            "parent_key": dept.parent_key,
            "cost_centre": dept.cost_centre,
            "manager_employee_id": dept.manager_id,
            "active": True,
            "updated_at": now,
        }
        before = stored.get(key)
        if before is None:
            created += 1
        elif (
            before.name,
            before.parent_key,
            before.cost_centre,
            before.manager_employee_id,
            before.active,
        ) != (
            dept.name,
            dept.parent_key,
            dept.cost_centre,
            dept.manager_id,
            True,
        ):
            updated += 1
        else:
            continue
        rows.append(row)
    for batch in chunked(rows):
        upsert(conn, Department.__table__, batch, key=["key"])  # type: ignore[arg-type]
    gone = [key for key, row in stored.items() if full and row.active and key not in departments]
    for batch in chunked(gone):
        conn.execute(update(Department).where(Department.key.in_(batch)).values(active=False, updated_at=now))
    return {
        "departments_created": created,
        "departments_updated": updated,
        "departments_deactivated": len(gone),
    }


def _save_cursor(
    conn: Connection, connection: str, cursor: str | None, *, full: bool, run_id: int, now: datetime
) -> None:
    row = {
        "connection": connection,
        "stream": PEOPLE_STREAM,
        "cursor": cursor,
        "updated_at": now,
        "run_id": run_id,
    }
    if full:
        row["last_full_at"] = now
    upsert(conn, SyncCursor.__table__, [row], key=["connection", "stream"])  # type: ignore[arg-type]
