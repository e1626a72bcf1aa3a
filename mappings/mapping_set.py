"""Compiled mappings: what the loader produces and the compiler reads.

A `MetricMapping` is one mapping whose queries were checked and prepared (`SoqlTemplate`,
`JqlTemplate`, `Ga4Template`); a `MappingSet` is every mapping of every file, ids unique.

Example:
    ```python
    mapping_set = load_mappings(Path("config/mappings"), connections={"salesforce": "salesforce"})
    mapping = mapping_set.get("closed_won_by_owner")
    mapping.fans_out, list(mapping.queries)   # (True, ['value'])
    ```
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from hub.config.models import Schedule
from mappings.coalesce import Planned
from mappings.model import OnNoData, Targets
from mappings.params import ParamContext, ParamSpec
from mappings.windows import WindowSpec

QueryKind = Literal["soql", "jql", "ga4"]
"""The query languages a mapping can use."""

DEFAULT_QUERY_KINDS: Mapping[str, QueryKind] = {
    "salesforce": "soql",
    "jira": "jql",
    "google_analytics": "ga4",
    "ga4": "ga4",
}
"""Connector type (a connector's `type_name`) to the query language its connections answer."""

SINGLE_QUERY = "value"
"""The name the one query of a mapping without `queries:` goes by in bindings."""


class QueryTemplate(Protocol):
    """A checked query of any language, ready to plan per key result."""

    @property
    def params(self) -> tuple[ParamSpec, ...]:
        """The parameters the query uses."""
        ...

    def plan(self, context: ParamContext, *, fan_out: bool) -> Planned:
        """The query for one key result (a complete query, or a member of a fan-out group)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryDef:
    """One named query of a mapping: its language and its checked template."""

    name: str
    kind: QueryKind
    template: QueryTemplate


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricMapping:
    """One checked mapping.

    `queries` holds one query named `value` for a mapping with `soql`/`jql`/`ga4`, or the named
    queries of `queries:`; `expression` combines them (None: the single query's value).
    `source` is `file:line` of the mapping, for messages and the ledger.
    """

    id: str
    connection: str
    kind: QueryKind
    queries: Mapping[str, QueryDef]
    expression: str | None
    targets: Targets
    window: WindowSpec
    on_no_data: OnNoData = "skip"
    max_change_factor: float | None = None
    schedule: Schedule | None = None
    description: str | None = None
    source: str = ""

    @property
    def fans_out(self) -> bool:
        """True when each key result gets its own owner's value (`for_each: owner`)."""
        return self.targets.for_each == "owner"


@dataclass(frozen=True, slots=True)
class MappingSet:
    """Every mapping of the loaded files, in file order; ids are unique."""

    mappings: tuple[MetricMapping, ...] = ()

    def __iter__(self) -> Iterator[MetricMapping]:
        return iter(self.mappings)

    def __len__(self) -> int:
        return len(self.mappings)

    @property
    def ids(self) -> list[str]:
        """The mapping ids, in file order."""
        return [mapping.id for mapping in self.mappings]

    def subset(self, mapping_ids: Collection[str]) -> MappingSet:
        """The mappings whose ids are in `mapping_ids` (e.g. those due now), in file order."""
        return MappingSet(tuple(mapping for mapping in self.mappings if mapping.id in mapping_ids))

    def get(self, mapping_id: str) -> MetricMapping:
        """The mapping with this id.

        Raises:
            KeyError: No mapping has this id.
        """
        for mapping in self.mappings:
            if mapping.id == mapping_id:
                return mapping
        raise KeyError(mapping_id)
