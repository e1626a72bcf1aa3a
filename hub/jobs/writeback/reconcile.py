"""Compare what the HCM holds with the finalized ratings, and report every difference.

Catches what the outbox cannot see: a rating changed in the HCM by hand, a row deleted there, a
rating for someone we never rated. It reads only; it never writes to the HCM or the outbox.

Example:
    ```python
    report = reconcile(runtime.engine, sink, settings)
    for mismatch in report.mismatches:
        print(mismatch.employee_id, mismatch.kind, mismatch.expected, mismatch.held)
    ```
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine

from hub.jobs.writeback.plan import desired_ratings
from hub.jobs.writeback.run import FinalizedRatings
from hub.jobs.writeback.settings import WritebackSettings
from hub.ratings.service import finalized_ratings
from hub.ratings_contract import RatingSink


@dataclass(frozen=True, slots=True, kw_only=True)
class Mismatch:
    """One difference between the HCM and the finalized ratings.

    `missing`: the HCM holds nothing; `different`: it holds another value (changed by hand?);
    `unexpected`: it holds a rating we have none for; `unmapped`: ours has no HCM value.
    """

    employee_id: str
    kind: str
    expected: str | None
    held: str | None
    hcm_reference: str | None = None


@dataclass
class ReconcileResult:
    """The outcome of a reconcile: how many agree, and every mismatch."""

    connection: str
    review_cycle: str
    matching: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "connection": self.connection,
            "review_cycle": self.review_cycle,
            "matching": self.matching,
            "mismatch_count": len(self.mismatches),
            "mismatches": [asdict(m) for m in self.mismatches],
        }


def reconcile(
    engine: Engine,
    sink: RatingSink,
    settings: WritebackSettings,
    *,
    finalized: FinalizedRatings = finalized_ratings,
    on_read: Callable[[int], None] | None = None,
) -> ReconcileResult:
    """Read the cycle back from the HCM and compare it with the finalized ratings (mapped)."""
    desired, problems = desired_ratings(finalized(engine, settings.review_cycle), settings)
    held = {
        r.employee_id: r
        for r in sink.read_ratings(review_cycle=settings.review_cycle)
        if r.field == settings.field
    }
    if on_read is not None:
        on_read(len(held))
    result = ReconcileResult(connection=settings.connection, review_cycle=settings.review_cycle)
    for problem in problems:
        hcm = held.pop(problem.employee_id, None)
        result.mismatches.append(
            Mismatch(
                employee_id=problem.employee_id,
                kind="unmapped",
                expected=None,
                held=hcm.value if hcm else None,
            )
        )
    for rating in desired:
        hcm = held.pop(rating.employee_id, None)
        if hcm is None:
            result.mismatches.append(
                Mismatch(employee_id=rating.employee_id, kind="missing", expected=rating.value, held=None)
            )
        elif hcm.value != rating.value:
            result.mismatches.append(
                Mismatch(
                    employee_id=rating.employee_id,
                    kind="different",
                    expected=rating.value,
                    held=hcm.value,
                    hcm_reference=hcm.hcm_reference,
                )
            )
        else:
            result.matching += 1
    result.mismatches.extend(
        Mismatch(
            employee_id=who,
            kind="unexpected",
            expected=None,
            held=hcm.value,
            hcm_reference=hcm.hcm_reference,
        )
        for who, hcm in sorted(held.items())
    )
    return result
