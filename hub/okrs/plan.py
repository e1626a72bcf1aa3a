"""Turn a parsed OKR file into an import plan: validated domain objects and what each does to the store.

Planning reads the store (the whole tree, the owners' people and departments, the stored
check-ins of the file's key results) and writes nothing. Every check happens here, with the
domain's own rules: okr_core builds each cycle, objective and key result, the merged tree refuses
alignment loops, and the file's check-ins go through `okr_core.record_check_in`. A refusal
becomes a `ConfigError` at the file position of the item (and field) it is about.

Identity is the external key: a key the store has is updated (when something differs) or left
unchanged; a new key is created; stored items the file does not mention are left alone. A
check-in is identified by its key result and time; history is append-only, so a stored check-in
the file contradicts is an error, never an edit.

Example:
    ```python
    with begin_write(engine) as conn:
        plan = plan_import(conn, read_okr_file(path))
        plan.counts()["key_results"]   # {"created": 3, "updated": 1, "unchanged": 20}
    ```
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any

from sqlalchemy import Connection

from hub.config.yaml_source import Loc
from hub.errors import ConfigError, ConfigErrors
from hub.okrs.document import CycleEntry, KeyResultEntry, ObjectiveEntry
from hub.okrs.history import PlannedCheckIn, plan_check_ins
from hub.okrs.people import PersonRef, department_keys, ref_key, resolve_departments, resolve_people
from hub.okrs.problems import Problems
from hub.okrs.repository import StoredOkrs, load_okrs
from hub.okrs.source import ParsedFile, did_you_mean
from okr_core.cycles import Cycle, CycleState, check_within_parent
from okr_core.errors import AlignmentCycleError, InvalidTransition, OkrError
from okr_core.key_results import KeyResult, MeasurementType, Range
from okr_core.objectives import Objective, ObjectiveTarget, Owner, OwnerKind
from okr_core.tree import AlignmentTree


class Action(StrEnum):
    """What importing an item does to the store."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, kw_only=True, slots=True)
class ImportPlan:
    """Everything an import will write; `key_results` hold the state the file's check-ins leave."""

    cycles: tuple[tuple[Cycle, Action], ...]
    objectives: tuple[tuple[Objective, Action], ...]
    key_results: tuple[tuple[KeyResult, Action], ...]
    check_ins: tuple[PlannedCheckIn, ...]
    unchanged_check_ins: int
    stored: StoredOkrs

    def counts(self) -> dict[str, dict[str, int]]:
        """Created / updated / unchanged per kind (check-ins are created or unchanged)."""
        counts: dict[str, dict[str, int]] = {}
        for kind, items in (
            ("cycles", self.cycles),
            ("objectives", self.objectives),
            ("key_results", self.key_results),
        ):
            tally = Counter(action for _, action in items)
            counts[kind] = {action.value: tally[action] for action in Action}
        counts["check_ins"] = {
            Action.CREATED.value: len(self.check_ins),
            Action.UPDATED.value: 0,
            Action.UNCHANGED.value: self.unchanged_check_ins,
        }
        return counts


def plan_import(conn: Connection, parsed: ParsedFile) -> ImportPlan:
    """Validate `parsed` against the domain rules and the store, and say what importing it does.

    Raises:
        ConfigErrors: Every problem found, each at its file position; nothing may be written.
    """
    return _Planner(conn, parsed).plan()


_ALLOWED_STARTS = {(CycleState.DRAFT, CycleState.IN_PROGRESS)}


