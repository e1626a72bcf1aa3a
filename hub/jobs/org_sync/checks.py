"""Checks that need the whole batch: shared identities, manager cycles, and manager flags."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, select

from hub.errors import RecordRejected
from hub.jobs.org_sync.records import Existing
from hub.jobs.org_sync.stage import StagedChange
from hub.store.bulk import chunked
from hub.store.models import Identity, Person

FLAG_MANAGER_MISSING = "manager_missing"
FLAG_MANAGER_INACTIVE = "manager_inactive"
FLAG_MANAGER_CYCLE = "manager_cycle"
MANAGER_FLAGS = (FLAG_MANAGER_MISSING, FLAG_MANAGER_INACTIVE, FLAG_MANAGER_CYCLE)


@dataclass
class IdentityCheck:
    """The outcome of checking claimed identities against each other and the store."""

    rejected: list[RecordRejected]
    transfers: set[tuple[str, str]]
    """(system, external id) pairs held by someone else that move to their new holder in this run."""


def identity_holders(
    conn: Connection, claims: Iterable[tuple[str, str]]
) -> Iterator[tuple[str, str, str, str]]:
    """(system, external id, holder's employee id, holder's status) for every stored claim among `claims`.

    Queried per system so the (system, external_id) unique index serves every lookup.
    """
    if conn.execute(select(Identity.id).limit(1)).first() is None:
        return  # a first load: nobody holds anything yet
    by_system: dict[str, list[str]] = defaultdict(list)
    for system, value in claims:
        by_system[system].append(value)
    for system, values in by_system.items():
        for batch in chunked(values, 900):
            rows = conn.execute(
                select(Identity.external_id, Person.employee_id, Person.status)
                .join(Person, Person.id == Identity.person_id)
                .where(Identity.system == system, Identity.external_id.in_(batch))
            )
            for value, holder, status in rows:
                yield system, value, holder, status


def identity_conflicts(
    conn: Connection,
    changes: Mapping[str, StagedChange],
    *,
    leaving: set[str],
) -> IdentityCheck:
    """Reject changed people who would take an identity (an email, a Salesforce id...) someone else holds.

    The holder keeps it when it is an active person who stays; a holder who is leaving in this
    run, or is inactive, gives it up (a transfer). Among newcomers claiming the same identity,
    the first in source order keeps it.
    """
    rejected: dict[str, RecordRejected] = {}
    first_claim: dict[tuple[str, str], str] = {}
    for employee_id, change in changes.items():
        if change.status != "active":
            continue
        for system, value in change.claims.items():
            holder = first_claim.setdefault((system, value), employee_id)
            if holder != employee_id and employee_id not in rejected:
                rejected[employee_id] = RecordRejected(
                    employee_id, f"{_label(system)} {value!r} is also given to employee {holder} in this sync"
                )
    claimant = {key: emp for key, emp in first_claim.items() if emp not in rejected}
    transfers: set[tuple[str, str]] = set()
    for system, value, holder, status in identity_holders(conn, claimant):
        employee_id = claimant[(system, value)]
        if holder == employee_id:
            continue
        moving = changes.get(holder)
        gives_up = (
            status != "active"
            or holder in leaving
            or (moving is not None and (moving.claims.get(system) != value or moving.status != "active"))
        )
        if gives_up:
            transfers.add((system, value))
            continue
        rejected.setdefault(
            employee_id,
            RecordRejected(employee_id, f"{_label(system)} {value!r} already belongs to employee {holder}"),
        )
    return IdentityCheck(list(rejected.values()), transfers)


def _label(system: str) -> str:
    return "email" if system == "email" else f"{system} id"


@dataclass(frozen=True)
class OrgGraph:
    """Who is active and who reports to whom once this run's changes are applied.

    A view over the stored people with the run's changes and deactivations on top, so a
    nightly run that changes 1% of a large org only looks at what that 1% touches.
    """

    existing: Mapping[str, Existing]
    changes: Mapping[str, StagedChange]
    deactivated: frozenset[str]

    def status(self, employee_id: str) -> str | None:
        """The person's status after this run; None for someone the store has never seen."""
        change = self.changes.get(employee_id)
        if change is not None:
            status = change.status
        else:
            before = self.existing.get(employee_id)
            if before is None:
                return None
            status = before.status
        return "inactive" if status == "active" and employee_id in self.deactivated else status

    def manager(self, employee_id: str) -> str | None:
        """The person's manager after this run."""
        change = self.changes.get(employee_id)
        if change is not None:
            return change.manager_id
        before = self.existing.get(employee_id)
        return before.manager_id if before is not None else None

    def cycles(self, starts: Iterable[str]) -> list[list[str]]:
        """Manager cycles among active people reachable upwards from `starts`, in reporting order.

        The stored graph has no cycles (they are cut when found), so any new one passes through
        a person this run changed: starting from the changed people finds them all.
        """
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        found: list[list[str]] = []
        for start in starts:
            if start in state or self.status(start) != "active":
                continue
            path: list[str] = []
            node: str | None = start
            while node is not None and node not in state and self.status(node) == "active":
                state[node] = 1
                path.append(node)
                node = self.manager(node)
            if node is not None and state.get(node) == 1:
                found.append(path[path.index(node) :])
            for member in path:
                state[member] = 2
        return found

    def affected(self) -> set[str]:
        """People whose manager flags may change: the changed, the leaving, and their reports."""
        touched = set(self.changes) | self.deactivated
        return touched | {emp for emp, before in self.existing.items() if before.manager_id in touched}

    def flags(self, employee_id: str, in_cycle: set[str]) -> tuple[str, ...]:
        """The manager flags of one person: missing, inactive, or part of a cycle."""
        if self.status(employee_id) != "active":
            return ()
        if employee_id in in_cycle:
            return (FLAG_MANAGER_CYCLE,)
        manager = self.manager(employee_id)
        if manager is None:
            return ()
        status = self.status(manager)
        if status is None:
            return (FLAG_MANAGER_MISSING,)
        if status != "active":
            return (FLAG_MANAGER_INACTIVE,)
        return ()
