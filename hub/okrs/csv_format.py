"""OKRs as CSV: one key result per row, with its objective's and cycle's columns repeated.

A row with an empty `kr` defines just its objective (an objective without key results), and a
row with an empty `objective` just its cycle. Repeated cycle and objective cells must agree
(an empty cell takes the value given on another row). `kr_owners` lists employee ids or emails
separated by `;`. CSV carries no check-in history: import one in YAML, or check in with the CLI.

The rows become the same nested data a YAML file holds and are validated by the same models,
so errors read `okrs.csv:7:5: field `kr_target`: ...` (line, column, header).

Example:
    ```text
    cycle,cycle_name,cycle_kind,cycle_start,cycle_end,cycle_state,objective,objective_title,...
    2026-Q4,Q4 2026,quarterly,2026-10-01,2026-12-31,in_progress,q4-sales,Build pipeline,...
    ```
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from hub.config.yaml_source import Loc
from hub.errors import ConfigError, ConfigErrors
from hub.okrs.document import OkrDocument
from hub.okrs.source import ParsedFile, did_you_mean, sort_errors, validate_document

Columns = Mapping[str, tuple[str, ...]]

CYCLE_COLUMNS: Columns = {
    "cycle": ("key",),
    "cycle_name": ("name",),
    "cycle_kind": ("kind",),
    "cycle_start": ("start",),
    "cycle_end": ("end",),
    "cycle_parent": ("parent",),
    "cycle_state": ("state",),
    "cycle_cadence": ("cadence",),
}
"""Cycle columns and the document field each fills."""

OBJECTIVE_COLUMNS: Columns = {
    "objective": ("key",),
    "objective_title": ("title",),
    "objective_level": ("level",),
    "objective_owner": ("owner",),
    "objective_kind": ("kind",),
    "objective_parent": ("parent",),
    "objective_progress_source": ("progress_source",),
    "objective_target_unit": ("target", "unit"),
    "objective_target_value": ("target", "value"),
    "objective_target_auto": ("target", "auto"),
    "objective_target_start": ("target", "start"),
}
"""Objective columns and the document field each fills."""

KEY_RESULT_COLUMNS: Columns = {
    "kr": ("key",),
    "kr_title": ("title",),
    "kr_measurement": ("measurement",),
    "kr_progress_type": ("progress_type",),
    "kr_initial": ("initial",),
    "kr_target": ("target",),
    "kr_critical": ("critical",),
    "kr_unit": ("unit",),
    "kr_currency": ("currency",),
    "kr_owners": ("owners",),
    "kr_weight": ("weight",),
    "kr_deadline": ("deadline",),
    "kr_hard_deadline": ("hard_deadline",),
    "kr_cadence": ("cadence",),
    "kr_range_red_low": ("range", "red_low"),
    "kr_range_yellow_low": ("range", "yellow_low"),
    "kr_range_yellow_high": ("range", "yellow_high"),
    "kr_range_red_high": ("range", "red_high"),
}
"""Key-result columns and the document field each fills."""

HEADERS: tuple[str, ...] = (*CYCLE_COLUMNS, *OBJECTIVE_COLUMNS, *KEY_RESULT_COLUMNS)
"""Every column, in the order `write_csv` writes them."""

_LIST_COLUMNS = frozenset({"kr_owners"})


def parse_csv(text: str, *, source: str) -> ParsedFile:
    """Validate OKR CSV given as text; `source` is the file name errors report.

    Raises:
        ConfigErrors: Unknown or missing columns, conflicting repeated cells, and every shape
            problem of the resulting document, each with line, column and header.
    """
    builder = _Builder(source)
    builder.read(text)
    if builder.errors:
        raise ConfigErrors(sort_errors(builder.errors))
    locator = CsvLocator(source, builder.header, builder.cells)
    document = validate_document(builder.plain(), locator)
    return ParsedFile(document=document, format="csv", locator=locator)


def write_csv(document: OkrDocument) -> str:
    """The document as CSV (check-in history is left out: CSV has no place for it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS)
    for cycle in document.cycles:
        cycle_cells = _cells(cycle.model_dump(), CYCLE_COLUMNS)
        if not cycle.objectives:
            writer.writerow(_row(cycle_cells))
        for objective in cycle.objectives:
            objective_cells = {**cycle_cells, **_cells(objective.model_dump(), OBJECTIVE_COLUMNS)}
            if not objective.key_results:
                writer.writerow(_row(objective_cells))
            for kr in objective.key_results:
                writer.writerow(_row({**objective_cells, **_cells(kr.model_dump(), KEY_RESULT_COLUMNS)}))
    return out.getvalue()


