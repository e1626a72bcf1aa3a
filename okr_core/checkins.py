"""Check-ins: a new value for a key result, with a note, a confidence, a time and an author.

A check-in is made by a person or by a connector; a connector's check-in carries its provenance
(connection, mapping, run, query and raw result) so an admin can see where a number came from.
History is kept by the caller: `record_check_in` never discards a check-in, it returns the key
result updated by it, and the accepted `CheckIn` is what the store appends to the history.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from okr_core._checks import require_finite, require_id
from okr_core.cycles import Cycle, CycleState
from okr_core.errors import CheckInRefused, InvalidValue
from okr_core.key_results import KeyResult, KeyResultState, MeasurementType
from okr_core.progress import key_result_progress


@dataclass(frozen=True, kw_only=True, slots=True)
class PersonAuthor:
    """A person who checked in by hand."""

    person_id: str

    def __post_init__(self) -> None:
        require_id("check-in author", "person_id", self.person_id)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectorAuthor:
    """A connector that checked in, and how it got the value.

    Example:
        ConnectorAuthor(connection="salesforce-prod", mapping="kr_pipeline_q3", run_id="run-881",
                        query="SELECT SUM(Amount) FROM Opportunity WHERE ...",
                        raw_result='{"totalSize": 1, "records": [{"expr0": 412000.0}]}')
    """

    connection: str
    mapping: str
    run_id: str
    query: str
    raw_result: str

    def __post_init__(self) -> None:
        for field in ("connection", "mapping", "run_id"):
            require_id("check-in author", field, getattr(self, field))


Author = PersonAuthor | ConnectorAuthor


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckIn:
    """One update of a key result's value.

    `confidence` (0..10) says how sure the author is the key result will be met; connectors
    usually leave it unset. `at` must be timezone-aware.

    Example:
        CheckIn(id="ci-1", key_result_id="kr-1", value=10, note="watched 5 more recordings",
                confidence=7, at=datetime(2024, 8, 1, 9, 0, tzinfo=UTC),
                author=PersonAuthor(person_id="p-42"))
    """

    id: str
    key_result_id: str
    value: float
    at: datetime
    author: Author
    note: str = ""
    confidence: int | None = None

    def __post_init__(self) -> None:
        subject = f"check-in `{self.id}`"
        require_id(subject, "id", self.id)
        require_id(subject, "key_result_id", self.key_result_id)
        require_finite(subject, "value", self.value)
        if self.at.utcoffset() is None:
            raise InvalidValue(subject, "at", self.at, "must be timezone-aware; attach tzinfo (UTC)")
        if self.confidence is not None and (
            isinstance(self.confidence, bool)
            or not isinstance(self.confidence, int)
            or not 0 <= self.confidence <= 10
        ):
            raise InvalidValue(
                subject,
                "confidence",
                self.confidence,
                "confidence is a whole number from 0 (no chance) to 10 (certain); leave it unset if unknown",
            )


def record_check_in(key_result: KeyResult, check_in: CheckIn, *, cycle: Cycle) -> KeyResult:
    """Apply a check-in and return the updated key result; the inputs are left untouched.

    The first check-in moves a draft key result to in progress; reaching 100% closes it
    (seed 003). A check-in dated before the latest one is accepted into history but does not
    replace the current value.

    Raises:
        CheckInRefused: The cycle is not in progress, the check-in predates the cycle, the key
            result is closed, or its hard deadline has passed. The reason says which.
        InvalidValue: A binary key result got a value other than 0 or 1.

    Example:
        kr = record_check_in(kr, check_in, cycle=q3)
        store.save(kr, history=[*history, check_in])
    """
    _refuse_if_not_open(key_result, check_in, cycle)
    if key_result.measurement is MeasurementType.BINARY and check_in.value not in (0, 1):
        raise InvalidValue(
            f"check-in `{check_in.id}`",
            "value",
            check_in.value,
            f"key result `{key_result.id}` is binary; check in 1 when done, 0 when not",
        )
    latest = key_result.last_check_in_at is None or check_in.at >= key_result.last_check_in_at
    if not latest:
        state = KeyResultState.IN_PROGRESS if key_result.state is KeyResultState.DRAFT else key_result.state
        return dataclasses.replace(key_result, state=state)
    progress = key_result_progress(key_result, check_in.value).progress
    state = KeyResultState.CLOSED if progress >= 1.0 else KeyResultState.IN_PROGRESS
    return dataclasses.replace(
        key_result, current=float(check_in.value), last_check_in_at=check_in.at, state=state
    )


def reopen_key_result(key_result: KeyResult) -> KeyResult:
    """Move a closed key result back to in progress, e.g. when a stay-above value must keep being tracked."""
    if key_result.state is not KeyResultState.CLOSED:
        return key_result
    return dataclasses.replace(key_result, state=KeyResultState.IN_PROGRESS)


def _refuse_if_not_open(key_result: KeyResult, check_in: CheckIn, cycle: Cycle) -> None:
    kr_id = key_result.id
    if check_in.key_result_id != kr_id:
        raise CheckInRefused(kr_id, f"the check-in is for key result `{check_in.key_result_id}`")
    if key_result.cycle_id != cycle.id:
        raise CheckInRefused(
            kr_id,
            f"the key result belongs to cycle `{key_result.cycle_id}`, not `{cycle.id}`; pass its cycle",
        )
    if cycle.state is CycleState.DRAFT:
        raise CheckInRefused(
            kr_id, f"cycle `{cycle.id}` has not started (state draft); start the cycle before checking in"
        )
    if cycle.state is CycleState.CLOSED:
        raise CheckInRefused(
            kr_id,
            f"cycle `{cycle.id}` is closed; check in on the key result rolled over into the next cycle",
        )
    day = check_in.at.date()
    if day < cycle.start:
        raise CheckInRefused(
            kr_id,
            f"the check-in is dated {day.isoformat()}, before cycle `{cycle.id}` starts on "
            f"{cycle.start.isoformat()}; date it within the cycle",
        )
    if key_result.state is KeyResultState.CLOSED:
        raise CheckInRefused(
            kr_id, "the key result is closed (its progress reached 100%); reopen it to keep checking in"
        )
    deadline = key_result.deadline_in(cycle)
    if key_result.hard_deadline and day > deadline:
        raise CheckInRefused(
            kr_id,
            f"its hard deadline {deadline.isoformat()} has passed (check-in dated {day.isoformat()}); "
            "a key result with a hard deadline cannot be updated after it; ask an OKR manager to move "
            "the deadline",
        )
