"""Turning a vendor's row into a `PersonRecord`, the same way for every HCM.

Vendors disagree on small things (BambooHR sends numbers as strings and empty dates as
`0000-00-00`; Workday RaaS sends booleans as `"1"`/`"0"` and omits empty values); each
connector maps its quirks through these helpers so the hub sees one shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from hub.contracts import FieldMap, PersonRecord, PersonStatus
from hub.errors import RecordRejected

EMPTY_DATES = frozenset({"", "0000-00-00", "0000-00-00T00:00:00+00:00", "0000-00-00 00:00:00"})

ACTIVE_WORDS = frozenset({"active", "1", "true", "yes", "employed", "on leave", "leave of absence"})
TERMINATED_WORDS = frozenset({"terminated", "term", "deceased", "retired", "separated"})


def to_text(value: Any) -> str | None:
    """A vendor value as stripped text; None, empty strings and empty containers become None."""
    if type(value) is str:  # the common case, first: vendors send text
        return value.strip() or None
    if value is None or isinstance(value, (list, dict)) and not value:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dict):
        # A Workday reference {id, descriptor, href}: the descriptor is what people read.
        value = value.get("descriptor") or value.get("id")
        if value is None:
            return None
    text = str(value).strip()
    return text or None


def to_date(value: Any, *, field: str) -> date | None:
    """A vendor date (`YYYY-MM-DD`, an ISO timestamp, `0000-00-00` for empty) as a `date`.

    Raises `ValueError` naming the field for anything else.
    """
    text = to_text(value)
    if text is None or text in EMPTY_DATES:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise ValueError(f"`{field}` is not a date: {text!r}") from None


def to_status(value: Any, *, termination_date: date | None) -> PersonStatus:
    """A vendor employment status mapped onto the hub's three words.

    Unknown words count as inactive rather than active: deactivating by mistake is undone by the
    next sync, while keeping a leaver active leaks access.
    """
    text = (to_text(value) or "").lower()
    if not text:
        return PersonStatus.TERMINATED if termination_date else PersonStatus.ACTIVE
    if text in ACTIVE_WORDS:
        return PersonStatus.ACTIVE
    if text in TERMINATED_WORDS:
        return PersonStatus.TERMINATED
    if text in {"inactive", "0", "false", "no"}:
        return PersonStatus.TERMINATED if termination_date else PersonStatus.INACTIVE
    return PersonStatus.INACTIVE


def build_person(
    row: Mapping[str, Any],
    fields: FieldMap,
    *,
    status_of: Callable[[Any, date | None], PersonStatus] | None = None,
) -> PersonRecord | RecordRejected:
    """The `PersonRecord` a vendor row describes under `fields`, or why it cannot be one."""
    hub = fields.fields
    employee_id = to_text(row.get(hub.get("employee_id", "id")))
    if employee_id is None:
        key = to_text(row.get("id")) or to_text(row.get(hub.get("email", ""))) or "<row without an id>"
        return RecordRejected(key, f"no employee id in vendor field `{hub.get('employee_id', 'id')}`")

    def text(name: str) -> str | None:
        vendor = hub.get(name)
        return to_text(row.get(vendor)) if vendor else None

    try:
        hire = to_date(row.get(hub["hire_date"]), field=hub["hire_date"]) if "hire_date" in hub else None
        term = (
            to_date(row.get(hub["termination_date"]), field=hub["termination_date"])
            if "termination_date" in hub
            else None
        )
    except ValueError as exc:
        return RecordRejected(employee_id, str(exc))
    raw_status = row.get(hub["status"]) if "status" in hub else None
    status = (status_of or _default_status)(raw_status, term)
    email = text("email")
    if email is not None and ("@" not in email or " " in email):
        return RecordRejected(employee_id, f"`{hub['email']}` is not an email address: {email!r}")
    manager_id = text("manager_id")
    return PersonRecord(
        employee_id=employee_id,
        email=email,
        first_name=text("first_name"),
        last_name=text("last_name"),
        display_name=text("display_name") or _join(text("first_name"), text("last_name")),
        title=text("title"),
        department=text("department"),
        department_id=text("department_id"),
        manager_id=manager_id if manager_id not in (None, "0", employee_id) else None,
        cost_centre=text("cost_centre"),
        location=text("location"),
        job_level=text("job_level"),
        hire_date=hire,
        termination_date=term,
        status=status,
        attributes={
            name: value for name, vendor in fields.attributes.items() if (value := to_text(row.get(vendor))) is not None
        },
        identities={
            system: value
            for system, vendor in fields.identities.items()
            if (value := to_text(row.get(vendor))) is not None
        },
    )


def _default_status(value: Any, termination_date: date | None) -> PersonStatus:
    return to_status(value, termination_date=termination_date)


def _join(first: str | None, last: str | None) -> str | None:
    joined = " ".join(part for part in (first, last) if part)
    return joined or None
