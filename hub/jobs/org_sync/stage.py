"""Read the source stream once: classify each person, stage the changed ones, collect the rest.

Only people who are new or changed are written to `staged_people` (in chunks), so a nightly
run over an unchanged org writes almost nothing and memory stays flat however large the first
load is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert

from hub.contracts import DepartmentRecord, OrgItem, PersonRecord, PersonRemoved, PersonUnchanged
from hub.errors import RecordRejected
from hub.jobs.org_sync.records import Existing, content_hash, person_payload
from hub.store.models import StagedPerson

STAGE_CHUNK = 2000


@dataclass(slots=True)
class StagedChange:
    """What the run needs in memory about one staged person (the payload stays in the table)."""

    kind: str  # "created" | "updated" | "reactivated"
    status: str
    manager_id: str | None
    claims: dict[str, str]  # system -> external id (email included), what this person will hold


@dataclass
class StageResult:
    """Everything one pass over the source stream found."""

    seen: set[str] = field(default_factory=set)
    changes: dict[str, StagedChange] = field(default_factory=dict)
    unchanged: int = 0
    departments: dict[str, DepartmentRecord] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    rejections: list[RecordRejected] = field(default_factory=list)


def claims_of(record: PersonRecord, hcm_system: str) -> dict[str, str]:
    """The identities a person holds: the HCM id, the email, and the mapped systems."""
    claims = {hcm_system: record.employee_id}
    if record.email:
        claims["email"] = record.email.lower()
    claims.update(record.identities)
    return claims


class Stager:
    """Consumes an org stream into a `StageResult`, writing changed people to `staged_people`."""

    def __init__(
        self,
        conn: Connection,
        *,
        run_id: int,
        existing: dict[str, Existing],
        hcm_system: str,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.conn = conn
        self.run_id = run_id
        self.existing = existing
        self.hcm_system = hcm_system
        self.on_progress = on_progress
        self.result = StageResult()
        self._buffer: list[dict[str, Any]] = []

    def consume(self, stream: Iterable[OrgItem]) -> StageResult:
        """Read every item of `stream` once."""
        for count, item in enumerate(stream, start=1):
            if isinstance(item, PersonRecord):
                self._person(item)
            elif isinstance(item, PersonUnchanged):
                self._unchanged(item.employee_id)
            elif isinstance(item, DepartmentRecord):
                self.result.departments.setdefault(item.key, item)
            elif isinstance(item, PersonRemoved):
                self.result.removed.append(item.employee_id)
            else:
                self.result.rejections.append(item)
                # A bad row still proves the person exists: never deactivate them for it.
                self.result.seen.add(item.record_key)
            if self.on_progress is not None and count % 500 == 0:
                self.on_progress(count)
        self._flush()
        if self.on_progress is not None:
            self.on_progress(len(self.result.seen))
        return self.result

    def is_unchanged(self, employee_id: str, digest: str) -> bool:
        """What a connector asks before building a person: does the store hold this row already?"""
        before = self.existing.get(employee_id)
        return before is not None and before.content_hash == digest

    def _first_sighting(self, employee_id: str) -> bool:
        if employee_id in self.result.seen:
            self.result.rejections.append(
                RecordRejected(employee_id, "the source lists this employee id twice; the first row was kept")
            )
            return False
        self.result.seen.add(employee_id)
        return True

    def _unchanged(self, employee_id: str) -> None:
        if self._first_sighting(employee_id):
            self.result.unchanged += 1

    def _person(self, record: PersonRecord) -> None:
        result = self.result
        if not self._first_sighting(record.employee_id):
            return
        payload = person_payload(record)
        # A connector's digest of the raw row is cheaper to compare next time than the payload's.
        digest = record.source_digest or content_hash(payload)
        before = self.existing.get(record.employee_id)
        if before is not None and before.content_hash == digest:
            result.unchanged += 1
            return
        if before is None:
            kind = "created"
        elif before.status != "active" and payload["status"] == "active":
            kind = "reactivated"
        else:
            kind = "updated"
        result.changes[record.employee_id] = StagedChange(
            kind=kind,
            status=payload["status"],
            manager_id=record.manager_id,
            claims=claims_of(record, self.hcm_system),
        )
        self._buffer.append(
            {
                "run_id": self.run_id,
                "employee_id": record.employee_id,
                "content_hash": digest,
                "email_lower": payload["email"].lower() if payload["email"] else None,
                "manager_employee_id": record.manager_id,
                "department_key": payload["department_key"],
                "status": payload["status"],
                "payload": payload,
            }
        )
        if len(self._buffer) >= STAGE_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self.conn.execute(insert(StagedPerson), self._buffer)
            self._buffer = []
