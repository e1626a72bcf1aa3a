"""Turning a vendor's row into a `PersonRecord`, the same way for every HCM.

Vendors disagree on small things (BambooHR sends numbers as strings and empty dates as
`0000-00-00`; Workday RaaS sends booleans as `"1"`/`"0"` and omits empty values); each
connector maps its quirks through these helpers so the hub sees one shape.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import orjson

from hub.contracts import PERSON_FIELDS, FieldMap, PersonRecord, PersonStatus, PersonUnchanged, UnchangedCheck
from hub.errors import RecordRejected

EMPTY_DATES = frozenset({"", "0000-00-00", "0000-00-00T00:00:00+00:00", "0000-00-00 00:00:00"})

ACTIVE_WORDS = frozenset({"active", "1", "true", "yes", "employed", "on leave", "leave of absence"})
TERMINATED_WORDS = frozenset({"terminated", "term", "deceased", "retired", "separated"})


def to_text(value: Any) -> str | None:
    """A vendor value as stripped text; None, empty strings and empty containers become None."""
    if type(value) is str:  # the common case, first: vendors send text
        return value.strip() or None
    if value is None or (isinstance(value, (list, dict)) and not value):
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


_NOT_TEXT = frozenset({"employee_id", "hire_date", "termination_date", "status"})
_TEXT_FIELDS = tuple(name for name in PERSON_FIELDS if name not in _NOT_TEXT)


class PersonBuilder:
    """Turns vendor rows into `PersonRecord`s under one field map, compiled once per read.

    Example:
        ```python
        build = PersonBuilder(fields)
        for row in rows:
            item = build(row)  # a PersonRecord, or a RecordRejected saying why not
        ```
    """

    def __init__(
        self,
        fields: FieldMap,
        *,
        status_of: Callable[[Any, date | None], PersonStatus] | None = None,
        unchanged: UnchangedCheck | None = None,
    ) -> None:
        hub = fields.fields
        self._unchanged = unchanged
        # The field map is part of every digest: a remapped field changes the record even when
        # the vendor row does not.
        self._fingerprint = orjson.dumps(fields.model_dump(), option=orjson.OPT_SORT_KEYS)
        self._id_field = hub.get("employee_id", "id")
        self._email_field = hub.get("email")
        self._text = [(name, hub[name]) for name in _TEXT_FIELDS if name in hub]
        self._hire = hub.get("hire_date")
        self._term = hub.get("termination_date")
        self._status = hub.get("status")
        self._attributes = list(fields.attributes.items())
        self._identities = list(fields.identities.items())
        self._status_of = status_of or _default_status

    def digest(self, row: Mapping[str, Any]) -> str:
        """A digest of the raw row under this field map."""
        raw = orjson.dumps(row, option=orjson.OPT_SORT_KEYS, default=str)
        return hashlib.blake2b(self._fingerprint + raw, digest_size=16).hexdigest()

    def __call__(self, row: Mapping[str, Any]) -> PersonRecord | PersonUnchanged | RecordRejected:
        """The person `row` describes, `PersonUnchanged` when the store has it already, or why not."""
        get = row.get
        employee_id = to_text(get(self._id_field))
        if employee_id is None:
            key = to_text(get("id")) or (to_text(get(self._email_field)) if self._email_field else None)
            return RecordRejected(
                key or "<row without an id>", f"no employee id in vendor field `{self._id_field}`"
            )
        digest = self.digest(row)
        if self._unchanged is not None and self._unchanged(employee_id, digest):
            return PersonUnchanged(employee_id)
        values = {name: to_text(get(vendor)) for name, vendor in self._text}
        try:
            hire = to_date(get(self._hire), field=self._hire) if self._hire else None
            term = to_date(get(self._term), field=self._term) if self._term else None
        except ValueError as exc:
            return RecordRejected(employee_id, str(exc))
        email = values.get("email")
        if email is not None and ("@" not in email or " " in email):
            return RecordRejected(employee_id, f"`{self._email_field}` is not an email address: {email!r}")
        manager_id = values.get("manager_id")
        if manager_id in ("0", employee_id):
            values["manager_id"] = None
        if values.get("display_name") is None:
            values["display_name"] = _join(values.get("first_name"), values.get("last_name"))
        return PersonRecord(
            employee_id=employee_id,
            source_digest=digest,
            hire_date=hire,
            termination_date=term,
            status=self._status_of(get(self._status) if self._status else None, term),
            attributes={
                name: value
                for name, vendor in self._attributes
                if (value := to_text(get(vendor))) is not None
            },
            identities={
                system: value
                for system, vendor in self._identities
                if (value := to_text(get(vendor))) is not None
            },
            **values,
        )


def build_person(
    row: Mapping[str, Any],
    fields: FieldMap,
    *,
    status_of: Callable[[Any, date | None], PersonStatus] | None = None,
) -> PersonRecord | RecordRejected:
    """The `PersonRecord` one vendor row describes (use `PersonBuilder` for many rows)."""
    item = PersonBuilder(fields, status_of=status_of)(row)
    assert not isinstance(item, PersonUnchanged)  # no `unchanged` check was given
    return item


def _default_status(value: Any, termination_date: date | None) -> PersonStatus:
    return to_status(value, termination_date=termination_date)


def _join(first: str | None, last: str | None) -> str | None:
    joined = " ".join(part for part in (first, last) if part)
    return joined or None
