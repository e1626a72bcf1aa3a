"""From the pages of one SOQL answer to one `MetricResult`: the value, the groups, the evidence.

The rules (`hub.metrics.SoqlQuery` names the columns):

- `value="totalSize"`: the answer's `totalSize` (`SELECT COUNT() ...` has no records);
- ungrouped aggregate (`SELECT SUM(Amount) total ...`): the `value` column of its single row;
- ungrouped plain query (`SELECT Id, Amount ...`): the sum of the `value` column over every record
  of every page (nulls skipped; None when nothing had a value);
- grouped (`group_by="OwnerId"`): `groups[str(row[group_by])] = row[value]` per row (null stays
  None; rows sharing a key are summed, so a plain query can be grouped client-side too).

A column is found by its name, case-insensitively, then as a relationship path (`Owner.Email` in
a plain record), then by its last segment (`GROUP BY Owner.Email` answers the column `Email`).

Example:
    ```python
    tally = QueryTally(request.key, query, connection="crm")
    for page in client.query_pages(query.soql):
        tally.add(page)
    result = tally.result(api_usage={"used": 12, "limit": 100000})
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import QueryRejected
from hub.metrics import MetricResult, SoqlQuery

SAMPLE_SIZE = 5
"""How many records of the raw answer the evidence keeps."""

_MISSING = object()


def strip_attributes(value: Any) -> Any:
    """A record without Salesforce's `attributes` objects, at every level."""
    if isinstance(value, Mapping):
        return {key: strip_attributes(item) for key, item in value.items() if key != "attributes"}
    if isinstance(value, list):
        return [strip_attributes(item) for item in value]
    return value


def _get(record: Mapping[str, Any], name: str) -> Any:
    if name in record:
        return record[name]
    wanted = name.lower()
    for key, value in record.items():
        if key.lower() == wanted and key != "attributes":
            return value
    return _MISSING


def column(record: Mapping[str, Any], name: str) -> Any:
    """The value of column `name` in a record, or `_MISSING`; see the module docstring for the rules."""
    found = _get(record, name)
    if found is not _MISSING or "." not in name:
        return found
    current: Any = record
    for part in name.split("."):
        if current is None:
            return None  # a relationship with no related record
        if not isinstance(current, Mapping):
            break
        current = _get(current, part)
        if current is _MISSING:
            break
    else:
        return current
    return _get(record, name.rsplit(".", 1)[1])


class QueryTally:
    """Accumulates the pages of one query's answer into its `MetricResult`.

    Args:
        key: the request's key.
        query: the SOQL query and the columns to read.
        connection: the connection's name, for error text.
    """

    def __init__(self, key: str, query: SoqlQuery, *, connection: str) -> None:
        self.key = key
        self.query = query
        self.connection = connection
        self.pages = 0
        self.total_size: int | None = None
        self.rows = 0
        self.sample: list[Any] = []
        self._aggregate_rows = 0
        self._aggregate_value: float | None = None
        self._sum: float | None = None
        self._groups: dict[str, float | None] = {}
        if query.group_by is not None and query.value == "totalSize":
            raise self._rejected(
                "`value: totalSize` counts the whole answer and cannot be grouped; select "
                "`COUNT(Id) n` with the GROUP BY and use `value: n`"
            )

    def add(self, page: Mapping[str, Any]) -> None:
        """Take in one page (`{"totalSize", "done", "records": [...]}`)."""
        self.pages += 1
        if self.total_size is None and isinstance(page.get("totalSize"), int):
            self.total_size = int(page["totalSize"])
        for record in page.get("records", []):
            self.rows += 1
            if len(self.sample) < SAMPLE_SIZE:
                self.sample.append(strip_attributes(record))
            if self.query.value == "totalSize" or not isinstance(record, Mapping):
                continue
            if self.query.group_by is not None:
                self._add_group(record)
                continue
            number = self._number(record, self.query.value)
            if _is_aggregate(record):
                self._aggregate_rows += 1
                self._aggregate_value = number
            elif number is not None:
                self._sum = (self._sum or 0.0) + number

    def result(self, *, api_usage: Mapping[str, int] | None) -> MetricResult:
        """The `MetricResult` of everything added."""
        query = self.query
        groups: dict[str, float | None] = {}
        if query.value == "totalSize":
            value: float | None = float(self.total_size or 0)
            rows = self.total_size or 0
        elif query.group_by is not None:
            value, rows, groups = None, self.rows, self._groups
        elif self._aggregate_rows:
            if self._aggregate_rows > 1:
                raise self._rejected(
                    f"the answer has {self._aggregate_rows} aggregate rows but the query has no `group_by`; "
                    "set `group_by` to the grouped column or remove the GROUP BY"
                )
            value, rows = self._aggregate_value, self.rows
        else:
            value, rows = self._sum, self.rows
        return MetricResult(
            key=self.key, value=value, groups=groups, rows=rows, evidence=self.evidence(api_usage=api_usage)
        )

    def evidence(self, *, api_usage: Mapping[str, int] | None) -> dict[str, Any]:
        """What an admin needs to trust the number: the SOQL, totals, paging, the first records."""
        return {
            "soql": self.query.soql,
            "totalSize": self.total_size,
            "pages": self.pages,
            "records": list(self.sample),
            "api_usage": dict(api_usage) if api_usage else None,
        }

    # --- internals ------------------------------------------------------------------------------------
    def _add_group(self, record: Mapping[str, Any]) -> None:
        group_by = self.query.group_by
        assert group_by is not None
        key = column(record, group_by)
        if key is _MISSING:
            raise self._missing(group_by, record, "group_by")
        if key is None:
            return  # rows without a group key belong to no one
        number = self._number(record, self.query.value)
        name = str(key)
        if name not in self._groups:
            self._groups[name] = number
        elif number is not None:
            before = self._groups[name]
            self._groups[name] = number if before is None else before + number

    def _number(self, record: Mapping[str, Any], name: str) -> float | None:
        value = column(record, name)
        if value is _MISSING:
            raise self._missing(name, record, "value")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._rejected(f"column `{name}` holds {value!r}, not a number")
        return float(value)

    def _missing(self, name: str, record: Mapping[str, Any], setting: str) -> QueryRejected:
        columns = ", ".join(f"`{key}`" for key in record if key != "attributes") or "none"
        return self._rejected(
            f"the answer has no column `{name}` (its `{setting}`); columns: {columns}. An unaliased "
            "aggregate is `expr0`, a grouped relationship field is named by its last segment, and "
            "`SELECT COUNT()` is read with `value: totalSize`"
        )

    def _rejected(self, reason: str) -> QueryRejected:
        return QueryRejected(
            f"connection `{self.connection}`: query `{self.key}`: {reason}", connection=self.connection
        )


def _is_aggregate(record: Mapping[str, Any]) -> bool:
    attributes = record.get("attributes")
    return isinstance(attributes, Mapping) and attributes.get("type") == "AggregateResult"
