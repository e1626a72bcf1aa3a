"""What a write-back run should send: finalized ratings, mapped onto the HCM's scale, minus what it holds.

Pure functions over plain values, so the decision "send or not" is testable without a store or
an HCM. A rating is sent when nothing was confirmed for its key, when the confirmed value differs,
or when the last attempt was rejected (an admin may have fixed the HCM since); never when it was
cancelled for that same value.

Example:
    ```python
    desired, problems = desired_ratings(finalized, settings)
    sends = plan_sends(desired, existing_rows)
    ```
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from hub.jobs.writeback.settings import WritebackSettings
from hub.ratings_contract import RatingWrite
from hub.store.models import OutboxStatus


class FinalRatingLike(Protocol):
    """What the job reads of a finalized rating (`hub.ratings.service.FinalRating`)."""

    @property
    def employee_id(self) -> str:
        """The HCM's employee id."""
        ...

    @property
    def value(self) -> int:
        """The calibrated value on our scale."""
        ...

    @property
    def label(self) -> str:
        """The scale's label of `value`."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredRating:
    """One finalized rating as the HCM should hold it."""

    key: str
    employee_id: str
    review_cycle: str
    field: str
    source_value: str
    value: str
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """A finalized rating that cannot be written (no scale mapping): recorded, never sent."""

    key: str
    employee_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxState:
    """What the outbox holds for one key, as far as planning cares."""

    status: str
    value: str
    confirmed_value: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedSend:
    """A write to send, and why (`new`, `changed`, `retry_rejected`, `pending`)."""

    desired: DesiredRating
    reason: str


def idempotency_key(review_cycle: str, employee_id: str, field: str) -> str:
    """The outbox key of one rating: `(review_cycle, employee_id, field)` joined by colons."""
    return f"{review_cycle}:{employee_id}:{field}"


def our_value(value: object) -> str:
    """Our rating value as scale-mapping text: `4`, not `4.0`."""
    if isinstance(value, float | Decimal) and value == int(value):
        return str(int(value))
    return str(value)


def desired_ratings(
    finalized: Iterable[FinalRatingLike], settings: WritebackSettings
) -> tuple[list[DesiredRating], list[Problem]]:
    """Every finalized rating in the HCM's scale, and the ones the scale mapping does not cover."""
    desired: list[DesiredRating] = []
    problems: list[Problem] = []
    for final in finalized:
        key = idempotency_key(settings.review_cycle, final.employee_id, settings.field)
        source = our_value(final.value)
        mapped = settings.scale.get(source)
        if mapped is None:
            known = ", ".join(sorted(settings.scale))
            problems.append(
                Problem(
                    key=key,
                    employee_id=final.employee_id,
                    reason=f"rating {source} ({final.label}) has no HCM value in `scale` (mapped: {known}); "
                    "add it to config/writeback/ratings.yaml",
                )
            )
            continue
        desired.append(
            DesiredRating(
                key=key,
                employee_id=final.employee_id,
                review_cycle=settings.review_cycle,
                field=settings.field,
                source_value=source,
                value=mapped,
                comment=final.label if settings.comment == "label" else None,
            )
        )
    return desired, problems


def plan_sends(desired: Sequence[DesiredRating], outbox: Mapping[str, OutboxState]) -> list[PlannedSend]:
    """The ratings to send: everything whose value the HCM is not known to hold.

    Rows still `sending` or `sent` must be settled (read back) before planning; they are planned
    like `pending` ones here, which is what a dry run shows.
    """
    sends: list[PlannedSend] = []
    for rating in desired:
        state = outbox.get(rating.key)
        if state is None:
            sends.append(PlannedSend(desired=rating, reason="new"))
        elif _settled(state, rating.value):
            continue
        elif state.status == OutboxStatus.REJECTED and state.value == rating.value:
            sends.append(PlannedSend(desired=rating, reason="retry_rejected"))
        elif state.value != rating.value:
            sends.append(PlannedSend(desired=rating, reason="changed"))
        else:
            sends.append(PlannedSend(desired=rating, reason="pending"))
    return sends


def _settled(state: OutboxState, value: str) -> bool:
    """The HCM holds `value` already, or an admin cancelled sending it."""
    cancelled = state.status == OutboxStatus.CANCELLED and state.value == value
    held = state.confirmed_value == value and state.status in (OutboxStatus.CONFIRMED, OutboxStatus.CANCELLED)
    return cancelled or held


def to_write(rating: DesiredRating, settings: WritebackSettings) -> RatingWrite:
    """The connector-facing write of one desired rating."""
    return RatingWrite(
        idempotency_key=rating.key,
        employee_id=rating.employee_id,
        review_cycle=rating.review_cycle,
        field=rating.field,
        value=rating.value,
        period_start=settings.period.start,
        period_end=settings.period.end,
        comment=rating.comment,
    )
