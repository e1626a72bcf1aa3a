"""What a `JqlQuery` computes over the issues it pages through: field lookup, grouping, tallies.

Jira has no server-side sums or averages, so the connector reads every matching issue with
only the fields it needs and tallies here:

- `count` counts issues;
- `sum` adds the numeric field over the issues that carry a value (issues without one add
  nothing); it is None when no issue carried a value;
- `average` is the mean over the issues that carry a value (an unestimated issue is not a
  zero); None when none did.

Grouping reads the `group_by` field of each issue: a user gives its `accountId` (Cloud) or
`name` (Data Center), a project its key, an option its value, a status or priority its name.
An issue whose group field is empty (an unassigned issue) belongs to no group and is counted
in the evidence as `ungrouped_issues`; a multi-valued field (labels, components) puts the issue
in the group of each of its values.

Example:
    ```python
    catalogue = FieldCatalogue(client.fields())
    points = catalogue.resolve("Story point estimate")   # JiraField(id="customfield_10016", ...)
    tally = Tally()
    tally.add(number_of(issue["fields"].get(points.id)))
    tally.value("sum")
    ```
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Aggregate = Literal["count", "sum", "average"]


@dataclass(frozen=True, slots=True)
class JiraField:
    """One field of the site: its id (what searches return), display name and schema type."""

    id: str
    name: str
    type: str | None
    """`schema.type`: number, string, user, project, array, option, ... (None when Jira gives none)."""
    items: str | None = None
    """`schema.items` for arrays: the type of each value."""

    @property
    def numeric(self) -> bool:
        """Whether the field holds numbers."""
        return self.type == "number"


class FieldCatalogue:
    """The site's fields (`GET field`), found by id, display name or JQL clause name.

    Names are matched without regard to case. A display name two fields share (sites do have
    two "Story Points") is ambiguous and must be given as the field id.
    """

    def __init__(self, entries: Iterable[Mapping[str, Any]]) -> None:
        self.fields: list[JiraField] = []
        self._by_id: dict[str, JiraField] = {}
        self._by_name: dict[str, list[JiraField]] = {}
        for entry in entries:
            field_id = str(entry.get("id") or "")
            if not field_id:
                continue
            raw_schema = entry.get("schema")
            schema: Mapping[str, Any] = raw_schema if isinstance(raw_schema, Mapping) else {}
            found = JiraField(
                id=field_id,
                name=str(entry.get("name") or field_id),
                type=schema.get("type"),
                items=schema.get("items"),
            )
            self.fields.append(found)
            self._by_id[field_id.lower()] = found
            names = {found.name, *(str(n) for n in entry.get("clauseNames") or ())}
            for name in names:
                same = self._by_name.setdefault(name.lower(), [])
                if found not in same:
                    same.append(found)

    def resolve(self, name: str) -> JiraField | None:
        """The field `name` means, by id first, then by name; None when unknown.

        Raises:
            LookupError: the name fits several fields; the message lists their ids.
        """
        key = name.strip().lower()
        if key in self._by_id:
            return self._by_id[key]
        candidates = self._by_name.get(key, [])
        if len(candidates) > 1:
            ids = ", ".join(f.id for f in candidates)
            raise LookupError(f"`{name}` names {len(candidates)} fields ({ids}); name the field by its id")
        return candidates[0] if candidates else None

    def suggestions(self, name: str, *, numeric: bool = False) -> list[str]:
        """Field names close to `name` (numeric fields only when asked), as `name (id)`."""
        pool = [f for f in self.fields if f.numeric or not numeric]
        labels = {f.name.lower(): f for f in pool} | {f.id.lower(): f for f in pool}
        close = difflib.get_close_matches(name.lower(), list(labels), n=3, cutoff=0.6)
        chosen = [labels[c] for c in close] or (pool if numeric else [])
        return list(dict.fromkeys(f"{f.name} ({f.id})" for f in chosen))[:6]


def number_of(value: Any) -> float | None:
    """A numeric field's value as a float; None for empty (null, "", or not a number)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def group_keys(value: Any, field: JiraField) -> list[str]:
    """The group(s) an issue belongs to by `field`'s value; empty when the value is empty."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return list(dict.fromkeys(key for item in value for key in group_keys(item, field)))
    if not isinstance(value, Mapping):
        return [str(value)]
    order: Sequence[str]
    if "accountId" in value:
        order = ("accountId",)
    elif field.type == "user" or field.items == "user":
        order = ("name", "key")
    elif field.type == "project" or "projectTypeKey" in value:
        order = ("key", "id")
    else:
        order = ("value", "name", "key", "id")
    for attribute in order:
        if value.get(attribute) not in (None, ""):
            return [str(value[attribute])]
    return []


@dataclass(slots=True)
class Tally:
    """Running count, sum and valued count of one group (or of the whole query)."""

    issues: int = 0
    valued: int = 0
    total: float = 0.0

    def add(self, number: float | None) -> None:
        """Count one issue and its value (None: the issue has no value)."""
        self.issues += 1
        if number is not None:
            self.valued += 1
            self.total += number

    def value(self, aggregate: Aggregate) -> float | None:
        """The aggregate over what was added (see the module docstring for empty cases)."""
        if aggregate == "count":
            return float(self.issues)
        if not self.valued:
            return None
        return self.total if aggregate == "sum" else self.total / self.valued
