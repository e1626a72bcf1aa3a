"""Importing ratings files: file:line errors, idempotency, CSV, and the finalized lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from hub.errors import ConfigErrors
from hub.ratings.document import read_ratings_file
from hub.ratings.importing import import_ratings
from hub.ratings.service import calibrate_rating, finalize_cycle
from hub.store.models import StoredRating
from okr_core.ratings import RatingRefused

from .conftest import BASE, ImportText, line_of


def _errors(exc: pytest.ExceptionInfo[ConfigErrors]) -> list[tuple[int | None, str | None, str]]:
    return [(e.line, e.field, e.reason) for e in exc.value.errors]


def test_import_is_idempotent(import_text: ImportText, people: Engine) -> None:
    first = import_text()
    assert first.counts == {
        "review_cycles": {"created": 1, "updated": 0, "unchanged": 0},
        "ratings": {"created": 5, "updated": 0, "unchanged": 0},
    }
    again = import_text()
    assert not again.changed
    assert again.counts["ratings"] == {"created": 0, "updated": 0, "unchanged": 5}


def test_a_changed_manager_rating_never_undoes_a_calibration(import_text: ImportText, people: Engine) -> None:
    import_text()
    calibrate_rating(people, employee="1004", new_value=4, by="1003", rationale="strong year")
    changed = BASE.replace('"1004", rating: 3', '"1004", rating: 2').replace(
        '"1005", rating: 4', '"1005", rating: 5'
    )
    result = import_text(changed)
    assert result.counts["ratings"] == {"created": 0, "updated": 2, "unchanged": 3}
    with people.connect() as conn:
        rows = {
            r.employee_id: (r.manager_value, r.current_value)
            for r in conn.execute(
                select(StoredRating.employee_id, StoredRating.manager_value, StoredRating.current_value)
            )
        }
    assert rows["1004"] == (2, 4)
    assert rows["1005"] == (5, 5)


def test_errors_name_file_line_and_field(import_text: ImportText, people: Engine) -> None:
    text = (
        BASE.replace('"1005", rating: 4', '"9999", rating: 4')
        .replace('"1008", rating: 3', '"1008", rating: 7')
        .replace('"1006", rating: 5, potential: 1', '"1006", rating: 5, potental: 1')
    )
    with pytest.raises(ConfigErrors) as exc:
        import_text(text)
    assert _errors(exc) == [(line_of(text, "potental"), "ratings[2].potental", "unknown key `potental`")]
    text = text.replace("potental", "potential")
    with pytest.raises(ConfigErrors) as exc:
        import_text(text)
    errors = _errors(exc)
    assert [(line, field) for line, field, _ in errors] == [
        (line_of(text, '"9999"'), "ratings[1].employee"),
        (line_of(text, '"1008"'), "ratings[3].rating"),
    ]
    assert "unknown person `9999`" in errors[0][2]
    assert "not on the rating scale" in errors[1][2]
    with people.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(StoredRating)) == 0


def test_a_bad_scale_or_guideline_points_at_the_cycle(import_text: ImportText) -> None:
    text = BASE.replace("{value: 2, label: Partly}", "{value: 1, label: Partly}")
    with pytest.raises(ConfigErrors) as exc:
        import_text(text)
    [(line, field, reason)] = _errors(exc)
    assert (line, field) == (line_of(text, "scale:") + 1, "review_cycle.scale")
    assert "only once" in reason
    text = BASE.replace("3: 0.6", "3: 0.3")
    with pytest.raises(ConfigErrors) as exc:
        import_text(text)
    assert "add up to 1" in _errors(exc)[0][2]


def test_a_finalized_cycle_refuses_imports(import_text: ImportText, people: Engine) -> None:
    import_text()
    finalize_cycle(people, by="1001")
    with pytest.raises(RatingRefused, match="finalized and its ratings are locked"):
        import_text()


def test_csv_ratings_for_a_stored_cycle(import_text: ImportText, people: Engine, tmp_path: Path) -> None:
    path = tmp_path / "more.csv"
    path.write_text(
        "review_cycle,employee,rating,potential\nr-2026,1004,3,\nr-2026,1007,4,4\nr-2026,1008,x,\n"
    )
    with pytest.raises(ConfigErrors) as exc:
        read_ratings_file(path)
    assert [(e.line, e.column, e.field) for e in exc.value.errors] == [(4, 3, "rating")]
    path.write_text("review_cycle,employee,rating,potential\nr-2026,1004,3,5\nr-2026,1007,4,4\n")
    with pytest.raises(ConfigErrors, match="unknown review cycle `r-2026`"):
        import_ratings(people, read_ratings_file(path))
    import_text()
    result = import_ratings(people, read_ratings_file(path))
    assert result.counts["ratings"] == {"created": 1, "updated": 0, "unchanged": 1}


def test_a_new_scale_must_keep_the_stored_values(import_text: ImportText) -> None:
    import_text()
    smaller = (
        BASE.replace("    - {value: 5, label: Exceptional}\n", "")
        .replace(", 5: 0.1}", "}")
        .replace("4: 0.1}", "4: 0.2}")
    )
    smaller = smaller.replace('  - {employee: "1006", rating: 5, potential: 1}\n', "")
    with pytest.raises(ConfigErrors, match="which the new scale lacks"):
        import_text(smaller)
