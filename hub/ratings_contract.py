"""The rating write-back contract between the outbox job and an HCM connector (`RatingSink`).

Neither Workday's SOAP review-rating operation nor a BambooHR custom table knows our
idempotency keys, so exactly-once is the job's work: it records every write in an outbox
before sending, and after a crash reads the HCM back (`read_ratings`) to learn whether a write
that was sent but never confirmed landed, instead of sending it twice.

Example:
    ```python
    outcomes = list(sink.write_ratings([RatingWrite(idempotency_key="r1:1042:overall", ...)]))
    held = {(r.employee_id, r.field): r.value for r in sink.read_ratings(review_cycle="2026-annual")}
    ```
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol, runtime_checkable

from hub.contracts import Connector


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingWrite:
    """One rating to put in the HCM, in the HCM's own rating value (after the scale mapping)."""

    idempotency_key: str
    employee_id: str
    review_cycle: str
    field: str
    value: str
    period_start: date
    period_end: date
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteOutcome:
    """What the HCM said about one write.

    `confirmed`: the HCM holds the value; `rejected`: the HCM refused it (its own error in
    `detail`, an admin must act); `retry`: a transient failure, send again on a later run.
    """

    idempotency_key: str
    status: Literal["confirmed", "rejected", "retry"]
    detail: str = ""
    hcm_reference: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HcmRating:
    """A rating as the HCM holds it now (for confirmation after a crash, and for reconcile)."""

    employee_id: str
    review_cycle: str
    field: str
    value: str
    hcm_reference: str | None = None


@runtime_checkable
class RatingSink(Connector, Protocol):
    """An HCM ratings can be written back to (Workday, BambooHR)."""

    def write_ratings(self, writes: Sequence[RatingWrite]) -> Iterator[WriteOutcome]:
        """Send each write once; one outcome per write, in order. Auth failures raise."""
        ...

    def read_ratings(
        self, *, review_cycle: str, employee_ids: Sequence[str] | None = None
    ) -> Iterator[HcmRating]:
        """What the HCM holds for this review cycle (every employee, or the ones named)."""
        ...
