"""GA4 report templates: a filter tree whose values are parameters, never text to splice.

A mapping's `ga4:` block names a property, a metric and an optional filter; a filter value may
be exactly one placeholder (`"{owner.email}"`), which is replaced by the checked value as a
JSON value of the `FilterExpression`. Fan-out: in a `for_each: owner` mapping, the leaf
`{dimension: D, equals: "{owner.email}"}` (reached through `and` only) becomes an
`inListFilter` of every owner's value with `group_by=D`; the connector sends five reports per
`batchRunReports` call.

Example:
    ```python
    owner_filter = Ga4Filter(dimension="customEvent:owner_email", equals="{owner.email}")
    spec = Ga4Spec(property="123456789", metric="sessions", filter=owner_filter)
    template = parse_ga4(spec, fan_out=True)
    ```
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hub.metrics import Ga4Query, TimeWindow
from mappings.coalesce import Direct, Member, Planned, chunk_by
from mappings.errors import TemplateError, UnsafeValue
from mappings.model import Ga4Filter, Ga4Spec
from mappings.params import ParamContext, ParamSpec, check_text, param_spec, resolve_param

GA4_IN_LIST_MAX = 1_000
"""Owner values per `inListFilter`: one report row per owner stays far below a report's row limit."""
GA4_BATCH_SIZE = 5
"""Reports per `batchRunReports` call (all of one property)."""

_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}")
_OWNER_SLOT: dict[str, Any] = {"$owner_values": True}
MatchType = Literal["EXACT", "BEGINS_WITH", "ENDS_WITH", "CONTAINS", "IN_LIST"]
Value = str | ParamSpec


@dataclass(frozen=True, slots=True)
class _Leaf:
    dimension: str
    match: MatchType
    values: tuple[Value, ...]
    case_sensitive: bool


@dataclass(frozen=True, slots=True)
class _Group:
    op: Literal["and", "or", "not"]
    children: tuple[_Leaf | _Group, ...]


_Node = _Leaf | _Group


@dataclass(frozen=True, slots=True)
class Ga4Group:
    """One fan-out shape: a report whose owner filter is a hole for an `inListFilter`."""

    property_id: str
    metric: str
    date_range: TimeWindow
    filter_json: str
    dimension: str
    case_sensitive: bool

    def chunks(self, values: Sequence[str]) -> list[list[str]]:
        """Chunks of at most 1,000 owner values."""
        return chunk_by(values, max_count=GA4_IN_LIST_MAX, max_chars=1_000_000, cost=len)

    def build(self, values: Sequence[str]) -> Ga4Query:
        """The report for one chunk of owner values, grouped by the owner dimension."""
        in_list = {
            "filter": {
                "fieldName": self.dimension,
                "inListFilter": {"values": list(values), "caseSensitive": self.case_sensitive},
            }
        }
        return Ga4Query(
            property_id=self.property_id,
            metric=self.metric,
            date_range=self.date_range,
            dimension_filter=_fill(json.loads(self.filter_json), in_list),
            group_by=self.dimension,
        )


def _fill(node: Any, in_list: dict[str, Any]) -> Any:
    if node == _OWNER_SLOT:
        return in_list
    if isinstance(node, dict):
        return {key: _fill(value, in_list) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, in_list) for item in node]
    return node


@dataclass(frozen=True, slots=True)
class Ga4Template:
    """A checked GA4 report: property, metric, filter tree, and the path to the owner leaf to fan out."""

    property_id: str
    metric: str
    filter: _Node | None
    params: tuple[ParamSpec, ...]
    owner_path: tuple[int, ...] | None

    def with_value(self, value: str | None) -> Ga4Template:
        """This template; `value`, if given, must name the report's metric.

        Raises:
            TemplateError: `value` names something else.
        """
        if value is not None and value != self.metric:
            raise TemplateError(
                f"a GA4 query's value is its metric `{self.metric}`, not `{value}`; leave `value` out or "
                "change `metric`"
            )
        return self

    def plan(self, context: ParamContext, *, fan_out: bool) -> Planned:
        """This report for one key result: a member of its fan-out group, or a complete report.

        Raises:
            MissingIdentity: The owner has no value the filter needs.
            UnsafeValue: A value cannot be used safely.
        """
        rendered = _render(self.filter, context) if self.filter is not None else None
        text = json.dumps(
            {
                "property": self.property_id,
                "metric": self.metric,
                "dateRange": [context.window.start.isoformat(), context.window.end.isoformat()],
                "dimensionFilter": rendered,
            },
            ensure_ascii=False,
        )
        if not fan_out or self.owner_path is None or self.filter is None:
            query = Ga4Query(
                property_id=self.property_id,
                metric=self.metric,
                date_range=context.window,
                dimension_filter=rendered,
            )
            return Direct(query, text)
        leaf = _at(self.filter, self.owner_path)
        assert isinstance(leaf, _Leaf)
        owner_spec = leaf.values[0]
        assert isinstance(owner_spec, ParamSpec)
        owner = resolve_param(owner_spec, context).text()
        with_hole = _render(self.filter, context, hole=self.owner_path)
        group = Ga4Group(
            property_id=self.property_id,
            metric=self.metric,
            date_range=context.window,
            filter_json=json.dumps(with_hole, sort_keys=True, ensure_ascii=False),
            dimension=leaf.dimension,
            case_sensitive=leaf.case_sensitive,
        )
        return Member(group, owner, text)


