"""The okr_core error tree: ValueErrors, picklable, structured, with messages that say what to do."""

from __future__ import annotations

import pickle

import pytest

from okr_core.errors import (
    AlignmentCycleError,
    CheckInRefused,
    InvalidTransition,
    InvalidValue,
    OkrError,
    UnknownReference,
)

ERRORS = [
    OkrError("plain"),
    InvalidValue("key result `kr-1`", "target", 10.0, "equals the initial number"),
    UnknownReference("objective `o-2`", "parent_id", "o-9"),
    AlignmentCycleError("objective", "o-1", "o-3", ("o-1", "o-3", "o-2", "o-1")),
    InvalidTransition("cycle `q3`", "closed", "in_progress", "a closed cycle stays closed"),
    CheckInRefused("kr-1", "cycle `q3` is closed"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_pickles_with_its_fields(error):
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert str(clone) == str(error)
    assert clone.attrs() == error.attrs()
    assert isinstance(clone, ValueError)
    assert isinstance(clone, OkrError)


def test_messages_name_the_object_the_value_and_the_fix():
    assert str(ERRORS[1]) == "key result `kr-1`: `target` = 10.0: equals the initial number"
    assert "create `o-9` first" in str(ERRORS[2])
    assert "o-1 -> o-3 -> o-2 -> o-1" in str(ERRORS[3])
    assert str(ERRORS[5]) == "check-in on key result `kr-1` refused: cycle `q3` is closed"
    assert ERRORS[3].attrs()["loop"] == ["o-1", "o-3", "o-2", "o-1"]
