"""Read a ratings file (YAML or CSV) into a validated `RatingsFile` that still knows where everything was.

YAML carries the review cycle's definition (scale, calibration levels, guideline) and the
managers' ratings; CSV carries ratings only, one a row, for a review cycle already in the store
(import its YAML definition first). Every problem is reported as `file:line:column: field ...`,
YAML positions from ruamel's round-trip tree, CSV positions from the row's line and the column.

Example:
    ```yaml
    version: 1
    review_cycle:
      key: acme-2026
      name: Acme annual review 2026
      okr_cycle: "2026"
      levels: [manager, director, vp]
      scale:
        - {value: 1, label: Below}
        - {value: 3, label: Meets}
        - {value: 5, label: Exceptional}
      guideline: {1: 0.1, 3: 0.8, 5: 0.1}
    ratings:
      - {employee: 1042, rating: 3, potential: 5}
    ```

    CSV: ``review_cycle,employee,rating,potential`` then ``acme-2026,1042,3,5``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import ErrorDetails

from hub.config.messages import (
    MAPPING_ERRORS,
    KnownKeysAt,
    sort_errors,
    validation_errors,
    validation_message,
)
from hub.config.yaml_source import Loc, Locator, parse_yaml_mapping, read_source, to_plain
from hub.errors import ConfigError, ConfigErrors
from hub.okrs.source import YamlLocator, detect_format
from okr_core.ratings import DEFAULT_TOLERANCE

Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
"""A review cycle's external key."""

CSV_COLUMNS = ("review_cycle", "employee", "rating", "potential")
"""The columns of a ratings CSV (`potential` may be left empty or left out)."""


class _Entry(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, coerce_numbers_to_str=True
    )


class ScaleEntry(_Entry):
    """One point of the rating scale."""

    value: int
    """The number stored and written back, e.g. 3."""
    label: str
    """What it means, e.g. `Meets`."""


class ReviewCycleEntry(_Entry):
    """A review cycle: its scale, calibration levels and guideline distribution."""

    key: Key
    """External key, e.g. `acme-2026`; the CLI's `--cycle` names it."""
    name: str
    """Display name."""
    scale: list[ScaleEntry]
    """The rating scale, lowest value first."""
    levels: list[str] = Field(default_factory=lambda: ["manager"])
    """Calibration levels bottom-up: the first is the manager, the next the manager's manager, ..."""
    okr_cycle: Key | None = None
    """Key of the OKR cycle whose progress `okrhub ratings show` puts beside each rating."""
    guideline: dict[int, float] | None = None
    """Expected share of each scale value (0..1, adding up to 1)."""
    tolerance: float = DEFAULT_TOLERANCE
    """How far (a share, 0.1 = 10 points) a value may stray from the guideline before it is flagged."""


class RatingEntry(_Entry):
    """A manager's rating of one person."""

    employee: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]
    """Employee id or email of the person rated."""
    rating: int
    """The manager's rating, a value of the scale."""
    potential: int | None = None
    """Potential on the same scale, for the 9-box (optional)."""


class RatingsDocument(_Entry):
    """A whole YAML ratings file."""

    version: Literal[1] = 1
    """Version of this file's format."""
    review_cycle: ReviewCycleEntry
    """The review cycle the ratings belong to."""
    ratings: list[RatingEntry] = Field(default_factory=list)
    """The managers' ratings."""


@dataclass(frozen=True, slots=True)
class RatingsFile:
    """A validated ratings file: the cycle definition (YAML only) or key, the ratings, and positions.

    `rating_loc(i)` is the location of the i-th rating, for `locator.error`.
    """

    source: str
    review_cycle_key: str
    review_cycle: ReviewCycleEntry | None
    ratings: tuple[RatingEntry, ...]
    locator: Locator

    @staticmethod
    def rating_loc(index: int) -> Loc:
        """Where the `index`-th rating is, as a document location."""
        return ("ratings", index)


def read_ratings_file(path: Path, *, format_name: str | None = None) -> RatingsFile:
    """Read and validate the ratings file at `path` (`.yaml`/`.yml` or `.csv`).

    Raises:
        ConfigErrors: Every problem of the file's shape, each with file, line and field.
    """
    source = str(path)
    fmt = detect_format(path, format_name)
    text = read_source(path, what="ratings file")
    if fmt == "csv":
        return parse_ratings_csv(text, source=source)
    return parse_ratings_yaml(text, source=source)


