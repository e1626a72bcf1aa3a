"""The shape of a mapping file (`config/mappings/*.yaml`): typed, frozen pydantic models.

These models check the form of each mapping (keys, types, enums, cron and time zone); the
loader then checks what needs more than one field or outside knowledge (the connection's type,
the query's text, the expression's names) and compiles each mapping into a `MetricMapping`.
The JSON Schema of the file is generated from these models (`mappings.schema`).

Example:
    ```yaml
    mappings:
      - id: closed_won_by_owner
        connection: salesforce
        soql: >
          SELECT SUM(Amount) total FROM Opportunity
          WHERE IsWon = TRUE AND CloseDate >= {window.start} AND OwnerId = {owner.salesforce_id}
        value: total
        targets: {selector: {tag: quota}, for_each: owner}
    ```
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hub.config.models import Schedule

_CONFIG = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _scalar_text(value: Any) -> Any:
    # YAML reads `property: 123456789` as a number and `cycle: 2026` as a year; both mean text here.
    if isinstance(value, int | float | date) and not isinstance(value, bool):
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


Text = Annotated[str, BeforeValidator(_scalar_text), StringConstraints(min_length=1, max_length=256)]
"""A short non-empty text; a bare number or date in the YAML is taken as its text."""
MappingId = Annotated[
    str,
    BeforeValidator(_scalar_text),
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"),
]
"""A mapping id: letters, digits, `_`, `.` and `-`, unique across all mapping files."""
QueryName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
"""A named query's name: an identifier, so an expression can use it."""
Ga4Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_:]{0,127}$")]
"""A GA4 metric or dimension name, e.g. `sessions` or `customEvent:owner_email`."""
OnNoData = Literal["skip", "zero", "hold"]
"""What to do when a query finds nothing: no check-in, check in 0, or hold the value as suspect."""
NamedWindow = Literal["cycle_to_date", "calendar_month", "previous_calendar_month"]
"""Windows named by a word."""


class JqlValue(BaseModel):
    """How a JQL query becomes a number.

    Example:
        ```yaml
        value: {aggregate: sum, field: Story point estimate}
        ```
    """

    model_config = _CONFIG

    aggregate: Literal["count", "sum", "average"] = "count"
    """`count` the matching issues, or `sum`/`average` a numeric field over them."""
    field: str | None = None
    """The numeric field for `sum`/`average` (its name or id, e.g. `Story point estimate`)."""
    approximate: bool = False
    """Use Jira's approximate count (faster; count only, not with `for_each`)."""


def _value_shape(value: Any) -> str | None:
    if isinstance(value, str):
        return "column"
    if isinstance(value, dict):
        return "aggregate"
    return None


ValueSpec = Annotated[
    Annotated[str, Tag("column")] | Annotated[JqlValue, Tag("aggregate")],
    Discriminator(
        _value_shape,
        custom_error_type="value_shape",
        custom_error_message="`value` is a column name (SOQL, GA4) or {aggregate: ..., field: ...} (JQL)",
    ),
]
"""SOQL: the column (alias) holding the number; JQL: what to compute; GA4: the metric (optional)."""