class _Planner:
    def __init__(self, conn: Connection, parsed: ParsedFile) -> None:
        self.conn = conn
        self.locator = parsed.locator
        self.problems = Problems(parsed.locator)
        self.stored = load_okrs(conn)
        self.cycle_entries: dict[str, tuple[Loc, CycleEntry]] = {}
        self.objective_entries: dict[str, tuple[Loc, ObjectiveEntry, str]] = {}
        self.kr_entries: dict[str, tuple[Loc, KeyResultEntry, str, str]] = {}
        self._index(parsed)

    # --- the steps -------------------------------------------------------------------------------
    def plan(self) -> ImportPlan:
        self.problems.raise_if_any()
        people, departments = self._resolve_references()
        self.problems.raise_if_any()
        cycles = {key: c for key, c in self._build_cycles()}
        objectives = {key: o for key, o in self._build_objectives(people, departments)}
        definitions = {key: kr for key, kr in self._build_key_results(people)}
        self.problems.raise_if_any()
        tree = self._merged_tree(cycles, objectives, definitions)
        final, planned, unchanged = plan_check_ins(
            self.conn,
            self.problems,
            tree,
            {key: (loc, entry) for key, (loc, entry, _, _) in self.kr_entries.items()},
            definitions,
            people,
            self.stored.key_result_ids,
        )
        self.problems.raise_if_any()
        stored = self.stored.tree
        return ImportPlan(
            cycles=tuple((c, _action(stored.cycles.get(k), c)) for k, c in cycles.items()),
            objectives=tuple((o, _action(stored.objectives.get(k), o)) for k, o in objectives.items()),
            key_results=tuple(
                (final[k], _action(stored.key_results.get(k), kr)) for k, kr in definitions.items()
            ),
            check_ins=tuple(planned),
            unchanged_check_ins=unchanged,
            stored=self.stored,
        )

    def _index(self, parsed: ParsedFile) -> None:
        seen: dict[str, dict[str, Loc]] = {"cycle": {}, "objective": {}, "key result": {}}

        def claim(kind: str, key: str, loc: Loc) -> bool:
            first = seen[kind].get(key)
            if first is not None:
                line = self.locator.error("", (*first, "key")).line
                self.problems.add(
                    f"{kind} key `{key}` is used twice (first on line {line}); keys are unique", loc, "key"
                )
                return False
            seen[kind][key] = loc
            return True

        for c_index, cycle in enumerate(parsed.document.cycles):
            c_loc: Loc = ("cycles", c_index)
            if claim("cycle", cycle.key, c_loc):
                self.cycle_entries[cycle.key] = (c_loc, cycle)
            for o_index, objective in enumerate(cycle.objectives):
                o_loc: Loc = (*c_loc, "objectives", o_index)
                if claim("objective", objective.key, o_loc):
                    self.objective_entries[objective.key] = (o_loc, objective, cycle.key)
                for k_index, kr in enumerate(objective.key_results):
                    k_loc: Loc = (*o_loc, "key_results", k_index)
                    if claim("key result", kr.key, k_loc):
                        self.kr_entries[kr.key] = (k_loc, kr, objective.key, cycle.key)

    def _resolve_references(self) -> tuple[dict[str, PersonRef], dict[str, str | None]]:
        person_refs: list[tuple[str, Loc]] = []
        department_refs: list[tuple[str, Loc]] = []
        for loc, objective, _ in self.objective_entries.values():
            kind, ref = parse_owner(objective.owner)
            target = person_refs if kind is OwnerKind.PERSON else department_refs
            target.append((ref, (*loc, "owner")))
        for loc, kr, _, _ in self.kr_entries.values():
            person_refs += [(ref, (*loc, "owners", i)) for i, ref in enumerate(kr.owners)]
            person_refs += [
                (entry.by, (*loc, "check_ins", i, "by")) for i, entry in enumerate(kr.check_ins) if entry.by
            ]
        people = resolve_people(self.conn, [ref for ref, _ in person_refs])
        departments = resolve_departments(self.conn, [ref for ref, _ in department_refs])
        for ref, loc in person_refs:
            if ref_key(ref) not in people:
                what = "email" if "@" in ref else "employee id"
                self.problems.add(
                    f"unknown person `{ref}`: no one in the people table has this {what}; run "
                    "`okrhub sync org` first, or correct it",
                    loc,
                )
        for ref, loc in department_refs:
            if ref not in departments:
                hint = did_you_mean(ref, self._departments())
                self.problems.add(
                    f"unknown department `{ref}`: no department has this key or name{hint}; teams and "
                    "departments are named by their department key or name, e.g. `department:D101`",
                    loc,
                )
            elif departments[ref] is None:
                self.problems.add(
                    f"department name `{ref}` is ambiguous: several departments have it; use the key", loc
                )
        return people, departments

    def _build_cycles(self) -> Iterator[tuple[str, Cycle]]:
        known = set(self.cycle_entries) | set(self.stored.tree.cycles)
        built: dict[str, Cycle] = {}
        for key, (loc, entry) in self.cycle_entries.items():
            if entry.parent is not None and entry.parent not in known:
                self.problems.add(self._unknown("cycle", entry.parent, known), loc, "parent")
                continue
            cycle = self.problems.domain(
                loc,
                partial(
                    Cycle,
                    id=entry.key,
                    name=entry.name,
                    kind=entry.kind,
                    start=entry.start,
                    end=entry.end,
                    parent_id=entry.parent,
                    state=entry.state,
                    cadence=entry.cadence,
                ),
            )
            if cycle is None:
                continue
            before = self.stored.tree.cycles.get(key)
            moves = before is not None and before.state is not cycle.state
            if before is not None and moves and (before.state, cycle.state) not in _ALLOWED_STARTS:
                self.problems.domain_error(
                    InvalidTransition(
                        f"cycle `{key}`",
                        before.state.value,
                        cycle.state.value,
                        "an import can only start a draft cycle; closing grades the cycle and is not "
                        "done by import, and a closed cycle stays closed",
                    ),
                    loc,
                    "state",
                )
                continue
            built[key] = cycle
        for key, cycle in built.items():
            parent = built.get(cycle.parent_id or "") or self.stored.tree.cycles.get(cycle.parent_id or "")
            if parent is not None:
                self.problems.domain(self.cycle_entries[key][0], partial(check_within_parent, cycle, parent))
            yield key, cycle

    def _build_objectives(
        self, people: dict[str, PersonRef], departments: dict[str, str | None]
    ) -> Iterator[tuple[str, Objective]]:
        known = set(self.objective_entries) | set(self.stored.tree.objectives)
        for key, (loc, entry, cycle_key) in self.objective_entries.items():
            if entry.parent is not None and entry.parent not in known:
                self.problems.add(self._unknown("objective", entry.parent, known), loc, "parent")
                continue
            kind, ref = parse_owner(entry.owner)
            owner_id = (
                people[ref_key(ref)].employee_id if kind is OwnerKind.PERSON else departments[ref] or ref
            )
            target = None
            if entry.target is not None:
                t = entry.target
                target = self.problems.domain(
                    (*loc, "target"),
                    partial(ObjectiveTarget, unit=t.unit, value=t.value, auto=t.auto, start=t.start),
                )
                if target is None:
                    continue
            objective = self.problems.domain(
                loc,
                partial(
                    Objective,
                    id=entry.key,
                    title=entry.title,
                    cycle_id=cycle_key,
                    level=entry.level,
                    owner=Owner(kind=kind, id=owner_id),
                    kind=entry.kind,
                    parent_id=entry.parent,
                    progress_source=entry.progress_source,
                    target=target,
                ),
            )
            if objective is not None:
                yield key, objective

    def _build_key_results(self, people: dict[str, PersonRef]) -> Iterator[tuple[str, KeyResult]]:
        for key, (loc, entry, objective_key, cycle_key) in self.kr_entries.items():
            binary = entry.measurement is MeasurementType.BINARY
            if entry.target is None and not binary:
                self.problems.add("missing required key `target`", loc, "target")
                continue
            band = None
            if entry.range is not None:
                r = entry.range
                band = self.problems.domain(
                    (*loc, "range"),
                    partial(
                        Range,
                        red_low=r.red_low,
                        yellow_low=r.yellow_low,
                        yellow_high=r.yellow_high,
                        red_high=r.red_high,
                    ),
                )
                if band is None:
                    continue
            stored = self.stored.tree.key_results.get(key)
            fields: dict[str, Any] = {
                "id": key,
                "objective_id": objective_key,
                "cycle_id": cycle_key,
                "title": entry.title,
                "target": 1.0 if entry.target is None else entry.target,
                "initial": entry.initial,
                "critical": entry.critical,
                "measurement": entry.measurement,
                "progress_type": entry.progress_type,
                "unit": entry.unit,
                "currency": entry.currency,
                "range": band,
                "weight": entry.weight,
                "owners": tuple(people[ref_key(ref)].employee_id for ref in entry.owners),
                "deadline": entry.deadline,
                "hard_deadline": entry.hard_deadline,
                "cadence": entry.cadence,
                "tags": tuple(entry.tags),
            }
            if stored is not None:
                fields.update(
                    state=stored.state,
                    current=stored.current,
                    last_check_in_at=stored.last_check_in_at,
                    rolled_over_from=stored.rolled_over_from,
                )
            kr = self.problems.domain(loc, partial(KeyResult, **fields))
            if kr is not None:
                yield key, kr

    def _merged_tree(
        self, cycles: dict[str, Cycle], objectives: dict[str, Objective], key_results: dict[str, KeyResult]
    ) -> AlignmentTree:
        stored = self.stored.tree
        try:
            return AlignmentTree(
                cycles={**stored.cycles, **cycles}.values(),
                objectives={**stored.objectives, **objectives}.values(),
                key_results={**stored.key_results, **key_results}.values(),
            )
        except AlignmentCycleError as exc:
            raise ConfigErrors([self._loop_error(exc, cycles, objectives)]) from None
        except OkrError as exc:
            located = {
                "cycle": {k: e[0] for k, e in self.cycle_entries.items()},
                "objective": {k: e[0] for k, e in self.objective_entries.items()},
                "key result": {k: e[0] for k, e in self.kr_entries.items()},
            }
            raise ConfigErrors([self.problems.at_subject(exc, located)]) from None

    def _departments(self) -> list[str]:
        return department_keys(self.conn)

    def _unknown(self, kind: str, key: str, known: set[str]) -> str:
        return (
            f"unknown parent {kind} `{key}`{did_you_mean(key, known)}; a parent must be in this file "
            "or already in the store"
        )

    def _loop_error(
        self, exc: AlignmentCycleError, cycles: dict[str, Cycle], objectives: dict[str, Objective]
    ) -> ConfigError:
        """Blame the loop on a parent the file sets anew (the first in file order), and say so from there."""
        is_cycle = exc.kind == "cycle"
        entries: dict[str, Any] = self.cycle_entries if is_cycle else self.objective_entries
        items: dict[str, Any] = cycles if is_cycle else objectives
        stored: Any = self.stored.tree.cycles if is_cycle else self.stored.tree.objectives
        members = list(dict.fromkeys(exc.loop))
        in_file = [key for key in members if key in items]
        changed = [k for k in in_file if k not in stored or stored[k].parent_id != items[k].parent_id]
        order = list(entries)
        candidates = changed or in_file
        if not candidates:
            return self.locator.error(str(exc), ())
        culprit = min(candidates, key=order.index)
        start = members.index(culprit)
        loop = (*members[start:], *members[:start], culprit)
        error = AlignmentCycleError(exc.kind, culprit, loop[1], loop)
        return self.locator.error(str(error), (*entries[culprit][0], "parent"))


def parse_owner(ref: str) -> tuple[OwnerKind, str]:
    """`(kind, id)` of an owner reference: `department:D101`, `team:D301`, or a person's id or email."""
    kind, sep, rest = ref.partition(":")
    if sep and kind.strip().lower() in (OwnerKind.DEPARTMENT.value, OwnerKind.TEAM.value):
        return OwnerKind(kind.strip().lower()), rest.strip()
    return OwnerKind.PERSON, ref.strip()


def _action(before: object | None, after: object) -> Action:
    if before is None:
        return Action.CREATED
    return Action.UNCHANGED if before == after else Action.UPDATED
