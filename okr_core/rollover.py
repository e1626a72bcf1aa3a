"""Rolling unfinished key results over into the next cycle.

A rolled-over key result starts where the old one stopped: its current value becomes the new
initial number, it is a draft again with no check-ins, its deadline is the new cycle's end, and
`rolled_over_from` points back at the original, which stays in its closed cycle with its grade.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping

from okr_core.cycles import Cycle, CycleState
from okr_core.errors import InvalidValue, UnknownReference
from okr_core.key_results import KeyResult, KeyResultState, ProgressType
from okr_core.progress import key_result_progress


def is_unfinished(key_result: KeyResult) -> bool:
    """True when the key result is not closed and below 100%."""
    return key_result.state is not KeyResultState.CLOSED and key_result_progress(key_result).progress < 1.0


def roll_over(
    key_results: Iterable[KeyResult],
    *,
    target: Cycle,
    objective_ids: Mapping[str, str] | None = None,
    new_id: Callable[[KeyResult], str] | None = None,
) -> tuple[KeyResult, ...]:
    """The rolled-over copies, in `target`, of the unfinished key results among `key_results`.

    Args:
        key_results: Candidates; finished ones (closed or at 100%) are skipped.
        target: The cycle to roll into; it must not be closed.
        objective_ids: Old objective id -> objective in the target cycle. Without it the copies
            stay on their objectives. With it, every objective of an unfinished key result must
            be mapped.
        new_id: Id of the copy; default ``"<old id>@<target cycle id>"``.

    Raises:
        InvalidValue: The target is closed, or a key result already belongs to it.
        UnknownReference: `objective_ids` lacks an objective.

    Example:
        q4_krs = roll_over(closing_krs, target=q4, objective_ids={"o-1": "o-1-q4"})
    """
    if target.state is CycleState.CLOSED:
        raise InvalidValue(
            f"cycle `{target.id}`",
            "state",
            target.state.value,
            "cannot roll over into a closed cycle; pick an open one",
        )
    rolled: list[KeyResult] = []
    for kr in key_results:
        if kr.cycle_id == target.id:
            raise InvalidValue(
                f"key result `{kr.id}`",
                "cycle_id",
                kr.cycle_id,
                "is already in the target cycle; roll over from an earlier one",
            )
        if not is_unfinished(kr):
            continue
        objective_id = kr.objective_id
        if objective_ids is not None:
            if kr.objective_id not in objective_ids:
                raise UnknownReference(f"key result `{kr.id}`", "objective_ids", kr.objective_id)
            objective_id = objective_ids[kr.objective_id]
        carried = kr.initial if kr.progress_type is ProgressType.ACHIEVED_OR_NOT else kr.value
        rolled.append(
            dataclasses.replace(
                kr,
                id=new_id(kr) if new_id is not None else f"{kr.id}@{target.id}",
                objective_id=objective_id,
                cycle_id=target.id,
                initial=carried,
                state=KeyResultState.DRAFT,
                current=None,
                last_check_in_at=None,
                deadline=None,
                rolled_over_from=kr.id,
            )
        )
    return tuple(rolled)
