"""Which key results each mapping updates, with their cycle and owner identity, from the store.

The compiler never reads the store: this module resolves each mapping's `targets` (a key
result, an objective, or a selector by tag and cycle) into `TargetKR`s, and looks up each
owner's email and ids in other systems in the identity table the org sync keeps.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection, select

from hub.okrs.repository import StoredOkrs
from hub.store.models import Identity, Person
from mappings.compiler import PlanProblem
from mappings.mapping_set import MappingSet, MetricMapping
from mappings.targets import OwnerIdentity, TargetKR
from okr_core.key_results import KeyResult
from okr_core.objectives import OwnerKind
from okr_core.tree import AlignmentTree


def owner_identities(conn: Connection, employee_ids: Iterable[str]) -> dict[str, OwnerIdentity]:
    """Each person's email and ids in other systems (`salesforce`, `jira`, ...), by employee id."""
    wanted = sorted(set(employee_ids))
    if not wanted:
        return {}
    emails: dict[str, str | None] = {}
    ids: dict[str, dict[str, str]] = defaultdict(dict)
    rows = conn.execute(
        select(Person.employee_id, Person.email, Identity.system, Identity.external_id)
        .outerjoin(Identity, Identity.person_id == Person.id)
        .where(Person.employee_id.in_(wanted))
    )
    for employee_id, email, system, external_id in rows:
        emails[employee_id] = email
        if system is not None and system != "email":
            ids[employee_id][system] = external_id
    return {
        emp: OwnerIdentity(employee_id=emp, email=emails[emp], ids=dict(ids.get(emp, {}))) for emp in emails
    }


def _selected(mapping: MetricMapping, tree: AlignmentTree) -> list[KeyResult] | str:
    targets = mapping.targets
    if targets.key_result is not None:
        kr = tree.key_results.get(targets.key_result)
        return [kr] if kr is not None else f"no key result `{targets.key_result}` in the store"
    if targets.objective is not None:
        if targets.objective not in tree.objectives:
            return f"no objective `{targets.objective}` in the store"
        return [kr for kr in tree.key_results.values() if kr.objective_id == targets.objective]
    selector = targets.selector
    if selector is None:
        return "the mapping names no key result, objective or selector"
    chosen = list(tree.key_results.values())
    if selector.tag is not None:
        chosen = [kr for kr in chosen if selector.tag in kr.tags]
    if selector.cycle is not None:
        chosen = [kr for kr in chosen if kr.cycle_id == selector.cycle]
    return chosen


def _owner_of(kr: KeyResult, tree: AlignmentTree) -> str | tuple[str, ...] | None:
    if len(kr.owners) == 1:
        return kr.owners[0]
    if len(kr.owners) > 1:
        return kr.owners
    objective = tree.objectives[kr.objective_id]
    return objective.owner.id if objective.owner.kind is OwnerKind.PERSON else None


def resolve_targets(
    conn: Connection, mappings: MappingSet, stored: StoredOkrs
) -> tuple[dict[str, list[TargetKR]], list[PlanProblem]]:
    """The key results of every mapping, and the ones that cannot be updated (with the reason)."""
    tree = stored.tree
    problems: list[PlanProblem] = []
    chosen: dict[str, list[tuple[KeyResult, str | None]]] = {}
    for mapping in mappings:
        selected = _selected(mapping, tree)
        if isinstance(selected, str):
            problems.append(PlanProblem(kr_key="-", mapping_id=mapping.id, reason=selected))
            continue
        rows: list[tuple[KeyResult, str | None]] = []
        for kr in selected:
            owner = _owner_of(kr, tree) if mapping.fans_out else None
            if isinstance(owner, tuple):
                problems.append(
                    PlanProblem(
                        kr_key=kr.id,
                        mapping_id=mapping.id,
                        reason=f"has {len(owner)} owners ({', '.join(owner)}); "
                        "`for_each: owner` needs exactly one",
                    )
                )
                continue
            if mapping.fans_out and owner is None:
                problems.append(
                    PlanProblem(
                        kr_key=kr.id, mapping_id=mapping.id, reason="has no person owner to fan out over"
                    )
                )
                continue
            rows.append((kr, owner))
        chosen[mapping.id] = rows
    identities = owner_identities(conn, (owner for rows in chosen.values() for _, owner in rows if owner))
    targets: dict[str, list[TargetKR]] = {}
    for mapping_id, rows in chosen.items():
        targets[mapping_id] = []
        for kr, owner in rows:
            if owner is not None and owner not in identities:
                problems.append(
                    PlanProblem(
                        kr_key=kr.id,
                        mapping_id=mapping_id,
                        reason=f"owner {owner} is not in the people table (run `okrhub sync org`)",
                    )
                )
                continue
            cycle = tree.cycles[kr.cycle_id]
            targets[mapping_id].append(
                TargetKR(
                    key=kr.id,
                    cycle_start=cycle.start,
                    cycle_end=cycle.end,
                    owner=identities[owner] if owner is not None else None,
                )
            )
    return targets, problems
