"""Value objects the OKR store hands out: check-in authors, history records, and a recorded check-in.

okr_core knows two authors, a person and a connector. The store adds a third, `AdminAuthor`: the
author of a CLI check-in when no person is named (`okrhub okrs checkin` without `--as` and
without `OKRHUB_CHECK_IN_AS`). It is stored as author kind `admin`, shown as "admin", and never
mistaken for an employee; okr_core sees it as the person id `admin`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from okr_core.checkins import CheckIn, ConnectorAuthor, PersonAuthor
from okr_core.key_results import KeyResult

ADMIN_ID = "admin"
"""The id okr_core sees for `AdminAuthor`."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AdminAuthor:
    """The default author of a manual check-in when nobody is named: an admin at the CLI.

    Example:
        record_check_in(engine, "q4-arr", 640_000, author=AdminAuthor())
    """

    def describe(self) -> str:
        """How history shows this author."""
        return ADMIN_ID


Author = PersonAuthor | ConnectorAuthor | AdminAuthor
"""Who or what made a check-in."""


def domain_author(author: Author) -> PersonAuthor | ConnectorAuthor:
    """The okr_core author for `author` (an admin is the person id `admin` there)."""
    return PersonAuthor(person_id=ADMIN_ID) if isinstance(author, AdminAuthor) else author


def author_dict(author: Author, *, fetched_at: datetime | None = None) -> dict[str, Any]:
    """`author` as JSON-ready data: its kind and its fields (a connector's full provenance)."""
    if isinstance(author, PersonAuthor):
        return {"kind": "person", "employee_id": author.person_id}
    if isinstance(author, ConnectorAuthor):
        return {
            "kind": "connector",
            "connection": author.connection,
            "mapping": author.mapping,
            "run_id": author.run_id,
            "query": author.query,
            "raw_result": author.raw_result,
            "fetched_at": fetched_at.isoformat() if fetched_at else None,
        }
    return {"kind": "admin"}


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckInRecord:
    """One stored check-in: the value, when it held, who or what made it, and when it was stored.

    `fetched_at` is when a connector read the value from its system (None for people).

    Example:
        for record in check_in_history(engine, "q4-arr"):
            print(record.at, record.value, record.author)
    """

    id: int
    key_result_key: str
    value: float
    at: datetime
    author: Author
    note: str = ""
    confidence: int | None = None
    recorded_at: datetime
    fetched_at: datetime | None = None

    def to_domain(self) -> CheckIn:
        """The okr_core `CheckIn` this record holds (id: the store's id as text)."""
        return CheckIn(
            id=str(self.id),
            key_result_id=self.key_result_key,
            value=self.value,
            at=self.at,
            author=domain_author(self.author),
            note=self.note,
            confidence=self.confidence,
        )

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        return {
            "id": self.id,
            "key_result": self.key_result_key,
            "value": self.value,
            "at": self.at.isoformat(),
            "note": self.note,
            "confidence": self.confidence,
            "author": author_dict(self.author, fetched_at=self.fetched_at),
            "recorded_at": self.recorded_at.isoformat(),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredCheckIn:
    """A check-in `record_check_in` stored, with the key result before and after it.

    Example:
        stored = record_check_in(engine, "q4-arr", 640_000, author=PersonAuthor(person_id="1002"))
        stored.key_result.state      # KeyResultState.IN_PROGRESS
        stored.record.id             # the history row
    """

    record: CheckInRecord
    key_result: KeyResult
    previous: KeyResult
