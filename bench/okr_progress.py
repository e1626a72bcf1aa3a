"""Benchmark: recompute progress for an alignment tree of 10,000 objectives and 40,000 key results.

Run with ``python bench/okr_progress.py``. The tree is built deterministically (seeded), then
`compute_progress` runs several times; the script prints the time of each run, the best and
median, and the peak memory of one run measured with tracemalloc (in a separate run, because
tracing slows Python down). The target is under one second per recompute.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from okr_core.cycles import Cycle, CycleKind, CycleState
from okr_core.key_results import (
    KeyResult,
    KeyResultState,
    MeasurementType,
    ProgressType,
    Range,
)
from okr_core.objectives import (
    Level,
    Objective,
    ObjectiveKind,
    ObjectiveTarget,
    Owner,
    OwnerKind,
    ProgressSource,
)
from okr_core.rollup import compute_progress
from okr_core.tree import AlignmentTree

OBJECTIVES = 10_000
KRS_PER_OBJECTIVE = 4
PEOPLE = 2_500
REPETITIONS = 7
AS_OF = date(2024, 8, 15)
LEVELS = [
    (Level.COMPANY, 10),
    (Level.BUSINESS_UNIT, 40),
    (Level.DEPARTMENT, 400),
    (Level.TEAM, 2_000),
    (Level.INDIVIDUAL, OBJECTIVES - 2_450),
]


def build_tree(seed: int = 20240815) -> AlignmentTree:
    rng = random.Random(seed)
    year = Cycle(
        id="2024",
        name="FY2024",
        kind=CycleKind.ANNUAL,
        start=date(2024, 1, 1),
        end=date(2024, 12, 31),
        state=CycleState.IN_PROGRESS,
    )
    q3 = Cycle(
        id="2024-q3",
        name="Q3 2024",
        kind=CycleKind.QUARTERLY,
        start=date(2024, 7, 1),
        end=date(2024, 9, 30),
        parent_id="2024",
        state=CycleState.IN_PROGRESS,
    )
    objectives: list[Objective] = []
    previous: list[str] = []
    for level, count in LEVELS:
        current: list[str] = []
        for i in range(count):
            oid = f"{level.value}-{i}"
            is_person = level in (Level.INDIVIDUAL, Level.TEAM) or rng.random() < 0.5
            owner = (
                Owner(kind=OwnerKind.PERSON, id=f"p-{rng.randrange(PEOPLE)}")
                if is_person
                else Owner(kind=OwnerKind.DEPARTMENT, id=f"d-{rng.randrange(200)}")
            )
            roll = rng.random()
            source = (
                ProgressSource.BOTH
                if roll < 0.1 and level is not Level.INDIVIDUAL
                else ProgressSource.CHILDREN
                if roll < 0.15 and level is not Level.INDIVIDUAL
                else ProgressSource.KEY_RESULTS
            )
            target = (
                ObjectiveTarget(unit="USD", auto=rng.random() < 0.5, value=2_000_000) if roll > 0.97 else None
            )
            objectives.append(
                Objective(
                    id=oid,
                    title=f"Objective {oid}",
                    cycle_id="2024" if level is Level.COMPANY else "2024-q3",
                    level=level,
                    owner=owner,
                    kind=ObjectiveKind.ASPIRATIONAL if rng.random() < 0.3 else ObjectiveKind.COMMITTED,
                    parent_id=rng.choice(previous) if previous and rng.random() < 0.95 else None,
                    progress_source=source,
                    target=target,
                )
            )
            current.append(oid)
        previous = current
    key_results = [
        _key_result(rng, objective, n) for objective in objectives for n in range(KRS_PER_OBJECTIVE)
    ]
    return AlignmentTree(cycles=[year, q3], objectives=objectives, key_results=key_results)


def _key_result(rng: random.Random, objective: Objective, n: int) -> KeyResult:
    kr_id = f"{objective.id}-kr{n}"
    base: dict[str, Any] = {
        "id": kr_id,
        "objective_id": objective.id,
        "cycle_id": objective.cycle_id,
        "title": f"Key result {kr_id}",
        "owners": (f"p-{rng.randrange(PEOPLE)}",) if rng.random() < 0.3 else (),
        "weight": rng.choice((None, None, None, 2.0, 0.5)),
        "last_check_in_at": datetime(2024, 8, 1, tzinfo=UTC) + timedelta(days=rng.randrange(14)),
        "state": KeyResultState.IN_PROGRESS,
    }
    kind = rng.random()
    if kind < 0.45:
        return KeyResult(**base, initial=0, target=100, unit="deals", current=rng.uniform(0, 120))
    if kind < 0.6:
        return KeyResult(
            **base,
            progress_type=ProgressType.DECREASE_TO,
            initial=45,
            target=20,
            unit="minutes",
            current=rng.uniform(15, 50),
        )
    if kind < 0.7:
        return KeyResult(
            **base,
            progress_type=ProgressType.STAY_ABOVE,
            initial=12,
            target=10,
            critical=6,
            measurement=MeasurementType.PERCENTAGE,
            current=rng.uniform(4, 14),
        )
    if kind < 0.8:
        return KeyResult(
            **base,
            progress_type=ProgressType.STAY_BELOW,
            target=100,
            critical=110,
            initial=98,
            range=Range(red_low=80, yellow_low=90, yellow_high=103, red_high=110),
            current=rng.uniform(85, 115),
        )
    if kind < 0.9:
        return KeyResult(
            **base,
            progress_type=ProgressType.ACHIEVED_OR_NOT,
            measurement=MeasurementType.BINARY,
            initial=0,
            target=1,
            current=float(rng.random() < 0.4),
        )
    return KeyResult(
        **base,
        measurement=MeasurementType.CURRENCY,
        currency="USD",
        initial=0,
        target=500_000,
        current=rng.uniform(0, 600_000),
    )


def main() -> None:
    started = time.perf_counter()
    tree = build_tree()
    built = time.perf_counter() - started
    print(
        f"tree: {len(tree.objectives):,} objectives, {len(tree.key_results):,} key results, "
        f"depth {tree.depth()}; built and validated in {built:.3f} s"
    )
    timings = []
    for rep in range(1, REPETITIONS + 1):
        t0 = time.perf_counter()
        report = compute_progress(tree, AS_OF)
        elapsed = time.perf_counter() - t0
        timings.append(elapsed)
        print(f"  run {rep}: compute_progress {elapsed:.3f} s ({len(report.people):,} people)")
    print(
        f"compute_progress: best {min(timings):.3f} s, median {statistics.median(timings):.3f} s, "
        f"worst {max(timings):.3f} s over {REPETITIONS} runs"
    )
    tracemalloc.start()
    compute_progress(tree, AS_OF)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory of one compute_progress run (tracemalloc): {peak / 2**20:.1f} MiB")
    tracemalloc.start()
    build_tree()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory of building the tree (tracemalloc): {peak / 2**20:.1f} MiB")
    verdict = "OK" if statistics.median(timings) < 1.0 else "TOO SLOW"
    print(f"target: under 1 s per recompute -> {verdict}")


if __name__ == "__main__":
    main()
