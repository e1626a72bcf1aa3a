"""Helpers shared by the mapping tests: connections, owners, key results, YAML loading."""

from __future__ import annotations

from datetime import date
from textwrap import dedent
from typing import Any

import pytest

from hub.errors import ConfigError, ConfigErrors
from hub.metrics import Ga4Query, JqlQuery, MetricQuery, QueryRequest, SoqlQuery, TimeWindow
from mappings import MappingSet, OwnerIdentity, TargetKR, load_mappings_text
from mappings.params import ParamContext

CONNECTIONS = {"salesforce": "salesforce", "jira": "jira", "ga": "google_analytics", "hr": "bamboohr"}
SYSTEMS = {"salesforce", "jira"}
Q4 = (date(2026, 10, 1), date(2026, 12, 31))
TODAY = date(2026, 11, 5)


def sf_id(number: int) -> str:
    """A valid 15-character Salesforce user id."""
    return f"005A{number:011d}"


def owner(number: int, **ids: str) -> OwnerIdentity:
    """An owner with a Salesforce id, a Jira account id and an email, unless `ids` overrides them."""
    default = {"salesforce": sf_id(number), "jira": f"5b10ac8d82e05b22cc{number:06d}"}
    chosen = {system: value for system, value in {**default, **ids}.items() if value}
    return OwnerIdentity(employee_id=str(number), email=f"person{number}@acme.test", ids=chosen)


def kr(key: str, owner_: OwnerIdentity | None = None, cycle: tuple[date, date] = Q4) -> TargetKR:
    return TargetKR(key=key, cycle_start=cycle[0], cycle_end=cycle[1], owner=owner_)


def owner_krs(
    count: int, *, prefix: str = "kr", start: int = 1, cycle: tuple[date, date] = Q4
) -> list[TargetKR]:
    return [kr(f"{prefix}-{n}", owner(n), cycle) for n in range(start, start + count)]


def context(owner_: OwnerIdentity | None = None) -> ParamContext:
    return ParamContext(
        window=TimeWindow(date(2026, 10, 1), date(2026, 11, 4)),
        cycle_start=Q4[0],
        cycle_end=Q4[1],
        today=TODAY,
        owner=owner_,
    )


def load(text: str, **kwargs: Any) -> MappingSet:
    """Load dedented YAML text as `acme.yaml` with the test connections."""
    kwargs.setdefault("connections", CONNECTIONS)
    kwargs.setdefault("identity_systems", SYSTEMS)
    return load_mappings_text(dedent(text), source_name="acme.yaml", **kwargs)


def errors_of(text: str, **kwargs: Any) -> list[ConfigError]:
    """The errors loading the text raises (the test fails if it loads)."""
    with pytest.raises(ConfigErrors) as caught:
        load(text, **kwargs)
    return caught.value.errors


def only(errors: list[ConfigError]) -> ConfigError:
    assert len(errors) == 1, [err.message for err in errors]
    return errors[0]


def where(err: ConfigError) -> tuple[int | None, int | None, str | None]:
    return err.line, err.column, err.field


def soql(item: QueryRequest | MetricQuery) -> str:
    """The SOQL text of a request or query (fails the test if it is not SOQL)."""
    query = item.query if isinstance(item, QueryRequest) else item
    assert isinstance(query, SoqlQuery)
    return query.soql


def soql_query(item: QueryRequest | MetricQuery) -> SoqlQuery:
    query = item.query if isinstance(item, QueryRequest) else item
    assert isinstance(query, SoqlQuery)
    return query


def jql_query(item: QueryRequest | MetricQuery) -> JqlQuery:
    query = item.query if isinstance(item, QueryRequest) else item
    assert isinstance(query, JqlQuery)
    return query


def ga4_query(item: QueryRequest | MetricQuery) -> Ga4Query:
    query = item.query if isinstance(item, QueryRequest) else item
    assert isinstance(query, Ga4Query)
    return query


def ga4_filter(item: QueryRequest | MetricQuery) -> dict[str, Any]:
    query = ga4_query(item)
    assert query.dimension_filter is not None
    return dict(query.dimension_filter)