class Ga4Filter(BaseModel):
    """A GA4 dimension filter: one condition on a dimension, or `and`/`or`/`not` of filters.

    A value may be exactly one parameter, e.g. `equals: "{owner.email}"`; it is put into the
    request as a JSON value, never spliced into text.

    Example:
        ```yaml
        filter:
          and:
            - {dimension: "customEvent:owner_email", equals: "{owner.email}"}
            - {dimension: sessionDefaultChannelGroup, in_list: [Paid Search, Paid Social]}
        ```
    """

    model_config = _CONFIG

    dimension: Ga4Name | None = None
    """The dimension the condition tests."""
    equals: str | None = None
    """The dimension equals this value."""
    in_list: list[str] | None = None
    """The dimension is one of these values."""
    begins_with: str | None = None
    """The dimension begins with this value."""
    ends_with: str | None = None
    """The dimension ends with this value."""
    contains: str | None = None
    """The dimension contains this value."""
    case_sensitive: bool = False
    """Compare case-sensitively (GA4's default is not to)."""
    and_: list[Ga4Filter] | None = Field(default=None, alias="and", min_length=1)
    """Every one of these filters holds."""
    or_: list[Ga4Filter] | None = Field(default=None, alias="or", min_length=1)
    """At least one of these filters holds."""
    not_: Ga4Filter | None = Field(default=None, alias="not")
    """This filter does not hold."""

    @model_validator(mode="after")
    def _one_condition(self) -> Ga4Filter:
        groups = [name for name, value in (("and", self.and_), ("or", self.or_), ("not", self.not_)) if value]
        operators = [
            name
            for name in ("equals", "in_list", "begins_with", "ends_with", "contains")
            if getattr(self, name) is not None
        ]
        if groups and (operators or self.dimension or len(groups) > 1):
            raise PydanticCustomError(
                "ga4_filter_shape",
                "a filter is either one condition ({dimension, equals/in_list/...}) or one of and/or/not; "
                "this one mixes {found}",
                {"found": ", ".join(groups + operators + (["dimension"] if self.dimension else []))},
            )
        if not groups and (self.dimension is None or len(operators) != 1):
            found = ", ".join(operators) or "no operator"
            raise PydanticCustomError(
                "ga4_filter_shape",
                "a condition needs `dimension` and exactly one of equals, in_list, begins_with, ends_with, "
                "contains (found {found}{dimension})",
                {"found": found, "dimension": "" if self.dimension else ", no dimension"},
            )
        return self


class Ga4Spec(BaseModel):
    """One GA4 report: a property, a metric and an optional filter; the date range is the window.

    Example:
        ```yaml
        ga4: {property: "123456789", metric: sessions,
              filter: {dimension: "customEvent:owner_email", equals: "{owner.email}"}}
        ```
    """

    model_config = _CONFIG

    property: Annotated[str, BeforeValidator(_scalar_text), StringConstraints(pattern=r"^[0-9]{1,20}$")]
    """The GA4 property id (digits only, e.g. "123456789")."""
    metric: Ga4Name
    """The metric to report, e.g. `sessions`, `conversions`, `totalRevenue`."""
    filter: Ga4Filter | None = None
    """Which rows count; leave out for the whole property."""


class QueryModel(BaseModel):
    """One named query of a mapping with `queries:`; exactly one of `soql`, `jql`, `ga4`."""

    model_config = _CONFIG

    soql: str | None = None
    """A SOQL query (Salesforce connections)."""
    jql: str | None = None
    """A JQL query (Jira connections)."""
    ga4: Ga4Spec | None = None
    """A GA4 report (GA4 connections)."""
    value: ValueSpec | None = None
    """SOQL: the column holding the number; JQL: {aggregate, field}; GA4: the metric (optional)."""


class Selector(BaseModel):
    """Which key results a mapping updates, by their tags and cycle (resolved by the hub job)."""

    model_config = _CONFIG

    tag: Text | None = None
    """Key results carrying this tag."""
    cycle: Text | None = None
    """Only key results of this cycle (its key, e.g. 2026-Q4); every open cycle when left out."""

    @model_validator(mode="after")
    def _not_empty(self) -> Selector:
        if self.tag is None and self.cycle is None:
            raise PydanticCustomError("selector_empty", "a selector needs `tag` (and optionally `cycle`)")
        return self


