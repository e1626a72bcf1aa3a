"""Who owns what: people (by employee id or email) and departments, looked up in bulk.

OKR files and the CLI name people the way admins know them, by employee id or by email; the
store keeps the employee id (the HCM's key, which never changes when an email does).

Example:
    ```python
    found = resolve_people(conn, ["1001", "Carmen.Xu.1002@acme.example"])
    found["carmen.xu.1002@acme.example"].employee_id   # "1002" (emails are matched case-blind)
    ```
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from hub.store.bulk import chunked
from hub.store.models import Department, Person


@dataclass(frozen=True, kw_only=True, slots=True)
class PersonRef:
    """A person as OKR screens show them."""

    employee_id: str
    name: str
    status: str


def ref_key(ref: str) -> str:
    """How a reference is looked up: emails case-folded, employee ids as written."""
    ref = ref.strip()
    return ref.lower() if "@" in ref else ref


def resolve_people(conn: Connection, refs: Iterable[str]) -> dict[str, PersonRef]:
    """The people `refs` name (employee ids or emails), keyed by `ref_key(ref)`; unknown ones are absent."""
    keys = {ref_key(ref) for ref in refs}
    emails = sorted(key for key in keys if "@" in key)
    ids = sorted(key for key in keys if "@" not in key)
    found: dict[str, PersonRef] = {}
    columns = (Person.employee_id, Person.display_name, Person.email_lower, Person.status)
    for batch in chunked(ids):
        for employee_id, name, _email, status in conn.execute(
            select(*columns).where(Person.employee_id.in_(batch))
        ):
            found[employee_id] = PersonRef(employee_id=employee_id, name=name or employee_id, status=status)
    for batch in chunked(emails):
        # Two people may share an email in a messy HCM; prefer the active one, then the lowest id.
        rows = conn.execute(
            select(*columns).where(Person.email_lower.in_(batch)).order_by(Person.employee_id)
        ).all()
        for employee_id, name, email, status in sorted(rows, key=lambda r: r.status != "active"):
            if email is not None:
                found.setdefault(
                    email, PersonRef(employee_id=employee_id, name=name or employee_id, status=status)
                )
    return found


def people_names(conn: Connection, employee_ids: Iterable[str]) -> dict[str, str]:
    """Display names by employee id (the id itself for a person without a name)."""
    return {ref: person.name for ref, person in resolve_people(conn, employee_ids).items()}


def department_names(conn: Connection, keys: Iterable[str]) -> dict[str, str]:
    """Department names by department key, for the keys that exist."""
    found: dict[str, str] = {}
    for batch in chunked(sorted(set(keys))):
        for key, name in conn.execute(
            select(Department.key, Department.name).where(Department.key.in_(batch))
        ):
            found[key] = name
    return found


def resolve_departments(conn: Connection, refs: Iterable[str]) -> dict[str, str | None]:
    """The department key each ref names: a key as is, else a name (case-blind) that one department has.

    Names make a file portable across HCMs (BambooHR keys departments by name, Workday by id). A
    name two departments share resolves to None (ambiguous); an unknown ref is absent.
    """
    wanted = set(refs)
    found: dict[str, str | None] = {}
    for batch in chunked(sorted(wanted)):
        found.update(
            {key: key for key in conn.scalars(select(Department.key).where(Department.key.in_(batch)))}
        )
    by_name: dict[str, list[str]] = {}
    lowered = sorted({ref.lower() for ref in wanted - set(found)})
    for batch in chunked(lowered):
        for key, name in conn.execute(
            select(Department.key, Department.name).where(func.lower(Department.name).in_(batch))
        ):
            by_name.setdefault(name.lower(), []).append(key)
    for ref in wanted - set(found):
        keys = by_name.get(ref.lower())
        if keys:
            found[ref] = keys[0] if len(keys) == 1 else None
    return found


def department_keys(conn: Connection) -> list[str]:
    """Every department key and name, sorted (for did-you-mean suggestions)."""
    return sorted({part for row in conn.execute(select(Department.key, Department.name)) for part in row})
