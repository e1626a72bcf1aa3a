"""A person as the org sync stores it: a JSON payload, its content hash, and the people-table row."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from hub.contracts import PersonRecord

PAYLOAD_FIELDS: tuple[str, ...] = (
    "email",
    "first_name",
    "last_name",
    "display_name",
    "title",
    "department_key",
    "manager_id",
    "cost_centre",
    "location",
    "job_level",
    "hire_date",
    "termination_date",
    "status",
    "attributes",
    "identities",
)
"""Fields of a payload a person can change in; `changed_fields` compares these."""


def person_payload(record: PersonRecord) -> dict[str, Any]:
    """The JSON-ready payload of one source person (dates as ISO text)."""
    return {
        "employee_id": record.employee_id,
        "email": record.email,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "display_name": record.display_name,
        "title": record.title,
        "department": record.department,
        "department_key": record.department_id or record.department,
        "manager_id": record.manager_id,
        "cost_centre": record.cost_centre,
        "location": record.location,
        "job_level": record.job_level,
        "hire_date": record.hire_date.isoformat() if record.hire_date else None,
        "termination_date": record.termination_date.isoformat() if record.termination_date else None,
        "status": record.status.value,
        "attributes": dict(record.attributes),
        "identities": dict(record.identities),
    }


def content_hash(payload: dict[str, Any]) -> str:
    """A stable hash of a payload: equal hashes mean nothing the source sends has changed."""
    return hashlib.blake2b(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def people_row(
    payload: dict[str, Any],
    *,
    content: str,
    connection: str,
    run_id: int,
    now: datetime,
    flags: list[str],
    manager_id: str | None,
) -> dict[str, Any]:
    """The `people` row for a staged payload (manager may differ from the payload: a cycle clears it)."""
    email = payload["email"]
    status = payload["status"]
    return {
        "employee_id": payload["employee_id"],
        "source_connection": connection,
        "email": email,
        "email_lower": email.lower() if email else None,
        "first_name": payload["first_name"],
        "last_name": payload["last_name"],
        "display_name": payload["display_name"],
        "title": payload["title"],
        "department_key": payload["department_key"],
        "manager_employee_id": manager_id,
        "cost_centre": payload["cost_centre"],
        "location": payload["location"],
        "job_level": payload["job_level"],
        "hire_date": _date(payload["hire_date"]),
        "termination_date": _date(payload["termination_date"]),
        "status": status,
        "flags": flags,
        "attributes": payload["attributes"],
        "content_hash": content,
        "first_seen_at": now,
        "updated_at": now,
        "deactivated_at": None if status == "active" else now,
        "last_seen_run_id": run_id,
    }


def changed_fields(payload: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """Names of the payload fields that differ from what `stored_payload` says was stored."""
    return [name for name in PAYLOAD_FIELDS if payload.get(name) != stored.get(name)]


def stored_payload(row: Any, identities: dict[str, str]) -> dict[str, Any]:
    """A `people` row shaped as a payload, to compare with a new one."""
    return {
        "email": row.email,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "display_name": row.display_name,
        "title": row.title,
        "department_key": row.department_key,
        "manager_id": row.manager_employee_id,
        "cost_centre": row.cost_centre,
        "location": row.location,
        "job_level": row.job_level,
        "hire_date": row.hire_date.isoformat() if row.hire_date else None,
        "termination_date": row.termination_date.isoformat() if row.termination_date else None,
        "status": row.status,
        "attributes": row.attributes or {},
        "identities": identities,
    }


@dataclass(slots=True)
class Existing:
    """What the store holds of one person, enough to classify a source record without a query."""

    id: int
    content_hash: str
    status: str
    manager_id: str | None
    email_lower: str | None
    flags: tuple[str, ...]
    source_connection: str


def load_existing(conn: Connection) -> dict[str, Existing]:
    """Every stored person by employee id (about 200 bytes each: 20 MB for 100,000 people).

    Read through the driver, without per-row type processing: this runs on every sync over
    the whole table.
    """
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(
            "SELECT employee_id, id, content_hash, status, manager_employee_id, email_lower, flags, "
            "source_connection FROM people"
        )
        existing: dict[str, Existing] = {}
        while rows := cursor.fetchmany(10_000):
            for emp, pk, digest, status, manager, email, flags, source in rows:
                if flags.__class__ is str:
                    flags = orjson.loads(flags)  # SQLite keeps JSON as text; psycopg decodes JSONB
                existing[emp] = Existing(
                    pk, digest, status, manager, email, tuple(flags) if flags else (), source
                )
    finally:
        cursor.close()
    return existing
