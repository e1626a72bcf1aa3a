"""The public surface of okr_core is short, sorted and importable."""

from __future__ import annotations

import okr_core


def test_all_is_sorted_and_importable():
    assert okr_core.__all__ == sorted(okr_core.__all__)
    assert len(okr_core.__all__) <= 12
    for name in okr_core.__all__:
        assert getattr(okr_core, name) is not None


def test_pinned_names():
    assert okr_core.__all__ == [
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
