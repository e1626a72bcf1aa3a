"""An in-memory org source for testing the org-sync job's own rules (not a vendor)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import ClassVar

from pydantic import BaseModel

from hub.contracts import (
    Capability,
    CheckResult,
    DepartmentRecord,
    FieldMap,
    OrgItem,
    PersonRecord,
    PersonRemoved,
    PersonStatus,
)
from hub.errors import RecordRejected


class FakeSettings(BaseModel):
    type: str = "fakehr"


@dataclass
class FakeStream:
    items: list[OrgItem]
    is_full: bool
    next_cursor: str | None
    fail_after: int | None = None

    def __iter__(self) -> Iterator[OrgItem]:
        for index, item in enumerate(self.items):
            if self.fail_after is not None and index == self.fail_after:
                raise RuntimeError("source died mid-stream")
            yield item

    @property
    def cursor(self) -> str | None:
        return self.next_cursor


@dataclass
class FakeHR:
    """People held in a dict; `changes` since a cursor are whatever the test says they are."""

    type_name: ClassVar[str] = "fakehr"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORG_SOURCE})
    settings_model: ClassVar[type[BaseModel]] = FakeSettings
    supports_incremental: ClassVar[bool] = True

    people: dict[str, PersonRecord] = field(default_factory=dict)
    extra: list[OrgItem] = field(default_factory=list)
    changed: list[OrgItem] = field(default_factory=list)
    version: int = 0
    fail_after: int | None = None
    reads: list[str | None] = field(default_factory=list)

    def check(self) -> CheckResult:
        return CheckResult(True, "fake")

    def close(self) -> None:
        pass

    def default_fields(self) -> FieldMap:
        return FieldMap(fields={"employee_id": "id"})

    def read_org(self, fields: FieldMap, *, since: str | None, unchanged: object = None) -> FakeStream:
        self.reads.append(since)
        if since is None:
            departments = {
                p.department: DepartmentRecord(key=p.department, name=p.department)
                for p in self.people.values()
                if p.department
            }
            items: list[OrgItem] = [*departments.values(), *self.people.values(), *self.extra]
            return FakeStream(items, True, f"v{self.version}", self.fail_after)
        return FakeStream(list(self.changed), False, f"v{self.version}", self.fail_after)

    # helpers for tests
    def put(self, **kwargs: object) -> PersonRecord:
        record = PersonRecord(**kwargs)  # type: ignore[arg-type]
        self.people[record.employee_id] = record
        return record

    def change(self, employee_id: str, **kwargs: object) -> PersonRecord:
        record = replace(self.people[employee_id], **kwargs)  # type: ignore[arg-type]
        self.people[employee_id] = record
        self.changed.append(record)
        self.version += 1
        return record


def small_org(size: int = 20) -> FakeHR:
    """A CEO, two managers and individual contributors, with Salesforce ids."""
    hr = FakeHR()
    hr.put(
        employee_id="1",
        email="ceo@acme.test",
        display_name="Chief",
        department="Exec",
        identities={"salesforce": "005CEO"},
        hire_date=date(2015, 1, 1),
    )
    for m in ("2", "3"):
        hr.put(
            employee_id=m,
            email=f"m{m}@acme.test",
            display_name=f"Manager {m}",
            manager_id="1",
            department="Sales" if m == "2" else "Eng",
            identities={"salesforce": f"005M{m}"},
        )
    for i in range(4, size + 1):
        manager = "2" if i % 2 == 0 else "3"
        hr.put(
            employee_id=str(i),
            email=f"p{i}@acme.test",
            display_name=f"Person {i}",
            manager_id=manager,
            title="Engineer",
            department="Sales" if manager == "2" else "Eng",
            identities={"salesforce": f"005P{i}"},
            status=PersonStatus.ACTIVE,
        )
    return hr


__all__ = ["FakeHR", "PersonRemoved", "RecordRejected", "small_org"]
