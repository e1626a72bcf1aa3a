"""The alignment tree: references are checked, no objective may become its own ancestor."""

from __future__ import annotations

from datetime import date

import pytest

from okr_core.cycles import CycleKind
from okr_core.errors import AlignmentCycleError, InvalidValue, UnknownReference
from okr_core.objectives import Level
from okr_core.tree import AlignmentTree

from .builders import cycle, kr, objective


def company_tree() -> AlignmentTree:
    """company <- bu <- dept <- team <- alice, and bob aligned straight to the company."""
    return AlignmentTree(
        cycles=[cycle()],
        objectives=[
            objective("company", level=Level.COMPANY),
            objective("bu", level=Level.BUSINESS_UNIT, parent_id="company"),
            objective("dept", level=Level.DEPARTMENT, parent_id="bu"),
            objective("team", level=Level.TEAM, parent_id="dept"),
            objective("alice", level=Level.INDIVIDUAL, parent_id="team"),
            objective("bob", level=Level.INDIVIDUAL, parent_id="company"),  # across levels
        ],
        key_results=[kr("kr-a", objective_id="alice"), kr("kr-t", objective_id="team")],
    )


def test_navigation():
    tree = company_tree()
    assert tree.depth() == 5
    assert tree.roots() == ("company",)
    assert set(tree.children("company")) == {"bu", "bob"}
    assert tree.ancestors("alice") == ("team", "dept", "bu", "company")
    assert tree.level_of("alice") == 5
    assert [k.id for k in tree.key_results_of("alice")] == ["kr-a"]
    order = [o.id for o in tree.bottom_up()]
    for child in tree.objectives.values():
        if child.parent_id is not None:
            assert order.index(child.id) < order.index(child.parent_id)


@pytest.mark.parametrize(
    ("child", "parent", "loop"),
    [
        ("company", "alice", ("company", "alice", "team", "dept", "bu", "company")),
        ("bu", "team", ("bu", "team", "dept", "bu")),
        ("team", "team", ("team", "team")),
    ],
)
def test_setting_a_descendant_as_parent_is_refused_and_nothing_changes(child, parent, loop):
    tree = company_tree()
    before = dict(tree.objectives)
    with pytest.raises(AlignmentCycleError) as caught:
        tree.set_parent(child, parent)
    assert caught.value.loop == loop
    assert f"`{child}` would become its own ancestor" in str(caught.value)
    assert " -> ".join(loop) in str(caught.value)
    assert dict(tree.objectives) == before


def test_set_parent_returns_a_new_tree():
    tree = company_tree()
    moved = tree.set_parent("alice", "bob")
    assert moved.ancestors("alice") == ("bob", "company")
    assert tree.ancestors("alice")[0] == "team"
    detached = moved.set_parent("bob", None)
    assert set(detached.roots()) == {"company", "bob"}


def test_a_loop_in_loaded_data_is_refused():
    with pytest.raises(AlignmentCycleError, match="would become its own ancestor"):
        AlignmentTree(
            cycles=[cycle()],
            objectives=[
                objective("a", parent_id="c"),
                objective("b", parent_id="a"),
                objective("c", parent_id="b"),
            ],
        )


def test_an_objective_cannot_be_its_own_parent():
    with pytest.raises(AlignmentCycleError):
        objective("a", parent_id="a")


def test_cycles_cannot_loop_either():
    year = cycle(
        id="2024", kind=CycleKind.ANNUAL, start=date(2024, 1, 1), end=date(2024, 12, 31), parent_id="q3"
    )
    with pytest.raises(AlignmentCycleError, match="cycle"):
        AlignmentTree(cycles=[year, cycle(id="q3", parent_id="2024")])


@pytest.mark.parametrize(
    ("objectives", "key_results", "field", "missing"),
    [
        ([objective("a", parent_id="ghost")], [], "parent_id", "ghost"),
        ([objective("a", cycle_id="2023-q1")], [], "cycle_id", "2023-q1"),
        ([objective("a")], [kr(objective_id="ghost")], "objective_id", "ghost"),
        ([objective("a")], [kr(objective_id="a", cycle_id="nope")], "cycle_id", "nope"),
    ],
)
def test_unknown_references_are_refused(objectives, key_results, field, missing):
    with pytest.raises(UnknownReference) as caught:
        AlignmentTree(cycles=[cycle()], objectives=objectives, key_results=key_results)
    assert (caught.value.field, caught.value.missing) == (field, missing)
    assert "does not exist" in str(caught.value)


def test_duplicate_ids_and_early_deadlines_are_refused():
    with pytest.raises(InvalidValue, match="share this id"):
        AlignmentTree(cycles=[cycle()], objectives=[objective("a"), objective("a")])
    with pytest.raises(InvalidValue, match="falls before its cycle"):
        AlignmentTree(
            cycles=[cycle()], objectives=[objective("o-1")], key_results=[kr(deadline=date(2024, 6, 1))]
        )


def test_with_changes_return_new_trees():
    tree = company_tree()
    bigger = tree.with_key_result(kr("kr-new", objective_id="bob"))
    assert "kr-new" in bigger.key_results
    assert "kr-new" not in tree.key_results
    renamed = tree.with_objective(objective("bob", title="Renamed", parent_id="company"))
    assert renamed.objectives["bob"].title == "Renamed"
    with pytest.raises(UnknownReference):
        tree.set_parent("nobody", "company")
    with pytest.raises(UnknownReference):
        tree.set_parent("bob", "nobody")
    assert AlignmentTree().depth() == 0
