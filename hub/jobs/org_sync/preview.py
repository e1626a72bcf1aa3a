"""A readable sample of a plan: who would be created, changed, deactivated or rejected, and how."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from hub.jobs.org_sync.plan import OrgPlan
from hub.jobs.org_sync.records import changed_fields, stored_payload
from hub.store.models import Identity, Person, StagedPerson


@dataclass(frozen=True, slots=True)
class PersonChange:
    """One person in the preview, with the fields that change for an update."""

    employee_id: str
    name: str | None
    change: str
    fields: tuple[str, ...] = ()


@dataclass
class OrgPreview:
    """Up to `limit` people of each kind of change; counts live in the plan."""

    created: list[PersonChange] = field(default_factory=list)
    updated: list[PersonChange] = field(default_factory=list)
    reactivated: list[PersonChange] = field(default_factory=list)
    deactivated: list[PersonChange] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "created": [asdict(c) for c in self.created],
            "updated": [asdict(c) for c in self.updated],
            "reactivated": [asdict(c) for c in self.reactivated],
            "deactivated": [asdict(c) for c in self.deactivated],
            "rejected": self.rejected,
            "manager_cycles": self.cycles,
        }


def build_preview(conn: Connection, plan: OrgPlan, *, run_id: int, limit: int = 50) -> OrgPreview:
    """Sample each kind of change in `plan` while its staged rows are still in the table."""
    preview = OrgPreview(
        rejected=[{"record_key": r.record_key, "reason": r.reason} for r in plan.rejected[:limit]],
        cycles=plan.cycles[:limit],
    )
    by_kind: dict[str, list[str]] = defaultdict(list)
    for emp, change in plan.changes.items():
        if len(by_kind[change.kind]) < limit:
            by_kind[change.kind].append(emp)
    sample = [emp for emps in by_kind.values() for emp in emps]
    staged = {
        row.employee_id: row.payload
        for row in conn.execute(
            select(StagedPerson.employee_id, StagedPerson.payload).where(
                StagedPerson.run_id == run_id, StagedPerson.employee_id.in_(sample)
            )
        )
    }
    stored_rows = {
        row.employee_id: row
        for row in conn.execute(
            select(Person).where(Person.employee_id.in_([*sample, *plan.deactivate[:limit]]))
        )
    }
    identities: dict[int, dict[str, str]] = defaultdict(dict)
    for person_id, system, value in conn.execute(
        select(Identity.person_id, Identity.system, Identity.external_id).where(
            Identity.person_id.in_([row.id for row in stored_rows.values()])
        )
    ):
        if system != "email":
            identities[person_id][system] = value
    for kind, target in (
        ("created", preview.created),
        ("updated", preview.updated),
        ("reactivated", preview.reactivated),
    ):
        for emp in by_kind.get(kind, []):
            payload = staged.get(emp, {})
            fields: tuple[str, ...] = ()
            if kind != "created" and emp in stored_rows:
                row = stored_rows[emp]
                mine = {s: v for s, v in identities[row.id].items() if s in payload.get("identities", {})}
                fields = tuple(changed_fields(payload, stored_payload(row, mine)))
            target.append(PersonChange(emp, payload.get("display_name"), kind, fields))
    for emp in plan.deactivate[:limit]:
        gone = stored_rows.get(emp)
        preview.deactivated.append(PersonChange(emp, gone.display_name if gone else None, "deactivated"))
    return preview