def _row(cells: Mapping[str, str]) -> list[str]:
    return [cells.get(header, "") for header in HEADERS]


def _cells(data: Mapping[str, Any], columns: Columns) -> dict[str, str]:
    cells: dict[str, str] = {}
    for header, path in columns.items():
        value: Any = data
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        cells[header] = _text(value)
    return cells


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(_text(item) for item in value)
    return str(value)


class CsvLocator:
    """Positions of CSV cells: the row's line, the column's number, the header as the field."""

    def __init__(self, source: str, header: list[str], cells: dict[Loc, tuple[int, str]]) -> None:
        self.source = source
        self._columns = {name: index + 1 for index, name in enumerate(header)}
        self._cells = cells

    def error(self, message: str, loc: Loc, *, at_key: bool = False) -> ConfigError:
        """An error about `loc`, pointing at its cell (or its row's key cell when it has no cell)."""
        for end in range(len(loc), 0, -1):
            found = self._cells.get(loc[:end])
            if found is not None:
                line, header = found
                if end < len(loc):
                    header = _header_for(loc) or header
                return ConfigError(
                    message, file=self.source, line=line, column=self._columns.get(header), field=header
                )
        return ConfigError(message, file=self.source, line=1)


def _header_for(loc: Loc) -> str | None:
    """The CSV header of a document location such as `("cycles", 0, "objectives", 1, "title")`."""
    if "key_results" in loc:
        columns, rest = KEY_RESULT_COLUMNS, loc[loc.index("key_results") + 2 :]
    elif "objectives" in loc:
        columns, rest = OBJECTIVE_COLUMNS, loc[loc.index("objectives") + 2 :]
    elif loc[:1] == ("cycles",):
        columns, rest = CYCLE_COLUMNS, loc[2:]
    else:
        return None
    for header, path in columns.items():
        if tuple(rest[: len(path)]) == path:
            return header
    return None


