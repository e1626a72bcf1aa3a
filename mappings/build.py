"""Turn one validated `MappingModel` into a `MetricMapping`, or say precisely what is wrong.

The models check each field's form; this module checks what needs several fields or outside
knowledge: the connection exists and answers this query language, each query template is safe
and can fan out as asked, `value` names a column the query has, the expression is safe and uses
only (and all of) the mapping's queries. Every problem carries the location of the key it is
about, relative to the mapping, so the loader can name file, line and column.

Example:
    ```python
    mapping, problems = build_mapping(model, connections={"salesforce": "salesforce"}, source="acme.yaml:3")
    [(p.loc, p.message) for p in problems]  # [(('soql',), 'placeholder `{owner.email}` is inside ...')]
    ```
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from mappings.errors import ExpressionError, TemplateError
from mappings.expressions import FUNCTIONS, check_expression
from mappings.ga4 import Ga4Template, parse_ga4
from mappings.jql import JqlAggregate, JqlTemplate, parse_jql
from mappings.mapping_set import (
    DEFAULT_QUERY_KINDS,
    SINGLE_QUERY,
    MetricMapping,
    QueryDef,
    QueryKind,
    QueryTemplate,
)
from mappings.model import DateRange, Ga4Spec, JqlValue, LastDays, MappingModel, QueryModel, ValueSpec
from mappings.soql import SoqlTemplate, parse_soql
from mappings.windows import WindowSpec

Loc = tuple[str | int, ...]
_KINDS: tuple[QueryKind, ...] = ("soql", "jql", "ga4")
_LANGUAGE = {"soql": "SOQL", "jql": "JQL", "ga4": "a GA4 report"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a mapping: where (a location relative to the mapping) and what."""

    loc: Loc
    message: str
    at_key: bool = False
    offset: int | None = None
    """Where in the query text (a template error), so the loader can point at the exact line."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Env:
    connection: str
    connections: Mapping[str, str]
    query_kinds: Mapping[str, QueryKind]
    identity_systems: Collection[str] | None
    fan_out: bool


def build_mapping(
    model: MappingModel,
    *,
    connections: Mapping[str, str],
    query_kinds: Mapping[str, QueryKind] = DEFAULT_QUERY_KINDS,
    identity_systems: Collection[str] | None = None,
    source: str = "",
) -> tuple[MetricMapping | None, list[Problem]]:
    """Check `model` and compile it.

    Args:
        model: A mapping that passed model validation.
        connections: Connection name to connector type (from hub.yaml).
        query_kinds: Connector type to the query language its connections answer.
        identity_systems: Identity systems of the org sync, for `{owner.<system>_id}`; None: any.
        source: `file:line` of the mapping, kept on the result.

    Returns:
        The compiled mapping (None when there are problems) and every problem found.
    """
    env = _Env(
        connection=model.connection,
        connections=connections,
        query_kinds=query_kinds,
        identity_systems=identity_systems,
        fan_out=model.targets.for_each == "owner",
    )
    problems: list[Problem] = []
    expected = _connection_kind(model.connection, env, problems)
    queries = _queries(model, expected, env, problems)
    expression = _expression(model, queries, problems)
    window = _window(model, problems)
    if (
        env.fan_out
        and queries
        and not any(spec.is_owner for query in queries.values() for spec in query.template.params)
    ):
        problems.append(
            Problem(
                ("targets", "for_each"),
                "`for_each: owner` gives each key result its owner's value, but no query filters by owner; "
                "add e.g. `OwnerId = {owner.salesforce_id}` or remove `for_each`",
            )
        )
    if problems or not queries or window is None:
        return None, problems
    first = next(iter(queries.values()))
    return MetricMapping(
        id=model.id,
        connection=model.connection,
        kind=first.kind,
        queries=queries,
        expression=expression,
        targets=model.targets,
        window=window,
        on_no_data=model.on_no_data,
        max_change_factor=model.suspect.max_change_factor if model.suspect else None,
        schedule=model.schedule,
        description=model.description,
        source=source,
    ), problems


def _connection_kind(name: str, env: _Env, problems: list[Problem]) -> QueryKind | None:
    connector = env.connections.get(name)
    if connector is None:
        known = sorted(env.connections)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = (
            f"did you mean `{close[0]}`?"
            if close
            else f"connections in hub.yaml: {', '.join(known) or 'none'}"
        )
        problems.append(Problem(("connection",), f"unknown connection `{name}`; {hint}"))
        return None
    kind = env.query_kinds.get(connector)
    if kind is None:
        metric = [
            f"{conn} ({kind_of})"
            for conn, kind_of in sorted(env.connections.items())
            if kind_of in env.query_kinds
        ]
        problems.append(
            Problem(
                ("connection",),
                f"connection `{name}` is a {connector} connection, which answers no metric queries; metric "
                f"connections: {', '.join(metric) or 'none'}",
            )
        )
    return kind


def _queries(
    model: MappingModel, expected: QueryKind | None, env: _Env, problems: list[Problem]
) -> dict[str, QueryDef]:
    kinds = [kind for kind in _KINDS if getattr(model, kind) is not None]
    given: list[str] = [*kinds, *(["queries"] if model.queries is not None else [])]
    if not given:
        problems.append(
            Problem((), "a mapping needs a query: `soql`, `jql`, `ga4`, or several under `queries`")
        )
        return {}
    if len(given) > 1:
        problems.append(
            Problem(
                (given[1],),
                f"`{given[0]}` and `{given[1]}` in one mapping; give one query, or several under `queries`",
                at_key=True,
            )
        )
        return {}
    if model.queries is None:
        if model.expression is not None:
            problems.append(
                Problem(
                    ("expression",),
                    "`expression` combines named queries; put the queries under `queries:` or remove it",
                    at_key=True,
                )
            )
        kind = kinds[0]
        query = _query(SINGLE_QUERY, kind, getattr(model, kind), model.value, (), expected, env, problems)
        return {SINGLE_QUERY: query} if query else {}
    if model.value is not None:
        problems.append(Problem(("value",), "with `queries:`, each query has its own `value`", at_key=True))
    return _named_queries(model.queries, expected, env, problems)


def _named_queries(
    queries: Mapping[str, QueryModel], expected: QueryKind | None, env: _Env, problems: list[Problem]
) -> dict[str, QueryDef]:
    result: dict[str, QueryDef] = {}
    if not queries:
        problems.append(Problem(("queries",), "`queries` is empty; name at least one query"))
    for name, query in queries.items():
        prefix: Loc = ("queries", name)
        if name in FUNCTIONS:
            problems.append(
                Problem(
                    prefix, f"`{name}` is a function of expressions; give the query another name", at_key=True
                )
            )
            continue
        kinds = [kind for kind in _KINDS if getattr(query, kind) is not None]
        if len(kinds) != 1:
            found = " and ".join(f"`{kind}`" for kind in kinds) or "none"
            problems.append(
                Problem(prefix, f"a query needs exactly one of `soql`, `jql` or `ga4` (found {found})")
            )
            continue
        built = _query(name, kinds[0], getattr(query, kinds[0]), query.value, prefix, expected, env, problems)
        if built:
            result[name] = built
    return result


def _query(
    name: str,
    kind: QueryKind,
    raw: str | Ga4Spec,
    value: ValueSpec | None,
    prefix: Loc,
    expected: QueryKind | None,
    env: _Env,
    problems: list[Problem],
) -> QueryDef | None:
    query_loc = (*prefix, kind)
    value_loc = (*prefix, "value")
    if expected is not None and kind != expected:
        problems.append(Problem(query_loc, _kind_mismatch(kind, expected, env), at_key=True))
        return None
    try:
        template = _template(kind, raw, env)
    except TemplateError as exc:
        offset = exc.offset if isinstance(raw, str) else None
        problems.append(Problem(query_loc, exc.message, offset=offset))
        return None
    try:
        template = _with_value(template, kind, value)
    except TemplateError as exc:
        at_key = value is None
        problems.append(Problem(query_loc if at_key else value_loc, exc.message, at_key=at_key))
        return None
    return QueryDef(name=name, kind=kind, template=template)


def _kind_mismatch(kind: QueryKind, expected: QueryKind, env: _Env) -> str:
    fitting = sorted(
        name for name, connector in env.connections.items() if env.query_kinds.get(connector) == kind
    )
    other = f", or use a connection that answers {_LANGUAGE[kind]}: {', '.join(fitting)}" if fitting else ""
    return (
        f"`{kind}` query on connection `{env.connection}` ({env.connections[env.connection]}), which answers "
        f"{_LANGUAGE[expected]}; write the query as `{expected}:`{other}"
    )


def _template(kind: QueryKind, raw: str | Ga4Spec, env: _Env) -> QueryTemplate:
    systems = env.identity_systems
    if kind == "ga4":
        assert isinstance(raw, Ga4Spec)
        return parse_ga4(raw, fan_out=env.fan_out, identity_systems=systems)
    assert isinstance(raw, str)
    if kind == "soql":
        return parse_soql(raw, fan_out=env.fan_out, identity_systems=systems)
    return parse_jql(raw, fan_out=env.fan_out, identity_systems=systems)


def _with_value(template: QueryTemplate, kind: QueryKind, value: ValueSpec | None) -> QueryTemplate:
    if isinstance(template, SoqlTemplate):
        if isinstance(value, JqlValue):
            raise TemplateError("a SOQL value names the column holding the number, e.g. `value: total`")
        if value is None:
            if len(template.outputs) != 1:
                raise TemplateError(
                    "missing `value`: which column holds the number? The query's columns: "
                    + ", ".join(template.outputs)
                )
            value = template.outputs[0]
        return template.with_value(value)
    if isinstance(template, JqlTemplate):
        if isinstance(value, str):
            raise TemplateError(
                "a JQL value says what to compute: `{aggregate: count}` or `{aggregate: sum, field: <field>}`"
            )
        spec = value or JqlValue()
        return template.with_value(
            JqlAggregate(aggregate=spec.aggregate, field=spec.field, approximate=spec.approximate)
        )
    assert isinstance(template, Ga4Template), kind
    if isinstance(value, JqlValue):
        raise TemplateError("a GA4 query's value is its metric; leave `value` out")
    return template.with_value(value)


def _expression(model: MappingModel, queries: Mapping[str, QueryDef], problems: list[Problem]) -> str | None:
    if model.queries is None or not queries:
        return None
    text = model.expression
    if text is None:
        if len(model.queries) > 1:
            problems.append(
                Problem(
                    ("queries",),
                    f"{len(model.queries)} queries need an `expression` combining them, e.g. "
                    f"`{' / '.join(list(model.queries)[:2])} * 100`",
                    at_key=True,
                )
            )
        return None
    try:
        used = check_expression(text, names=list(model.queries))
    except ExpressionError as exc:
        problems.append(Problem(("expression",), exc.message))
        return None
    for name in model.queries:
        if name not in used:
            problems.append(
                Problem(
                    ("queries", name),
                    f"query `{name}` is not used by the expression; remove it (it would cost an API call "
                    "every run)",
                    at_key=True,
                )
            )
    return text


def _window(model: MappingModel, problems: list[Problem]) -> WindowSpec | None:
    window = model.window
    offset = model.offset_days
    if isinstance(window, DateRange):
        if offset:
            problems.append(
                Problem(
                    ("offset_days",),
                    "`offset_days` moves a relative window; fixed dates do not move",
                    at_key=True,
                )
            )
            return None
        return WindowSpec(kind="dates", start=window.start, end=window.end)
    if isinstance(window, LastDays):
        return WindowSpec(kind="last_days", days=window.last_days, offset_days=offset)
    return WindowSpec(kind=window, offset_days=offset)
