"""The OKR domain: cycles, objectives, key results, check-ins and their progress rules. Pure Python, no I/O.

Modules, one job each: `cycles`, `objectives`, `key_results`, `checkins`, `progress` (key-result
rules), `rollup` (objective and person progress, whole-tree recompute), `status` (colours),
`grading` (cycle close), `rollover`, `health`, `tree` (alignment, loop detection), `errors`.

Numbers are floats; progress is a fraction from 0.0 to 1.0. Every value object is a frozen,
keyword-only dataclass with ids, so a store can load and save it. Only the most used names are
exported here; import everything else from its module.

Example:
    tree = AlignmentTree(cycles=[q3], objectives=objectives, key_results=key_results)
    report = compute_progress(tree, as_of=date(2024, 8, 15))
"""

from __future__ import annotations

from okr_core.checkins import CheckIn, record_check_in
from okr_core.cycles import Cycle
from okr_core.errors import OkrError
from okr_core.key_results import KeyResult
from okr_core.objectives import Objective
from okr_core.rollup import ProgressReport, compute_progress
from okr_core.tree import AlignmentTree

__all__ = [
    "AlignmentTree",
    "CheckIn",
    "Cycle",
    "KeyResult",
    "Objective",
    "OkrError",
    "ProgressReport",
    "compute_progress",
    "record_check_in",
]