class _Builder:
    """Folds rows into nested cycles -> objectives -> key results, remembering every cell's place."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.header: list[str] = []
        self.errors: list[ConfigError] = []
        self.cells: dict[Loc, tuple[int, str]] = {}
        self._cycles: dict[str, dict[str, Any]] = {}
        self._objectives: dict[str, tuple[str, dict[str, Any]]] = {}
        self._key_results: dict[str, int] = {}
        self._paths: dict[int, Loc] = {}  # id() of an item dict -> its location

    def read(self, text: str) -> None:
        reader = csv.reader(io.StringIO(text))
        try:
            header = next(reader, None)
        except csv.Error as exc:
            self._fail(f"CSV syntax error: {exc}", 1)
            return
        if not header:
            self._fail(f"the CSV file is empty; its first line names the columns ({', '.join(HEADERS)})", 1)
            return
        self.header = [name.strip() for name in header]
        for index, name in enumerate(self.header, start=1):
            if name not in HEADERS:
                self._fail(f"unknown column `{name}`{did_you_mean(name, HEADERS)}", 1, index, name)
        if "cycle" not in self.header:
            self._fail("the `cycle` column is missing; every row names its cycle's key", 1)
        if self.errors:
            return
        line = reader.line_num
        try:
            for row in reader:
                start, line = line + 1, reader.line_num
                cells = {name: value.strip() for name, value in zip(self.header, row, strict=False)}
                if any(cells.values()):
                    self._row(start, cells)
        except csv.Error as exc:
            self._fail(f"CSV syntax error: {exc}", reader.line_num)

    def plain(self) -> dict[str, Any]:
        return {"version": 1, "cycles": list(self._cycles.values())}

    def _row(self, line: int, cells: dict[str, str]) -> None:
        key = cells.get("cycle", "")
        if not key:
            self._fail("the row has no `cycle`; name the cycle's key", line, self._col("cycle"), "cycle")
            return
        cycle = self._cycles.get(key)
        if cycle is None:
            cycle = self._cycles[key] = {"objectives": []}
            self._place(cycle, ("cycles", len(self._cycles) - 1), line, "cycle")
        self._merge(cycle, cells, CYCLE_COLUMNS, line)
        objective_key = cells.get("objective", "")
        if not objective_key:
            for header in (*OBJECTIVE_COLUMNS, *KEY_RESULT_COLUMNS):
                if cells.get(header):
                    self._fail(
                        "the row has no `objective`; name the objective's key", line, self._col(header)
                    )
                    return
            return
        objective = self._objective(objective_key, key, cycle, line)
        if objective is None:
            return
        self._merge(objective, cells, OBJECTIVE_COLUMNS, line)
        kr_key = cells.get("kr", "")
        if not kr_key:
            for header in KEY_RESULT_COLUMNS:
                if cells.get(header):
                    self._fail("the row has no `kr`; name the key result's key", line, self._col(header))
                    return
            return
        if kr_key in self._key_results:
            self._fail(
                f"key result `{kr_key}` is already on line {self._key_results[kr_key]}; "
                "each key result takes one row",
                line,
                self._col("kr"),
                "kr",
            )
            return
        self._key_results[kr_key] = line
        kr: dict[str, Any] = {}
        objective["key_results"].append(kr)
        self._place(
            kr, (*self._paths[id(objective)], "key_results", len(objective["key_results"]) - 1), line, "kr"
        )
        self._merge(kr, cells, KEY_RESULT_COLUMNS, line)

    def _objective(self, key: str, cycle_key: str, cycle: dict[str, Any], line: int) -> dict[str, Any] | None:
        found = self._objectives.get(key)
        if found is not None:
            if found[0] != cycle_key:
                self._fail(
                    f"objective `{key}` is in cycle `{found[0]}` on an earlier row; an objective lives "
                    "in one cycle",
                    line,
                    self._col("cycle"),
                    "cycle",
                )
                return None
            return found[1]
        objective: dict[str, Any] = {"key_results": []}
        cycle["objectives"].append(objective)
        self._objectives[key] = (cycle_key, objective)
        self._place(
            objective,
            (*self._paths[id(cycle)], "objectives", len(cycle["objectives"]) - 1),
            line,
            "objective",
        )
        return objective

    def _place(self, item: dict[str, Any], loc: Loc, line: int, key_header: str) -> None:
        self._paths[id(item)] = loc
        self.cells[loc] = (line, key_header)

    def _merge(self, item: dict[str, Any], cells: dict[str, str], columns: Columns, line: int) -> None:
        base = self._paths[id(item)]
        for header, path in columns.items():
            value = cells.get(header, "")
            if not value:
                continue
            parsed: Any = (
                [part.strip() for part in value.split(";") if part.strip()]
                if header in _LIST_COLUMNS
                else value
            )
            target = item
            for part in path[:-1]:
                target = target.setdefault(part, {})
            existing = target.get(path[-1])
            if existing is None:
                target[path[-1]] = parsed
                self.cells[(*base, *path)] = (line, header)
            elif existing != parsed:
                first_line = self.cells[(*base, *path)][0]
                self._fail(
                    f"`{value}` disagrees with `{_text(existing)}` on line {first_line}; repeated cells "
                    "must match (or be left empty)",
                    line,
                    self._col(header),
                    header,
                )

    def _col(self, header: str) -> int | None:
        return self.header.index(header) + 1 if header in self.header else None

    def _fail(self, message: str, line: int, column: int | None = None, field: str | None = None) -> None:
        self.errors.append(ConfigError(message, file=self.source, line=line, column=column, field=field))