def parse_ratings_yaml(text: str, *, source: str) -> RatingsFile:
    """Validate ratings YAML given as text; `source` is the file name errors report.

    Raises:
        ConfigErrors: Syntax errors, or every shape problem, each with its position.
    """
    message = "the top level must be a mapping with `version: 1`, `review_cycle:` and `ratings:`"
    root = parse_yaml_mapping(text, source=source, not_a_mapping=message)
    plain = to_plain(root)
    locator = YamlLocator(source, root, plain)
    try:
        document = RatingsDocument.model_validate(plain)
    except ValidationError as exc:
        raise ConfigErrors(_errors(exc, locator)) from None
    return RatingsFile(
        source=source,
        review_cycle_key=document.review_cycle.key,
        review_cycle=document.review_cycle,
        ratings=tuple(document.ratings),
        locator=locator,
    )


class CsvLocator:
    """Positions of CSV cells: the row's line and the column's number, the header as the field."""

    def __init__(self, source: str, header: list[str], lines: list[int]) -> None:
        self.source = source
        self._columns = {name: index + 1 for index, name in enumerate(header)}
        self._lines = lines

    def error(self, message: str, loc: Loc, *, at_key: bool = False) -> ConfigError:
        """An error about `("ratings", row, column)`, or about the file when `loc` names no row."""
        if len(loc) >= 2 and isinstance(loc[1], int) and 0 <= loc[1] < len(self._lines):
            column = str(loc[2]) if len(loc) > 2 else None
            return ConfigError(
                message,
                file=self.source,
                line=self._lines[loc[1]],
                column=self._columns.get(column) if column else None,
                field=column,
            )
        return ConfigError(message, file=self.source, line=1)


def parse_ratings_csv(text: str, *, source: str) -> RatingsFile:
    """Validate a ratings CSV given as text (a header row, then one rating a row).

    Raises:
        ConfigErrors: A missing or unknown column, several review cycles, or a bad cell.
    """
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(reader, [])]
    missing = [name for name in CSV_COLUMNS[:3] if name not in header]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if missing or unknown:
        problems = [f"missing column `{name}`" for name in missing]
        problems += [f"unknown column `{name}`" for name in unknown]
        expected = ", ".join(CSV_COLUMNS)
        raise ConfigErrors(
            [ConfigError(f"{'; '.join(problems)}; the columns are: {expected}", file=source, line=1)]
        )
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}
        if not row.get("potential"):
            row.pop("potential", None)
        rows.append(row)
        lines.append(reader.line_num)
    locator = CsvLocator(source, header, lines)
    errors: list[ConfigError] = []
    keys = {row["review_cycle"] for row in rows}
    if len(keys) > 1:
        errors.append(
            ConfigError(
                f"one file, one review cycle; found {', '.join(sorted(keys))}", file=source, line=lines[0]
            )
        )
    ratings: list[RatingEntry] = []
    for index, row in enumerate(rows):
        cycle_key = row.pop("review_cycle")
        if not cycle_key:
            errors.append(locator.error("missing review cycle key", ("ratings", index, "review_cycle")))
        try:
            ratings.append(RatingEntry.model_validate(row))
        except ValidationError as exc:
            errors += _errors(exc, locator, prefix=("ratings", index))
    if not rows:
        errors.append(ConfigError("the file has no ratings", file=source, line=1))
    if errors:
        raise ConfigErrors(sort_errors(errors))
    return RatingsFile(
        source=source,
        review_cycle_key=next(iter(keys)),
        review_cycle=None,
        ratings=tuple(ratings),
        locator=locator,
    )


def _errors(exc: ValidationError, locator: Locator, prefix: Loc = ()) -> list[ConfigError]:
    def file_loc(loc: Loc) -> Loc:
        # Drop what pydantic adds that is not a key of the file (`[key]`, union tags).
        return prefix + tuple(
            part for part in loc if isinstance(part, int) or not str(part).startswith(("[", "function"))
        )

    return validation_errors(exc, locator, normalise=file_loc, message=_message)


def _message(error: ErrorDetails, loc: Loc, known_keys_at: KnownKeysAt | None) -> str:
    """The shared wording, but pydantic's own for a value that should be a mapping."""
    if error["type"] in MAPPING_ERRORS:
        return str(error["msg"])
    return validation_message(error, loc, known_keys_at)
