r"""JQL templates: checked once at load, rendered per key result, fanned out by owner.

Literals: every value becomes a double-quoted JQL string with `\\` and `"` escaped; dates read
`"2026-10-01"`. Fan-out: in a `for_each: owner` mapping, `assignee = {owner.jira_account_id}`
becomes `assignee in ("a", "b", ...)` with `group_by="assignee"`, in chunks of at most 500
account ids; what to compute over the issues (count, sum or average of a field) comes from the
mapping's `value`. Jira answers a user field with the user's account id, so a fan-out over
`assignee`, `reporter`, ... must use `{owner.jira_account_id}` (an email would match no group).

Example:
    ```python
    template = parse_jql('project = ENG AND assignee = {owner.jira_account_id}', fan_out=True)
    template = template.with_value(JqlAggregate(aggregate="sum", field="Story point estimate"))
    ```
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from hub.metrics import JqlQuery
from mappings.coalesce import Direct, Member, Planned, Segment, chunk_by, render_segments, segments_of
from mappings.errors import TemplateError
from mappings.params import ParamContext, ParamSpec, ParamValue, check_text, param_spec, resolve_param
from mappings.tokens import Token, check_standalone, conjunct_problem, following, previous, tokenize

JQL_IN_LIST_MAX = 500
"""Account ids per `in (...)` list: keeps each JQL short enough for any Jira site."""
JQL_MAX_CHARS = 50_000
"""A generous bound on one JQL text; an `in` list is split before it gets there."""

_VALUE_OPERATORS = frozenset({"=", "!=", "<", "<=", ">", ">=", "(", ","})
_VALUE_KEYWORDS = ("WAS", "NOT", "BY", "AFTER", "BEFORE", "ON", "DURING", "FROM", "TO")
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "WAS", "ORDER", "BY", "EMPTY", "NULL", "CHANGED"})
USER_FIELDS = frozenset({"assignee", "reporter", "creator", "watcher", "voter"})
"""Jira's own user fields: a fan-out over one of them must use the owner's Jira account id."""

Aggregate = Literal["count", "sum", "average"]
"""What to compute over the matching issues."""


def jql_literal(value: ParamValue) -> str:
    r"""`value` as a JQL literal: a double-quoted string with `\\` and `"` escaped."""
    return _quoted(check_text(value.text(), what="a parameter value"))


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class JqlAggregate:
    """How a JQL query becomes a number: `count` issues, or `sum`/`average` a numeric `field`."""

    aggregate: Aggregate = "count"
    field: str | None = None
    approximate: bool = False


@dataclass(frozen=True, slots=True)
class JqlGroup:
    """One fan-out shape: the rendered JQL around the owner clause, and what to compute."""

    before: str
    field: str
    group_by: str
    after: str
    value: JqlAggregate

    def chunks(self, values: Sequence[str]) -> list[list[str]]:
        """Chunks of at most 500 account ids."""
        fixed = len(self.before) + len(self.field) + len(self.after) + len(" in ()")
        return chunk_by(
            values,
            max_count=JQL_IN_LIST_MAX,
            max_chars=JQL_MAX_CHARS - fixed,
            cost=lambda value: len(_quoted(value)) + 2,
        )

    def build(self, values: Sequence[str]) -> JqlQuery:
        """The grouped query for one chunk of owner values."""
        in_list = ", ".join(_quoted(value) for value in values)
        return JqlQuery(
            jql=f"{self.before}{self.field} in ({in_list}){self.after}",
            aggregate=self.value.aggregate,
            field=self.value.field,
            group_by=self.group_by,
        )


@dataclass(frozen=True, slots=True)
class _FanOutParts:
    before: tuple[Segment, ...]
    field: str
    group_by: str
    owner: ParamSpec
    after: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class JqlTemplate:
    """A checked JQL template: its text as segments, its fan-out form, and what to compute."""

    text: str
    segments: tuple[Segment, ...]
    params: tuple[ParamSpec, ...]
    fan_out: _FanOutParts | None
    value: JqlAggregate = JqlAggregate()

    def with_value(self, value: JqlAggregate) -> JqlTemplate:
        """This template computing `value`.

        Raises:
            TemplateError: `sum`/`average` without a field, or an approximate count that must be grouped.
        """
        if value.aggregate != "count" and not value.field:
            raise TemplateError(
                f"`{value.aggregate}` needs the numeric `field` to add up, e.g. Story point estimate"
            )
        if value.aggregate == "count" and value.field:
            raise TemplateError("`count` counts issues and takes no `field`; use `sum` to add up a field")
        if value.approximate and (value.aggregate != "count" or self.fan_out is not None):
            raise TemplateError(
                "`approximate` works only for a plain count that is not split per owner (Jira's approximate "
                "count cannot group)"
            )
        return replace(self, value=value)

    def plan(self, context: ParamContext, *, fan_out: bool) -> Planned:
        """This query for one key result: a member of its fan-out group, or a complete query.

        Raises:
            MissingIdentity: The owner has no id the query needs.
            UnsafeValue: A value cannot be rendered safely.
        """
        text = render_segments(self.segments, context, jql_literal)
        parts = self.fan_out
        if not fan_out or parts is None:
            query = JqlQuery(
                jql=text,
                aggregate=self.value.aggregate,
                field=self.value.field,
                approximate=self.value.approximate,
            )
            return Direct(query, text)
        group = JqlGroup(
            before=render_segments(parts.before, context, jql_literal),
            field=parts.field,
            group_by=parts.group_by,
            after=render_segments(parts.after, context, jql_literal),
            value=self.value,
        )
        return Member(group, resolve_param(parts.owner, context).text(), text)


def parse_jql(text: str, *, fan_out: bool, identity_systems: Collection[str] | None = None) -> JqlTemplate:
    """Check a JQL template and prepare it for rendering.

    Args:
        text: The template, with `{placeholders}` where values go.
        fan_out: The mapping fans out per owner; an owner clause must then be coalescible.
        identity_systems: Known identity systems for `{owner.<system>_id}`; None accepts any.

    Returns:
        The checked template (call `with_value` to say what to compute).

    Raises:
        TemplateError: The template is unsafe or cannot be used as asked; the message says why.
    """
    text = text.rstrip()
    tokens = tokenize(text, quotes="\"'")
    specs: dict[int, ParamSpec] = {}
    for index, token in enumerate(tokens):
        if token.kind == "placeholder":
            specs[index] = _placeholder_spec(tokens, index, text, identity_systems)
    order = _order_by(tokens)
    for index in specs:
        if index > order:
            raise TemplateError(
                f"`{tokens[index].text}` is in the ORDER BY clause, which takes fields, not values",
                offset=tokens[index].start,
            )
    parts = _fan_out_parts(tokens, specs, identity_systems) if fan_out else None
    return JqlTemplate(
        text=text,
        segments=segments_of(tokens, specs, 0, len(tokens)),
        params=tuple(dict.fromkeys(specs.values())),
        fan_out=parts,
    )


def _placeholder_spec(
    tokens: list[Token], index: int, text: str, identity_systems: Collection[str] | None
) -> ParamSpec:
    token = tokens[index]
    try:
        spec = param_spec(token.name, identity_systems=identity_systems)
    except TemplateError as exc:
        raise TemplateError(exc.message, offset=token.start) from None
    check_standalone(tokens, index, text)
    before = previous(tokens, index)
    if before is not None and tokens[before].text in ("~", "!~"):
        raise TemplateError(
            f"`{token.text}` follows `{tokens[before].text}`, a text search "
            "whose own syntax would read characters of the value as operators; compare with `=` instead",
            offset=token.start,
        )
    ordering = before is not None and tokens[before].is_word("BY") and _is_order_by(tokens, before)
    if (
        before is None
        or ordering
        or not (tokens[before].text in _VALUE_OPERATORS or tokens[before].is_word(*_VALUE_KEYWORDS))
    ):
        raise TemplateError(
            f"`{token.text}` (after `{_after(tokens, before)}`) is not where a value goes; a parameter "
            "stands for a value, e.g. `created >= {window.start}` or `assignee = {owner.jira_account_id}`",
            offset=token.start,
        )
    return spec


def _fan_out_parts(
    tokens: list[Token], specs: dict[int, ParamSpec], identity_systems: Collection[str] | None
) -> _FanOutParts | None:
    owners = [index for index, spec in specs.items() if spec.is_owner]
    if not owners:
        return None
    if len(owners) > 1:
        shown = ", ".join(tokens[index].text for index in owners)
        raise TemplateError(f"a fan-out query may filter on one owner parameter; this one uses {shown}")
    placeholder = owners[0]
    shown = tokens[placeholder].text
    equals = previous(tokens, placeholder)
    field = previous(tokens, equals) if equals is not None else None
    if (
        equals is None
        or tokens[equals].text != "="
        or field is None
        or tokens[field].kind not in ("word", "string")
        or tokens[field].text.upper() in _KEYWORDS
    ):
        raise TemplateError(
            f"to fan out per owner, write the owner clause as `field = {shown}` (e.g. `assignee = {shown}`); "
            "it becomes `field in (...)` grouped by field"
        )
    order = _order_by(tokens)
    name = tokens[field].text
    problem = conjunct_problem(tokens, field, placeholder, clause=(-1, order))
    if problem:
        raise TemplateError(
            f"the owner clause `{name} = {shown}` cannot fan out because {problem}; it must be ANDed with "
            "the rest of the query"
        )
    group_by = name
    if tokens[field].kind == "string":
        group_by = name[1:-1].replace('\\"', '"').replace("\\'", "'").replace("\\\\", "\\")
    _check_user_field(group_by, specs[placeholder], tokens[placeholder], identity_systems)
    return _FanOutParts(
        before=segments_of(tokens, specs, 0, field),
        field=name,
        group_by=group_by,
        owner=specs[placeholder],
        after=segments_of(tokens, specs, placeholder + 1, len(tokens)),
    )


def _check_user_field(
    field: str, spec: ParamSpec, token: Token, identity_systems: Collection[str] | None
) -> None:
    """Refuse fanning a user field out over anything but the owner's Jira id.

    The connector groups the issues by the field's value, and Jira names a user by account id
    (Cloud; the user name on Data Center), never by email or another system's id: with
    `assignee = {owner.email}` every key result would find no group and get no data. Custom
    user-picker fields cannot be told apart from the query text; only Jira's own are checked.
    """
    if field.casefold() not in USER_FIELDS or spec.system == "jira":
        return
    hint = ""
    if identity_systems is not None and "jira" not in identity_systems:
        hint = " (map `jira` in hub.yaml `org_sync.identities` so owners have one)"
    raise TemplateError(
        f"`{field} = {token.text}` fans out per owner, but Jira groups the issues by the {field}'s account "
        f"id, not by `{token.text}`, so every key result would get no data; write "
        f"`{field} = {{owner.jira_account_id}}`{hint}",
        offset=token.start,
    )


def _order_by(tokens: list[Token]) -> int:
    """Index of the top-level ORDER of `ORDER BY`, or the number of tokens when there is none."""
    return next(
        (i for i, t in enumerate(tokens) if t.depth == 0 and t.is_word("ORDER") and _by_follows(tokens, i)),
        len(tokens),
    )


def _is_order_by(tokens: list[Token], by: int) -> bool:
    order = previous(tokens, by)
    return order is not None and tokens[order].is_word("ORDER")


def _by_follows(tokens: list[Token], index: int) -> bool:
    after = following(tokens, index)
    return after is not None and tokens[after].is_word("BY")


def _after(tokens: list[Token], index: int | None) -> str:
    return "the start" if index is None else tokens[index].text