def parse_ga4(
    spec: Ga4Spec, *, fan_out: bool, identity_systems: Collection[str] | None = None
) -> Ga4Template:
    """Check a `ga4:` block and prepare it for rendering.

    Args:
        spec: The validated block.
        fan_out: The mapping fans out per owner; an owner filter must then be coalescible.
        identity_systems: Known identity systems for `{owner.<system>_id}`; None accepts any.

    Returns:
        The checked template.

    Raises:
        TemplateError: A value mixes text and a parameter, names an unknown parameter, or the owner
            filter cannot fan out; the message says why.
    """
    node = _node(spec.filter, identity_systems) if spec.filter is not None else None
    params: list[ParamSpec] = []
    owner_paths: list[tuple[int, ...]] = []
    if node is not None:
        _walk(node, (), params, owner_paths)
    owner_path = _owner_path(node, owner_paths) if fan_out and node is not None else None
    return Ga4Template(
        property_id=spec.property,
        metric=spec.metric,
        filter=node,
        params=tuple(dict.fromkeys(params)),
        owner_path=owner_path,
    )


def _node(model: Ga4Filter, identity_systems: Collection[str] | None) -> _Node:
    if model.and_ is not None:
        return _Group("and", tuple(_node(child, identity_systems) for child in model.and_))
    if model.or_ is not None:
        return _Group("or", tuple(_node(child, identity_systems) for child in model.or_))
    if model.not_ is not None:
        return _Group("not", (_node(model.not_, identity_systems),))
    assert model.dimension is not None  # the model checks a leaf has a dimension and one operator
    if model.in_list is not None:
        values = tuple(_value(text, identity_systems) for text in model.in_list)
        return _Leaf(model.dimension, "IN_LIST", values, model.case_sensitive)
    operators: tuple[tuple[MatchType, str | None], ...] = (
        ("EXACT", model.equals),
        ("BEGINS_WITH", model.begins_with),
        ("ENDS_WITH", model.ends_with),
        ("CONTAINS", model.contains),
    )
    match, single = next((match, value) for match, value in operators if value is not None)
    assert single is not None
    return _Leaf(model.dimension, match, (_value(single, identity_systems),), model.case_sensitive)


def _value(text: str, identity_systems: Collection[str] | None) -> Value:
    whole = _PLACEHOLDER.fullmatch(text.strip())
    if whole:
        return param_spec(whole.group(1), identity_systems=identity_systems)
    inner = _PLACEHOLDER.search(text)
    if inner:
        raise TemplateError(
            f"`{text}` mixes text and the parameter `{inner.group(0)}`; a GA4 filter value is either a whole "
            "parameter or plain text (use `begins_with`/`contains` for a partial match)"
        )
    try:
        return check_text(text, what=f"the filter value {text!r}")
    except UnsafeValue as exc:
        raise TemplateError(exc.message) from None


def _walk(node: _Node, path: tuple[int, ...], params: list[ParamSpec], owners: list[tuple[int, ...]]) -> None:
    if isinstance(node, _Group):
        for index, child in enumerate(node.children):
            _walk(child, (*path, index), params, owners)
        return
    for value in node.values:
        if isinstance(value, ParamSpec):
            params.append(value)
            if value.is_owner:
                owners.append(path)


def _owner_path(node: _Node, paths: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    if not paths:
        return None
    if len(paths) > 1:
        raise TemplateError("a fan-out report may filter on one owner parameter; this filter uses several")
    path = paths[0]
    leaf = _at(node, path)
    assert isinstance(leaf, _Leaf)
    if leaf.match != "EXACT":
        raise TemplateError(
            f"to fan out per owner, filter the owner with `equals` (dimension `{leaf.dimension}`); it "
            "becomes an inListFilter of every owner's value, grouped by that dimension"
        )
    current: _Node = node
    for index in path:
        assert isinstance(current, _Group)
        if current.op != "and":
            raise TemplateError(
                f"the owner filter on `{leaf.dimension}` cannot fan out because it is inside `{current.op}`; "
                "it must be the filter itself or part of an `and`"
            )
        current = current.children[index]
    return path


def _at(node: _Node, path: tuple[int, ...]) -> _Node:
    for index in path:
        assert isinstance(node, _Group)
        node = node.children[index]
    return node


def _render(node: _Node, context: ParamContext, *, hole: tuple[int, ...] | None = None) -> dict[str, Any]:
    if hole == ():
        return dict(_OWNER_SLOT)
    if isinstance(node, _Group):
        children = [
            _render(child, context, hole=hole[1:] if hole and hole[0] == index else None)
            for index, child in enumerate(node.children)
        ]
        if node.op == "not":
            return {"notExpression": children[0]}
        return {f"{node.op}Group": {"expressions": children}}
    values = [
        value if isinstance(value, str) else resolve_param(value, context).text() for value in node.values
    ]
    if node.match == "IN_LIST":
        return {
            "filter": {
                "fieldName": node.dimension,
                "inListFilter": {"values": values, "caseSensitive": node.case_sensitive},
            }
        }
    return {
        "filter": {
            "fieldName": node.dimension,
            "stringFilter": {
                "matchType": node.match,
                "value": values[0],
                "caseSensitive": node.case_sensitive,
            },
        }
    }