class Targets(BaseModel):
    """The key results a mapping updates: one key result, an objective's, or a selector's.

    Example:
        ```yaml
        targets: {selector: {tag: quota, cycle: 2026-Q4}, for_each: owner}
        ```
    """

    model_config = _CONFIG

    selector: Selector | None = None
    """Key results matching a selector."""
    key_result: Text | None = None
    """One key result, by its key."""
    objective: Text | None = None
    """Every key result of one objective, by its key."""
    for_each: Literal["owner"] | None = None
    """`owner`: each key result gets its own owner's value (the query is fanned out per owner)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Targets:
        given = [name for name in ("selector", "key_result", "objective") if getattr(self, name) is not None]
        if len(given) != 1:
            found = " and ".join(f"`{name}`" for name in given) if given else "none"
            raise PydanticCustomError(
                "targets_shape",
                "targets need exactly one of `selector`, `key_result` or `objective` (found {found})",
                {"found": found},
            )
        return self


class Suspect(BaseModel):
    """When a new value is suspicious enough to hold instead of checking it in."""

    model_config = _CONFIG

    max_change_factor: float = Field(gt=1.0)
    """Hold a value more than this many times larger or smaller than the last one (e.g. 3.0)."""


class LastDays(BaseModel):
    """The last N days, ending on the reference day."""

    model_config = _CONFIG

    last_days: int = Field(ge=1, le=3660)
    """How many days, the reference day included."""


class DateRange(BaseModel):
    """Fixed dates, both included."""

    model_config = _CONFIG

    start: date
    """First day (YYYY-MM-DD)."""
    end: date
    """Last day (YYYY-MM-DD)."""

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise PydanticCustomError(
                "window_order",
                "the window ends ({end}) before it starts ({start})",
                {"start": self.start.isoformat(), "end": self.end.isoformat()},
            )
        return self


def _window_shape(value: Any) -> str | None:
    if isinstance(value, str):
        return "named"
    if isinstance(value, dict):
        return "last-days" if "last_days" in value else "dates"
    return None


WindowModel = Annotated[
    Annotated[NamedWindow, Tag("named")]
    | Annotated[LastDays, Tag("last-days")]
    | Annotated[DateRange, Tag("dates")],
    Discriminator(
        _window_shape,
        custom_error_type="window_shape",
        custom_error_message=(
            "a window is cycle_to_date, calendar_month, previous_calendar_month, {last_days: N} or "
            "{start: YYYY-MM-DD, end: YYYY-MM-DD}"
        ),
    ),
]
"""Which days a query covers."""


class MappingModel(BaseModel):
    """One mapping: a query (or several named ones) and the key results its value updates.

    Exactly one of `soql`, `jql`, `ga4` or `queries` is given; `queries` with more than one query
    needs an `expression` combining them.
    """

    model_config = _CONFIG

    id: MappingId
    """Unique id across all mapping files; key results' check-ins name it as their source."""
    description: str | None = None
    """What the mapping measures, for people reading the file and the run ledger."""
    connection: str
    """The hub.yaml connection the query runs on; its type decides the query language."""
    soql: str | None = None
    """A SOQL query, with `{placeholders}` where literals go (Salesforce connections)."""
    jql: str | None = None
    """A JQL query, with `{placeholders}` where values go (Jira connections)."""
    ga4: Ga4Spec | None = None
    """A GA4 report (GA4 connections)."""
    queries: dict[QueryName, QueryModel] | None = None
    """Several named queries, combined by `expression`."""
    value: ValueSpec | None = None
    """SOQL: the column holding the number; JQL: {aggregate, field}; GA4: the metric (optional)."""
    expression: str | None = None
    """Arithmetic over the named queries: + - * / ( ), numbers, min(), max(), round(), abs()."""
    targets: Targets
    """The key results this mapping updates."""
    schedule: Schedule | None = None
    """When to run this mapping; the hub's key-result update schedule when left out."""
    window: WindowModel = "cycle_to_date"
    """Which days the query covers."""
    offset_days: int = Field(default=0, ge=0, le=366)
    """Move the window's reference day back this many days, for data that closes late."""
    on_no_data: OnNoData = "skip"
    """When the query finds nothing: `skip` (no check-in), `zero` (check in 0) or `hold` (record as
    suspect)."""
    suspect: Suspect | None = None
    """Hold values that move more than this from the last check-in."""


class MappingFile(BaseModel):
    """A mapping file: a list of mappings under `mappings:`."""

    model_config = _CONFIG

    version: Literal[1] = 1
    """Version of this file's format."""
    mappings: list[MappingModel] = []
    """The mappings of this file."""
