"""Coalescing: many key results' queries become few requests.

A query template plans one key result as either a `Direct` query (complete, rendered) or a
`Member` of a `FanOut` group: the same query for many owners, differing only in the owner's
value, which the group turns into an `IN` list (SOQL, JQL) or an `inListFilter` (GA4), chunked
to the vendor's limits. `RequestTable` gives identical queries one request key, so two mappings
or key results asking the same thing share one API call.

Example:
    ```python
    table = RequestTable()
    key = table.add("salesforce", SoqlQuery(soql="SELECT COUNT() FROM Lead", value="totalSize"))
    table.add("salesforce", SoqlQuery(soql="SELECT COUNT() FROM Lead", value="totalSize")) == key  # True
    ```
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Protocol

from hub.metrics import MetricQuery, QueryRequest
from mappings.params import ParamContext, ParamSpec, ParamValue, resolve_param
from mappings.tokens import Token

Segment = str | ParamSpec
"""A piece of a query template: literal query text, or a parameter rendered per key result."""


class FanOut(Hashable, Protocol):
    """A group of owners sharing one query shape; equal groups (same shape) coalesce."""

    def chunks(self, values: Sequence[str]) -> list[list[str]]:
        """`values` (sorted, distinct) split into lists that each fit one request."""
        ...

    def build(self, values: Sequence[str]) -> MetricQuery:
        """The query for one chunk of owner values, grouped by the owner field."""
        ...


@dataclass(frozen=True, slots=True)
class Direct:
    """A complete query for one key result (it may still equal another's and be deduplicated)."""

    query: MetricQuery
    text: str


@dataclass(frozen=True, slots=True)
class Member:
    """One owner's part in a fan-out group.

    `value` is the owner's value (the group key in the result) and `text` the query as it reads
    for this owner alone, kept as provenance.
    """

    group: FanOut
    value: str
    text: str


Planned = Direct | Member
"""How one named query of one key result is planned."""


def render_segments(
    segments: Iterable[Segment], context: ParamContext, literal: Callable[[ParamValue], str]
) -> str:
    """The text of `segments` with every parameter resolved for `context` and rendered by `literal`."""
    return "".join(
        part if isinstance(part, str) else literal(resolve_param(part, context)) for part in segments
    )


def segments_of(
    tokens: Sequence[Token], specs: Mapping[int, ParamSpec], start: int, end: int
) -> tuple[Segment, ...]:
    """Tokens `start..end` as segments: runs of literal text, and a `ParamSpec` per placeholder in `specs`."""
    segments: list[Segment] = []
    text = ""
    for index in range(start, end):
        spec = specs.get(index)
        if spec is None:
            text += tokens[index].text
            continue
        if text:
            segments.append(text)
            text = ""
        segments.append(spec)
    if text:
        segments.append(text)
    return tuple(segments)


def chunk_by(
    values: Sequence[str], *, max_count: int, max_chars: int, cost: Callable[[str], int]
) -> list[list[str]]:
    """Split `values` greedily so each chunk has at most `max_count` values and `max_chars` of cost."""
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for value in values:
        size = cost(value)
        if current and (len(current) >= max_count or used + size > max_chars):
            chunks.append(current)
            current, used = [], 0
        current.append(value)
        used += size
    if current:
        chunks.append(current)
    return chunks


class RequestTable:
    """Request keys for queries, one per distinct (connection, query); insertion order is kept."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], str] = {}
        self._requests: dict[str, list[QueryRequest]] = {}

    def add(self, connection: str, query: MetricQuery) -> str:
        """The key of `query` on `connection`, adding a request the first time it is seen."""
        canonical = _canonical(query)
        key = self._keys.get((connection, canonical))
        if key is None:
            digest = hashlib.sha256(f"{connection}\n{canonical}".encode()).hexdigest()[:16]
            key = f"{connection}:{type(query).__name__.removesuffix('Query').lower()}:{digest}"
            self._keys[(connection, canonical)] = key
            self._requests.setdefault(connection, []).append(QueryRequest(key=key, query=query))
        return key

    def requests(self) -> dict[str, list[QueryRequest]]:
        """Requests by connection name."""
        return {connection: list(requests) for connection, requests in self._requests.items()}


def _canonical(query: MetricQuery) -> str:
    return json.dumps({"type": type(query).__name__, **asdict(query)}, sort_keys=True, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(type(value).__name__)
