"""What `okrhub okrs show` reports, as plain data: the tree with progress, colours, owners and staleness.

The numbers are okr_core's: `compute_progress` for progress and colours as of a date,
`alignment_health` for depth, unaligned objectives and stale key results. This module adds the
store's knowledge (names, the last check-in and who or what made it, and for an automated key
result what its metric mapping last fetched) and shapes it once, so the rich tree and `--json`
show the same data.

An automated key result (one with a row in `kr_metric_state`) gets an `automation` entry: the
mapping, its status (`ok`, `no_data`, `failed`, `held`, `refused`), the last value and when it
was fetched, the message of a failure, a held (suspect) value or a refusal (the key result is
closed, or its hard deadline passed), and `stale`: no successful update for longer than the key
result's cadence. A failing mapping leaves the key result at its last good value, so without
this a broken connection would look like a quiet week.

Example:
    ```python
    data = build_view(engine, as_of=date(2026, 11, 23), cycle="2026-Q4")
    data["objectives"][0]["progress"], data["objectives"][0]["colour"]   # 0.53, "green"
    data["health"]["stale"]                                              # [{"key": ..., ...}]
    data["health"]["automation"]     # [{"key": "q4-velocity-1100", "status": "failed", ...}]
    ```
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from hub.jobs.kr_updates.state import MetricState, states_for
from hub.okrs.people import department_names, ref_key, resolve_people
from hub.okrs.records import CheckInRecord, author_dict
from hub.okrs.repository import cycle_scope, last_check_ins, load_tree, reading
from okr_core.checkins import PersonAuthor
from okr_core.cycles import CycleState
from okr_core.errors import UnknownReference
from okr_core.health import StaleKeyResult, alignment_health
from okr_core.key_results import KeyResult, KeyResultState
from okr_core.objectives import Objective, OwnerKind
from okr_core.rollup import ProgressReport, compute_progress
from okr_core.tree import AlignmentTree


def build_view(
    source: Engine | Connection, *, as_of: date, cycle: str | None = None, owner: str | None = None
) -> dict[str, Any]:
    """The data `okrhub okrs show` prints, JSON-ready.

    Args:
        source: The store.
        as_of: The day progress is expected against (colours) and staleness is measured on.
        cycle: Only this cycle and its sub-cycles (objectives above them come along as context).
        owner: An employee id or email: only what this person owns, with their progress.

    Returns:
        `as_of`, `cycle`, `cycles`, `objectives` (roots, nested through `children`; with `owner`,
        the person's objectives), `other_key_results` (with `owner`: key results they own on
        other people's objectives), `owner` and `health` (its `automation` lists the automated
        key results shown whose mapping failed, holds a suspect value, was refused, or went stale).

    Raises:
        UnknownReference: `cycle` is not a stored cycle, or `owner` is not in the people table.
    """
    with reading(source) as conn:
        tree = load_tree(conn, cycle=cycle)
        report = compute_progress(tree, as_of)
        health = alignment_health(tree, as_of)
        last = last_check_ins(conn, tree.key_results)
        person = _resolve_owner(conn, owner) if owner is not None else None
        names = _names(conn, tree, last.values(), person)
        automation = _automation(states_for(conn, tree.key_results), tree, as_of)
    stale = {s.key_result_id: s for s in health.stale}
    shaper = _Shaper(tree, report, stale, last, names, cycle_scope(tree, cycle), automation)
    if person is None:
        objectives = [shaper.objective(oid, nested=True) for oid in tree.roots()]
        other: list[dict[str, Any]] = []
    else:
        objectives = [
            shaper.objective(o.id, nested=False)
            for o in tree.objectives.values()
            if o.owner.person_id == person
        ]
        other = [
            shaper.key_result(kr)
            for kr in tree.key_results.values()
            if person in kr.owners and tree.objectives[kr.objective_id].owner.person_id != person
        ]
    shown = [kr["key"] for kr in _shown_key_results(objectives, other)]
    return {
        "as_of": as_of.isoformat(),
        "cycle": cycle,
        "cycles": [
            {
                "key": c.id,
                "name": c.name,
                "kind": c.kind.value,
                "start": c.start.isoformat(),
                "end": c.end.isoformat(),
                "state": c.state.value,
                "parent": c.parent_id,
            }
            for c in tree.cycles.values()
        ],
        "objectives": objectives,
        "other_key_results": other,
        "owner": None if person is None else _owner_entry(person, names, report),
        "health": {
            "depth": health.depth,
            "unaligned": list(health.unaligned),
            "stale": [_stale_entry(s, tree) for s in health.stale],
            "automation": [
                {"key": key, "title": tree.key_results[key].title, **automation[key]}
                for key in shown
                if key in automation and _needs_attention(automation[key])
            ],
        },
    }


def _automation(
    states: Mapping[str, list[MetricState]], tree: AlignmentTree, as_of: date
) -> dict[str, dict[str, Any]]:
    """Each automated key result's `automation` entry, from its most recently fetched mapping state.

    A key result takes its value from one mapping at a time; rows of a mapping it no longer uses
    (renamed, or retargeted) are older, so the latest fetch is the one that counts.
    """
    entries: dict[str, dict[str, Any]] = {}
    for key, rows in states.items():
        kr = tree.key_results.get(key)
        if kr is None or not rows:
            continue
        state = max(rows, key=lambda s: (s.fetched_at or _NEVER, s.mapping_id))
        cycle = tree.cycles[kr.cycle_id]
        cadence_days = kr.cadence_in(cycle).days
        expected = cycle.state is CycleState.IN_PROGRESS and kr.state is not KeyResultState.CLOSED
        since = None if state.last_success_at is None else (as_of - state.last_success_at.date()).days
        entries[key] = {
            "mapping": state.mapping_id,
            "status": state.status,
            "last_value": state.last_value,
            "last_success_at": _iso(state.last_success_at),
            "fetched_at": _iso(state.fetched_at),
            "message": state.message,
            "held_value": state.held_value,
            "stale": expected and (since is None or since > cadence_days),
            "days_since_success": since,
            "cadence_days": cadence_days,
        }
    return entries


_NEVER = datetime.min.replace(tzinfo=UTC)


def _needs_attention(entry: Mapping[str, Any]) -> bool:
    return bool(entry["stale"]) or entry["status"] in ("failed", "held", "refused")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _shown_key_results(
    objectives: list[dict[str, Any]], other: list[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    for objective in objectives:
        yield from objective["key_results"]
        yield from _shown_key_results(objective["children"], [])
    yield from other


def _resolve_owner(conn: Connection, ref: str) -> str:
    found = resolve_people(conn, [ref]).get(ref_key(ref))
    if found is None:
        raise UnknownReference("okrs show --owner", "owner", ref)
    return found.employee_id


def _names(
    conn: Connection, tree: AlignmentTree, last: Any, person: str | None
) -> dict[tuple[str, str], str]:
    people: set[str] = set() if person is None else {person}
    departments: set[str] = set()
    for objective in tree.objectives.values():
        (people if objective.owner.kind is OwnerKind.PERSON else departments).add(objective.owner.id)
    for kr in tree.key_results.values():
        people.update(kr.owners)
    for record in last:
        if isinstance(record.author, PersonAuthor):
            people.add(record.author.person_id)
    names = {("person", ref): p.name for ref, p in resolve_people(conn, people).items()}
    names.update({("department", key): name for key, name in department_names(conn, departments).items()})
    return names


@dataclass(frozen=True, slots=True)
class _Shaper:
    tree: AlignmentTree
    report: ProgressReport
    stale: Mapping[str, StaleKeyResult]
    last: Mapping[str, CheckInRecord]
    names: Mapping[tuple[str, str], str]
    scope: frozenset[str]
    automation: Mapping[str, dict[str, Any]]

    def objective(self, oid: str, *, nested: bool) -> dict[str, Any]:
        objective = self.tree.objectives[oid]
        entry = self.report.objectives[oid]
        return {
            "key": oid,
            "title": objective.title,
            "cycle": objective.cycle_id,
            "level": objective.level.value,
            "kind": objective.kind.value,
            "owner": self._owner(objective),
            "parent": objective.parent_id,
            "progress": entry.progress.progress,
            "attainment": entry.progress.attainment,
            "expected": entry.expected,
            "colour": entry.colour.value,
            "mode": entry.progress.mode.value,
            "context": objective.cycle_id not in self.scope,
            "key_results": [self.key_result(kr) for kr in self.tree.key_results_of(oid)],
            "children": [self.objective(c, nested=True) for c in self.tree.children(oid)] if nested else [],
        }

    def key_result(self, kr: KeyResult) -> dict[str, Any]:
        entry = self.report.key_results[kr.id]
        cycle = self.tree.cycles[kr.cycle_id]
        stale = self.stale.get(kr.id)
        last = self.last.get(kr.id)
        band = kr.range
        return {
            "key": kr.id,
            "title": kr.title,
            "objective": kr.objective_id,
            "measurement": kr.measurement.value,
            "progress_type": kr.progress_type.value,
            "unit": kr.unit,
            "currency": kr.currency,
            "initial": kr.initial,
            "target": kr.target,
            "critical": kr.critical,
            "current": kr.current,
            "value": kr.value,
            "range": None
            if band is None
            else {
                "red_low": band.red_low,
                "yellow_low": band.yellow_low,
                "yellow_high": band.yellow_high,
                "red_high": band.red_high,
            },
            "weight": kr.weight,
            "deadline": kr.deadline_in(cycle).isoformat(),
            "hard_deadline": kr.hard_deadline,
            "cadence": kr.cadence_in(cycle).value,
            "state": kr.state.value,
            "owners": [{"employee_id": p, "name": self.names.get(("person", p), p)} for p in kr.owners],
            "progress": entry.progress,
            "attainment": entry.attainment,
            "expected": entry.expected,
            "colour": entry.colour.value,
            "last_check_in": None if last is None else self._check_in(last),
            "stale": stale is not None,
            "days_since_check_in": None if stale is None else stale.days_since,
            "automation": self.automation.get(kr.id),
        }

    def _check_in(self, record: CheckInRecord) -> dict[str, Any]:
        author = author_dict(record.author, fetched_at=record.fetched_at)
        if isinstance(record.author, PersonAuthor):
            author["name"] = self.names.get(("person", record.author.person_id), record.author.person_id)
        return {
            "at": record.at.isoformat(),
            "value": record.value,
            "note": record.note,
            "confidence": record.confidence,
            "author": author,
        }

    def _owner(self, objective: Objective) -> dict[str, Any]:
        kind = objective.owner.kind
        group = "person" if kind is OwnerKind.PERSON else "department"
        return {
            "kind": kind.value,
            "id": objective.owner.id,
            "name": self.names.get((group, objective.owner.id), objective.owner.id),
        }


def _owner_entry(person: str, names: Mapping[tuple[str, str], str], report: ProgressReport) -> dict[str, Any]:
    progress = report.people.get(person)
    return {
        "employee_id": person,
        "name": names.get(("person", person), person),
        "progress": None if progress is None else progress.progress,
        "objectives": 0 if progress is None else progress.objectives,
        "key_results": 0 if progress is None else progress.key_results,
    }


def _stale_entry(stale: StaleKeyResult, tree: AlignmentTree) -> dict[str, Any]:
    return {
        "key": stale.key_result_id,
        "title": tree.key_results[stale.key_result_id].title,
        "days_since": stale.days_since,
        "cadence_days": stale.cadence_days,
        "last_check_in": None if stale.last_check_in is None else stale.last_check_in.isoformat(),
    }
