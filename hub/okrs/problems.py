"""Collect the problems of an import, each at the file position of the item (and field) it is about.

okr_core refuses with its own errors; `Problems.domain` runs a domain constructor and turns a
refusal into a `ConfigError` at the item's location, mapping okr_core's field names (`parent_id`,
`initial/target`) onto the file's (`parent`, `target`).

Example:
    ```python
    problems = Problems(parsed.locator)
    cycle = problems.domain(loc, partial(Cycle, id=entry.key, ...))   # None when refused
    problems.raise_if_any()                                            # ConfigErrors, in file order
    ```
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from hub.config.yaml_source import Loc
from hub.errors import ConfigError, ConfigErrors
from hub.okrs.source import Locator, sort_errors
from okr_core.errors import CheckInRefused, InvalidValue, OkrError

_T = TypeVar("_T")

FIELDS: Mapping[str, str] = {
    "parent_id": "parent",
    "id": "key",
    "start/end": "start",
    "initial/target": "target",
    "objective_id": "key",
    "cycle_id": "key",
    "current": "key",
    "last_check_in_at": "key",
}
"""okr_core field names that the file spells differently (or that are not in the file: the key)."""

_SUBJECT = re.compile(r"^(?P<kind>cycle|objective|key result) `(?P<key>.+)`$")


class Problems:
    """The errors found so far; `raise_if_any` raises them all, sorted by position."""

    def __init__(self, locator: Locator) -> None:
        self.locator = locator
        self.errors: list[ConfigError] = []

    def add(self, message: str, loc: Loc, field: str | None = None) -> None:
        """Record a problem about `loc` (and its `field`)."""
        self.errors.append(self.locator.error(message, (*loc, field) if field else loc))

    def domain(self, loc: Loc, build: Callable[[], _T]) -> _T | None:
        """`build()`, or None with the refusal recorded at `loc` when okr_core refuses."""
        try:
            return build()
        except OkrError as exc:
            self.domain_error(exc, loc)
            return None

    def domain_error(self, exc: OkrError, loc: Loc, field: str | None = None) -> None:
        """Record an okr_core refusal at `loc`, at the field it names unless `field` is given."""
        if field is None and isinstance(exc, InvalidValue) and not isinstance(exc, CheckInRefused):
            field = FIELDS.get(exc.field, exc.field)
        self.add(str(exc), loc, field)

    def at_subject(self, exc: OkrError, entries: Mapping[str, Mapping[str, Loc]]) -> ConfigError:
        """An error at the item okr_core's message names (``key result `x```), looked up in `entries`.

        Args:
            exc: The refusal.
            entries: Locations by kind (`cycle`, `objective`, `key result`) and key.
        """
        match = _SUBJECT.match(str(getattr(exc, "subject", "")))
        if match is None or match["key"] not in entries.get(match["kind"], {}):
            return self.locator.error(str(exc), ())
        loc = entries[match["kind"]][match["key"]]
        field = getattr(exc, "field", None)
        field = FIELDS.get(field, field) if isinstance(field, str) else None
        return self.locator.error(str(exc), (*loc, field) if field else loc)

    def raise_if_any(self) -> None:
        """Raise every problem recorded, in file order.

        Raises:
            ConfigErrors: There is at least one.
        """
        if self.errors:
            raise ConfigErrors(sort_errors(self.errors))
