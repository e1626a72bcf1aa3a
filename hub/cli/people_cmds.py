"""`okrhub people`: who is in the store, with manager, department, status, flags and identities."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from hub.store.models import Identity, Person

STATUS_STYLE = {"active": "green", "inactive": "dim", "terminated": "red"}


def people_command(
    engine: Engine,
    *,
    status: str | None = "active",
    flagged: bool = False,
    search: str | None = None,
    limit: int = 50,
    json_output: bool = False,
    console: Console | None = None,
) -> int:
    """List people (active by default); `flagged` shows only those with a manager flag."""
    out = console or Console()
    manager = aliased(Person)
    query = (
        select(Person, manager.display_name.label("manager_name"))
        .outerjoin(manager, manager.employee_id == Person.manager_employee_id)
        .order_by(Person.employee_id)
    )
    count_query = select(func.count()).select_from(Person)
    if status and status != "all":
        query = query.where(Person.status == status)
        count_query = count_query.where(Person.status == status)
    if search:
        pattern = f"%{search.lower()}%"
        condition = (
            func.lower(Person.display_name).like(pattern)
            | (Person.email_lower.like(pattern))
            | (Person.employee_id == search)
        )
        query = query.where(condition)
        count_query = count_query.where(condition)
    with Session(engine) as conn:
        if flagged:
            # Flags are a JSON list, which SQLite and PostgreSQL filter differently: filter here.
            rows = [row for row in conn.execute(query) if row[0].flags]
            total = len(rows)
            rows = rows[:limit] if limit else rows
        else:
            rows = list(conn.execute(query.limit(limit) if limit else query).all())
            total = conn.scalar(count_query) or 0
        identities: dict[int, dict[str, str]] = defaultdict(dict)
        for person_id, system, value in conn.execute(
            select(Identity.person_id, Identity.system, Identity.external_id).where(
                Identity.person_id.in_([row[0].id for row in rows])
            )
        ):
            identities[person_id][system] = value
    people = [_as_dict(row[0], row[1], identities[row[0].id]) for row in rows]
    if json_output:
        out.print_json(json.dumps({"total": total, "people": people}))
        return 0
    showing = f", showing {len(people)}" if total > len(people) else ""
    table = Table(title=f"people ({status or 'all'}: {total:,}{showing})", title_justify="left")
    for column in ("employee id", "name", "title", "department", "manager", "status", "flags", "identities"):
        table.add_column(column)
    for person in people:
        manager_text = (
            f"{person['manager_name'] or '?'} ({person['manager_id']})" if person["manager_id"] else "-"
        )
        table.add_row(
            person["employee_id"],
            Text(person["name"] or "-"),
            Text(person["title"] or "-"),
            Text(person["department"] or "-"),
            Text(manager_text),
            Text(person["status"], style=STATUS_STYLE.get(person["status"], "")),
            Text(", ".join(person["flags"]), style="yellow"),
            Text(" ".join(f"{k}={v}" for k, v in sorted(person["identities"].items()) if k != "email")),
        )
    out.print(table)
    return 0


def _as_dict(person: Person, manager_name: str | None, identities: dict[str, str]) -> dict[str, Any]:
    return {
        "employee_id": person.employee_id,
        "name": person.display_name,
        "email": person.email,
        "title": person.title,
        "department": person.department_key,
        "manager_id": person.manager_employee_id,
        "manager_name": manager_name,
        "cost_centre": person.cost_centre,
        "location": person.location,
        "job_level": person.job_level,
        "hire_date": person.hire_date.isoformat() if person.hire_date else None,
        "termination_date": person.termination_date.isoformat() if person.termination_date else None,
        "status": person.status,
        "flags": list(person.flags or []),
        "attributes": person.attributes or {},
        "identities": identities,
        "source_connection": person.source_connection,
    }
