"""The alignment tree: cycles, objectives and key results, indexed, with no loops.

An objective aligns to one parent objective at any level (an individual objective may support a
company objective directly), and cycles nest under parent cycles. Neither may loop: setting a
parent that is the objective itself or one of its descendants is refused, and nothing changes.

The tree is immutable; every change returns a new tree, so a failed change leaves the old one
as it was. Building validates every reference and computes a bottom-up order once, which the
whole-tree recompute (`okr_core.rollup.compute_progress`) walks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TypeVar

from okr_core.cycles import Cycle
from okr_core.errors import AlignmentCycleError, InvalidValue, UnknownReference
from okr_core.key_results import KeyResult
from okr_core.objectives import Objective

_T = TypeVar("_T", Cycle, Objective, KeyResult)


class AlignmentTree:
    """Cycles, objectives and key results with their alignment checked.

    Example:
        tree = AlignmentTree(cycles=[q3], objectives=[company, team], key_results=[kr1, kr2])
        tree = tree.set_parent("team", "company")      # AlignmentCycleError if it would loop
        tree.children("company")                       # ("team",)
        report = compute_progress(tree, as_of=date(2024, 8, 15))
    """

    __slots__ = (
        "_children",
        "_cycles",
        "_depth",
        "_key_results",
        "_krs_by_objective",
        "_objectives",
        "_order",
    )

    def __init__(
        self,
        *,
        cycles: Iterable[Cycle] = (),
        objectives: Iterable[Objective] = (),
        key_results: Iterable[KeyResult] = (),
    ) -> None:
        self._cycles = _index("cycle", cycles)
        self._objectives = _index("objective", objectives)
        self._key_results = _index("key result", key_results)
        self._check_references()
        _refuse_loops("cycle", {c.id: c.parent_id for c in self._cycles.values()})
        self._depth = _refuse_loops("objective", {o.id: o.parent_id for o in self._objectives.values()})
        self._children: dict[str, list[str]] = {oid: [] for oid in self._objectives}
        for objective in self._objectives.values():
            if objective.parent_id is not None:
                self._children[objective.parent_id].append(objective.id)
        self._krs_by_objective: dict[str, list[KeyResult]] = {oid: [] for oid in self._objectives}
        for kr in self._key_results.values():
            self._krs_by_objective[kr.objective_id].append(kr)
        self._order = sorted(self._objectives, key=self._depth.__getitem__, reverse=True)

    def _check_references(self) -> None:
        for cycle in self._cycles.values():
            if cycle.parent_id is not None and cycle.parent_id not in self._cycles:
                raise UnknownReference(f"cycle `{cycle.id}`", "parent_id", cycle.parent_id)
        for objective in self._objectives.values():
            subject = f"objective `{objective.id}`"
            if objective.cycle_id not in self._cycles:
                raise UnknownReference(subject, "cycle_id", objective.cycle_id)
            if objective.parent_id is not None and objective.parent_id not in self._objectives:
                raise UnknownReference(subject, "parent_id", objective.parent_id)
        for kr in self._key_results.values():
            subject = f"key result `{kr.id}`"
            if kr.objective_id not in self._objectives:
                raise UnknownReference(subject, "objective_id", kr.objective_id)
            kr_cycle = self._cycles.get(kr.cycle_id)
            if kr_cycle is None:
                raise UnknownReference(subject, "cycle_id", kr.cycle_id)
            if kr.deadline is not None and kr.deadline < kr_cycle.start:
                raise InvalidValue(
                    subject,
                    "deadline",
                    kr.deadline.isoformat(),
                    f"falls before its cycle `{kr_cycle.id}` starts ({kr_cycle.start.isoformat()}); "
                    "set a deadline within the cycle or leave it unset for the cycle's end",
                )

    @property
    def cycles(self) -> Mapping[str, Cycle]:
        """Cycles by id (read-only)."""
        return MappingProxyType(self._cycles)

    @property
    def objectives(self) -> Mapping[str, Objective]:
        """Objectives by id (read-only)."""
        return MappingProxyType(self._objectives)

    @property
    def key_results(self) -> Mapping[str, KeyResult]:
        """Key results by id (read-only)."""
        return MappingProxyType(self._key_results)

    def children(self, objective_id: str) -> tuple[str, ...]:
        """Ids of the objectives aligned directly to `objective_id`."""
        return tuple(self._children[self._require_objective(objective_id)])

    def key_results_of(self, objective_id: str) -> tuple[KeyResult, ...]:
        """The key results under `objective_id`."""
        return tuple(self._krs_by_objective[self._require_objective(objective_id)])

    def roots(self) -> tuple[str, ...]:
        """Ids of the objectives aligned to nothing."""
        return tuple(oid for oid, o in self._objectives.items() if o.parent_id is None)

    def ancestors(self, objective_id: str) -> tuple[str, ...]:
        """Ids from the parent of `objective_id` up to its root."""
        chain: list[str] = []
        parent = self._objectives[self._require_objective(objective_id)].parent_id
        while parent is not None:
            chain.append(parent)
            parent = self._objectives[parent].parent_id
        return tuple(chain)

    def depth(self) -> int:
        """Number of levels on the longest root-to-leaf path (0 for an empty tree)."""
        return max(self._depth.values(), default=0)

    def level_of(self, objective_id: str) -> int:
        """1 for a root objective, 2 for its children, and so on."""
        return self._depth[self._require_objective(objective_id)]

    def bottom_up(self) -> tuple[Objective, ...]:
        """Every objective, each after all of its descendants (deepest first)."""
        return tuple(self._objectives[oid] for oid in self._order)

    def set_parent(self, objective_id: str, parent_id: str | None) -> AlignmentTree:
        """A new tree with `objective_id` aligned to `parent_id` (None detaches it).

        Raises:
            UnknownReference: Either id is not in the tree.
            AlignmentCycleError: `parent_id` is the objective or one of its descendants.
        """
        objective = self._objectives[self._require_objective(objective_id)]
        if parent_id is not None:
            self._require_objective(parent_id, field="parent_id", subject=f"objective `{objective_id}`")
            loop = [objective_id]
            cursor: str | None = parent_id
            while cursor is not None:
                loop.append(cursor)
                if cursor == objective_id:
                    raise AlignmentCycleError("objective", objective_id, parent_id, tuple(loop))
                cursor = self._objectives[cursor].parent_id
        return self.with_objective(_replace_parent(objective, parent_id))

    def with_objective(self, objective: Objective) -> AlignmentTree:
        """A new tree with `objective` added, or replacing the one with its id."""
        return self._rebuild(objectives={**self._objectives, objective.id: objective})

    def with_key_result(self, key_result: KeyResult) -> AlignmentTree:
        """A new tree with `key_result` added, or replacing the one with its id."""
        return self._rebuild(key_results={**self._key_results, key_result.id: key_result})

    def with_cycle(self, cycle: Cycle) -> AlignmentTree:
        """A new tree with `cycle` added, or replacing the one with its id."""
        return self._rebuild(cycles={**self._cycles, cycle.id: cycle})

    def _rebuild(
        self,
        *,
        cycles: Mapping[str, Cycle] | None = None,
        objectives: Mapping[str, Objective] | None = None,
        key_results: Mapping[str, KeyResult] | None = None,
    ) -> AlignmentTree:
        return AlignmentTree(
            cycles=(self._cycles if cycles is None else cycles).values(),
            objectives=(self._objectives if objectives is None else objectives).values(),
            key_results=(self._key_results if key_results is None else key_results).values(),
        )

    def _require_objective(
        self, objective_id: str, *, field: str = "objective_id", subject: str = "tree"
    ) -> str:
        if objective_id not in self._objectives:
            raise UnknownReference(subject, field, objective_id)
        return objective_id

    # internal accessors for the recompute, without copying
    def _kr_lists(self) -> Mapping[str, list[KeyResult]]:
        return self._krs_by_objective

    def _child_lists(self) -> Mapping[str, list[str]]:
        return self._children

    def _bottom_up_ids(self) -> list[str]:
        return self._order


def _replace_parent(objective: Objective, parent_id: str | None) -> Objective:
    return dataclasses.replace(objective, parent_id=parent_id)


def _index(kind: str, items: Iterable[_T]) -> dict[str, _T]:
    indexed: dict[str, _T] = {}
    for item in items:
        if item.id in indexed:
            raise InvalidValue(
                f"{kind} `{item.id}`", "id", item.id, f"two {kind}s share this id; ids must be unique"
            )
        indexed[item.id] = item
    return indexed


def _refuse_loops(kind: str, parents: Mapping[str, str | None]) -> dict[str, int]:
    """Depth of every node (1 for a root); raises AlignmentCycleError on the first loop found."""
    depth: dict[str, int] = {}
    for start in parents:
        path: list[str] = []
        on_path: set[str] = set()
        node: str | None = start
        while node is not None and node not in depth:
            if node in on_path:
                members = path[path.index(node) :]
                raise AlignmentCycleError(kind, path[-1], node, (path[-1], *members))
            path.append(node)
            on_path.add(node)
            node = parents[node]
        base = 0 if node is None else depth[node]
        for offset, member in enumerate(reversed(path), start=1):
            depth[member] = base + offset
    return depth
