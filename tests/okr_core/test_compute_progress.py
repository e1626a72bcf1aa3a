"""The one-pass recompute agrees with the per-object rules, rolls up bottom-up and averages per person."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okr_core.key_results import Range
from okr_core.objectives import Level, Owner, OwnerKind, ProgressSource
from okr_core.progress import key_result_progress
from okr_core.rollup import ObjectiveProgress, ProgressMode, compute_progress, objective_progress
from okr_core.status import Colour, StatusThresholds
from okr_core.tree import AlignmentTree

from .builders import cycle, kr, objective, person

AS_OF = date(2024, 8, 15)  # 45 of 91 days into Q3: expected progress about 0.49


def sample_tree() -> AlignmentTree:
    return AlignmentTree(
        cycles=[cycle()],
        objectives=[
            objective(
                "company", level=Level.COMPANY, owner=person("ceo"), progress_source=ProgressSource.CHILDREN
            ),
            objective(
                "sales",
                level=Level.DEPARTMENT,
                owner=Owner(kind=OwnerKind.DEPARTMENT, id="d-sales"),
                parent_id="company",
                progress_source=ProgressSource.BOTH,
            ),
            objective("alice", level=Level.INDIVIDUAL, owner=person("alice"), parent_id="sales"),
            objective("bob", level=Level.INDIVIDUAL, owner=person("bob"), parent_id="sales"),
        ],
        key_results=[
            kr("a-1", objective_id="alice", unit="deals", target=10, current=6),
            kr("a-2", objective_id="alice", unit="calls", target=100, current=20, owners=("bob",)),
            kr("a-3", objective_id="alice", unit="demos", target=4, current=4, owners=("alice",)),
            kr("b-1", objective_id="bob", unit="deals", target=10, current=1),
            kr(
                "s-1", objective_id="sales", unit="pipeline", target=50, current=10, owners=("alice", "carol")
            ),
            kr(
                "s-2",
                objective_id="sales",
                target=100,
                current=106,
                range=Range(red_low=80, yellow_low=90, yellow_high=105, red_high=110),
            ),
            kr("late", objective_id="bob", unit="x", target=10, current=1, deadline=date(2024, 7, 31)),
        ],
    )


def test_report_matches_the_per_object_rules_bottom_up():
    tree = sample_tree()
    report = compute_progress(tree, AS_OF)
    for key_result in tree.key_results.values():
        expected = key_result_progress(key_result)
        assert report.key_results[key_result.id].progress == expected.progress
        assert report.key_results[key_result.id].attainment == expected.attainment
    for obj in tree.bottom_up():
        children = [report.objectives[c].progress for c in tree.children(obj.id)]
        assert report.objectives[obj.id].progress == objective_progress(
            obj, tree.key_results_of(obj.id), children=children
        )
    alice = (0.6 + 0.2 + 1.0) / 3
    bob = (0.1 + 0.1) / 2
    sales = ((alice + bob) / 2 + (0.2 + 1.0) / 2) / 2
    assert report.objectives["alice"].progress.progress == pytest.approx(alice)
    assert report.objectives["sales"].progress.mode is ProgressMode.BOTH
    assert report.objectives["sales"].progress.progress == pytest.approx(sales)
    assert report.objectives["company"].progress.progress == pytest.approx(sales)


def test_colours_in_the_report():
    report = compute_progress(sample_tree(), AS_OF)
    expected = 45 / 91
    assert report.key_results["a-1"].expected == pytest.approx(expected)
    assert report.key_results["a-1"].colour is Colour.GREEN  # 0.6 vs 0.49
    assert report.key_results["a-2"].colour is Colour.RED  # 0.2 vs 0.49
    assert report.key_results["late"].expected == 1.0  # its own deadline has passed
    assert report.key_results["late"].colour is Colour.RED
    assert report.key_results["s-2"].colour is Colour.YELLOW  # range: at or beyond yellow_high
    assert report.objectives["alice"].colour is Colour.GREEN
    assert report.objectives["bob"].colour is Colour.RED
    strict = compute_progress(
        sample_tree(), AS_OF, thresholds=StatusThresholds(yellow_behind=0.01, red_behind=0.02)
    )
    assert strict.objectives["sales"].colour is Colour.RED
    assert compute_progress(sample_tree(), date(2024, 7, 1)).objectives["bob"].colour is Colour.GREEN


def test_person_progress_counts_key_results_owned_on_other_peoples_objectives():
    # seed 001 "Owning Key Results On Other People's Objectives": owned goals and milestones owned on
    # someone else's goal are averaged into one individual progress
    report = compute_progress(sample_tree(), AS_OF)
    alice = report.objectives["alice"].progress.progress
    bob_objective = report.objectives["bob"].progress.progress
    # alice: her objective + s-1 on the department's objective (a-3 on her own objective is not counted twice)
    assert report.people["alice"].progress == pytest.approx((alice + 0.2) / 2)
    assert (report.people["alice"].objectives, report.people["alice"].key_results) == (1, 1)
    # bob: his objective + a-2 on alice's objective
    assert report.people["bob"].progress == pytest.approx((bob_objective + 0.2) / 2)
    # carol owns only a key result; the department owns an objective but is not a person
    assert report.people["carol"].progress == pytest.approx(0.2)
    assert "d-sales" not in report.people
    assert report.people["ceo"].objectives == 1


@st.composite
def random_trees(draw: st.DrawFn) -> AlignmentTree:
    count = draw(st.integers(min_value=1, max_value=12))
    objectives = []
    for i in range(count):
        parent = draw(st.none() | st.integers(min_value=0, max_value=i - 1)) if i else None
        objectives.append(
            objective(
                f"o{i}",
                owner=person(f"p{draw(st.integers(0, 3))}"),
                parent_id=None if parent is None else f"o{parent}",
                progress_source=draw(st.sampled_from(list(ProgressSource))),
            )
        )
    key_results = []
    for j in range(draw(st.integers(min_value=0, max_value=20))):
        key_results.append(
            kr(
                f"k{j}",
                objective_id=f"o{draw(st.integers(0, count - 1))}",
                unit=draw(st.sampled_from(["a", "b"])),
                current=draw(st.floats(min_value=-100, max_value=300)),
                owners=tuple(draw(st.sets(st.sampled_from(["p0", "p1", "p4"]), max_size=2))),
            )
        )
    return AlignmentTree(cycles=[cycle()], objectives=objectives, key_results=key_results)


@settings(max_examples=60)
@given(random_trees())
def test_everything_in_the_report_is_a_fraction(tree):
    report = compute_progress(tree, AS_OF)
    assert set(report.objectives) == set(tree.objectives)
    assert set(report.key_results) == set(tree.key_results)
    fractions: list[float] = [p.progress for p in report.people.values()]
    fractions += [o.progress.progress for o in report.objectives.values()]
    fractions += [k.progress for k in report.key_results.values()]
    assert all(0.0 <= f <= 1.0 for f in fractions)
    for obj in tree.objectives.values():
        children: list[ObjectiveProgress] = [report.objectives[c].progress for c in tree.children(obj.id)]
        recomputed = objective_progress(obj, tree.key_results_of(obj.id), children=children)
        assert report.objectives[obj.id].progress.progress == pytest.approx(recomputed.progress)
