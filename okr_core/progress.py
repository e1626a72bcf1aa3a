"""Key-result progress: how far a value has come, per progress type (seed 003).

Progress is a fraction, 0.0 to 1.0 (0% to 100%). The unclamped *attainment* is kept beside it
for reports: 1.3 means 130% of the way, -0.2 means it went backwards.

| progress type    | attainment                                                      |
| ---------------- | --------------------------------------------------------------- |
| increase to      | (value - initial) / (target - initial)                          |
| decrease to      | (initial - value) / (initial - target)                          |
| stay above       | (value - critical) / (target - critical); no critical: met or not |
| stay below       | (critical - value) / (critical - target); no critical: met or not |
| achieved or not  | 1 when the value is 1, else 0                                   |

Progress is the attainment clamped to 0..1, so for stay above/below it is 100% at or beyond the
target, 0% at or beyond the critical number, and linear between.
"""

from __future__ import annotations

from dataclasses import dataclass

from okr_core.key_results import KeyResult, ProgressType


@dataclass(frozen=True, kw_only=True, slots=True)
class Progress:
    """A progress fraction (clamped to 0..1) and the unclamped attainment it came from.

    Example:
        p = key_result_progress(kr)
        print(f"{p.progress:.0%} ({p.attainment:.0%} of target)")
    """

    progress: float
    attainment: float


def clamp01(value: float) -> float:
    """Clamp `value` into 0.0..1.0."""
    if value <= 0.0:
        return 0.0
    if value >= 1.0:
        return 1.0
    return value


def attainment(
    progress_type: ProgressType,
    *,
    value: float,
    initial: float,
    target: float,
    critical: float | None = None,
) -> float:
    """The unclamped fraction of the way from start (or critical number) to target.

    The numbers are assumed valid for the progress type (a `KeyResult` checks them when built).

    Example:
        attainment(ProgressType.INCREASE_TO, value=10, initial=5, target=100)  # 5/95
    """
    if progress_type is ProgressType.INCREASE_TO:
        return (value - initial) / (target - initial)
    if progress_type is ProgressType.DECREASE_TO:
        return (initial - value) / (initial - target)
    if progress_type is ProgressType.STAY_ABOVE:
        if critical is None:
            return 1.0 if value >= target else 0.0
        return (value - critical) / (target - critical)
    if progress_type is ProgressType.STAY_BELOW:
        if critical is None:
            return 1.0 if value <= target else 0.0
        return (critical - value) / (critical - target)
    return 1.0 if value == target else 0.0


def key_result_progress(key_result: KeyResult, value: float | None = None) -> Progress:
    """Progress of a key result at its current value, or at `value` when given.

    Example:
        kr = KeyResult(id="kr", objective_id="o", cycle_id="q", title="Watch 100 recordings",
                       initial=5, target=100, current=10)
        key_result_progress(kr).progress  # 0.0526...
    """
    raw = attainment(
        key_result.progress_type,
        value=key_result.value if value is None else value,
        initial=key_result.initial,
        target=key_result.target,
        critical=key_result.critical,
    )
    return Progress(progress=clamp01(raw), attainment=raw)
