r"""SOQL templates: checked once at load, rendered per key result, fanned out by owner.

Literals: a date parameter becomes an unquoted ISO date (`2026-10-01`); text and ids become a
single-quoted string with `\\` and `'` escaped (values holding control characters never get
here, `mappings.params` refuses them).

Fan-out: in a `for_each: owner` mapping, the owner filter `Field = {owner.x}` becomes
`Field IN ('id1', 'id2', ...)`, `Field` joins the SELECT list and the query gets
`GROUP BY Field`; one query then answers up to 2,000 owners (Salesforce's group limit), in
chunks that keep the query under 100,000 characters.

Example:
    ```python
    template = parse_soql("SELECT SUM(Amount) total FROM Opportunity WHERE OwnerId = {owner.salesforce_id}",
                          fan_out=True).with_value("total")
    template.plan(context, fan_out=True)   # Member(group=SoqlGroup(...), value="005...AAA", text=...)
    ```
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from hub.metrics import SoqlQuery
from mappings.coalesce import Direct, Member, Planned, Segment, chunk_by, render_segments, segments_of
from mappings.errors import TemplateError
from mappings.params import ParamContext, ParamSpec, ParamValue, check_text, param_spec, resolve_param
from mappings.tokens import Token, check_standalone, conjunct_problem, previous, tokenize

SOQL_MAX_CHARS = 100_000
"""Salesforce refuses a SOQL statement longer than this."""
SOQL_MAX_GROUPS = 2_000
"""A grouped query may return at most this many groups, and cannot be paged with queryMore."""

_AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})
_VALUE_OPERATORS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">=", "(", ","})
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_LATER_CLAUSES = ("WITH", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "FOR", "UPDATE")


def soql_literal(value: ParamValue) -> str:
    """`value` as a SOQL literal: an unquoted ISO date, or an escaped single-quoted string."""
    if value.kind == "date":
        return value.text()
    return _quoted(check_text(value.text(), what="a parameter value"))


@dataclass(frozen=True, slots=True)
class SoqlGroup:
    """One fan-out shape: the rendered query around the owner filter, and what to read back."""

    before: str
    field: str
    after: str
    value: str

    def chunks(self, values: Sequence[str]) -> list[list[str]]:
        """Chunks of at most 2,000 owners whose query stays within 100,000 characters."""
        fixed = len(self.before) + len(self.field) + len(self.after) + len(" IN ()")
        return chunk_by(
            values,
            max_count=SOQL_MAX_GROUPS,
            max_chars=SOQL_MAX_CHARS - fixed,
            cost=lambda value: len(_quoted(value)) + 2,
        )

    def build(self, values: Sequence[str]) -> SoqlQuery:
        """The grouped query for one chunk of owner values."""
        in_list = ", ".join(_quoted(value) for value in values)
        return SoqlQuery(
            soql=f"{self.before}{self.field} IN ({in_list}){self.after}",
            value=self.value,
            group_by=self.field.rsplit(".", 1)[-1],
        )


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True, slots=True)
class _FanOutParts:
    before: tuple[Segment, ...]
    field: str
    owner: ParamSpec
    after: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class SoqlTemplate:
    """A checked SOQL template: its text as segments, the names its rows hold, and its fan-out form.

    `outputs` are the column names a row of the answer holds (aliases, `expr0`.., `totalSize` for
    `SELECT COUNT()`); `value` is the one the mapping reads.
    """

    text: str
    segments: tuple[Segment, ...]
    params: tuple[ParamSpec, ...]
    outputs: tuple[str, ...]
    fan_out: _FanOutParts | None
    value: str = ""

    def with_value(self, value: str) -> SoqlTemplate:
        """This template reading the column `value`.

        Raises:
            TemplateError: The query has no such column; the message names the closest and all.
        """
        if value not in self.outputs:
            close = difflib.get_close_matches(value, self.outputs, n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`? " if close else ""
            raise TemplateError(
                f"the query has no column `{value}`; {hint}its columns are: {', '.join(self.outputs)} "
                "(an unaliased aggregate is `expr0`, `expr1`, ...; `SELECT COUNT()` answers in `totalSize`)"
            )
        return replace(self, value=value)

    def plan(self, context: ParamContext, *, fan_out: bool) -> Planned:
        """This query for one key result: a member of its fan-out group, or a complete query.

        Raises:
            MissingIdentity: The owner has no id the query needs.
            UnsafeValue: A value cannot be rendered safely.
        """
        text = render_segments(self.segments, context, soql_literal)
        parts = self.fan_out
        if not fan_out or parts is None:
            return Direct(SoqlQuery(soql=text, value=self.value), text)
        owner = resolve_param(parts.owner, context).text()
        group = SoqlGroup(
            before=render_segments(parts.before, context, soql_literal),
            field=parts.field,
            after=render_segments(parts.after, context, soql_literal),
            value=self.value,
        )
        return Member(group, owner, text)


def parse_soql(text: str, *, fan_out: bool, identity_systems: Collection[str] | None = None) -> SoqlTemplate:
    """Check a SOQL template and prepare it for rendering.

    Args:
        text: The template, with `{placeholders}` where literals go.
        fan_out: The mapping fans out per owner; an owner filter must then be coalescible.
        identity_systems: Known identity systems for `{owner.<system>_id}`; None accepts any.

    Returns:
        The checked template (call `with_value` to say which column holds the number).

    Raises:
        TemplateError: The template is unsafe or cannot be used as asked; the message says why.
    """
    text = text.rstrip()
    tokens = tokenize(text, quotes="'")
    specs = _placeholder_specs(tokens, text, identity_systems)
    select, from_ = _select_from(tokens)
    items = _split_items(tokens, select + 1, from_)
    outputs = _outputs(items)
    clauses = _clause_starts(tokens, from_)
    ordering = min((clauses[c] for c in ("GROUP", "ORDER") if c in clauses), default=len(tokens))
    for index in specs:
        if index > ordering:
            raise TemplateError(
                f"`{tokens[index].text}` is in the GROUP BY or ORDER BY clause, which takes fields, not "
                "values",
                offset=tokens[index].start,
            )
    parts = _fan_out_parts(tokens, specs, text, select, from_, items) if fan_out else None
    return SoqlTemplate(
        text=text,
        segments=segments_of(tokens, specs, 0, len(tokens)),
        params=tuple(dict.fromkeys(specs.values())),
        outputs=outputs,
        fan_out=parts,
    )


def _placeholder_specs(
    tokens: list[Token], text: str, identity_systems: Collection[str] | None
) -> dict[int, ParamSpec]:
    specs: dict[int, ParamSpec] = {}
    for index, token in enumerate(tokens):
        if token.kind != "placeholder":
            continue
        try:
            spec = param_spec(token.name, identity_systems=identity_systems)
        except TemplateError as exc:
            raise TemplateError(exc.message, offset=token.start) from None
        check_standalone(tokens, index, text)
        before = previous(tokens, index)
        if before is not None and tokens[before].is_word("LIKE"):
            raise TemplateError(
                f"`{token.text}` follows LIKE, where `%` and `_` in the value "
                "would act as wildcards; compare with `=` instead",
                offset=token.start,
            )
        if before is None or tokens[before].text not in _VALUE_OPERATORS:
            raise TemplateError(
                f"`{token.text}` (after `{_after(tokens, before)}`) is not where a value goes; a parameter "
                "stands for a literal, e.g. `CloseDate >= {window.start}` or "
                "`OwnerId = {owner.salesforce_id}`",
                offset=token.start,
            )
        specs[index] = spec
    return specs


def _select_from(tokens: list[Token]) -> tuple[int, int]:
    select = next((i for i, t in enumerate(tokens) if t.depth == 0 and t.kind != "space"), None)
    if select is None or not tokens[select].is_word("SELECT"):
        raise TemplateError("a SOQL query starts with SELECT")
    from_ = next(
        (i for i in range(select, len(tokens)) if tokens[i].depth == 0 and tokens[i].is_word("FROM")), None
    )
    if from_ is None:
        raise TemplateError("the query has no FROM clause")
    return select, from_


def _split_items(tokens: list[Token], start: int, end: int) -> list[list[Token]]:
    items: list[list[Token]] = [[]]
    for token in tokens[start:end]:
        if token.depth == 0 and token.text == ",":
            items.append([])
        elif token.kind != "space":
            items[-1].append(token)
    if any(not item for item in items):
        raise TemplateError("the SELECT list has an empty item")
    return items


def _is_aggregate(item: list[Token]) -> bool:
    return (
        len(item) >= 3
        and item[0].kind == "word"
        and item[0].text.upper() in _AGGREGATES
        and item[1].text == "("
    )


def _is_count_all(item: list[Token]) -> bool:
    return _is_aggregate(item) and item[0].text.upper() == "COUNT" and item[2].text == ")"


def _outputs(items: list[list[Token]]) -> tuple[str, ...]:
    if len(items) == 1 and _is_count_all(items[0]):
        return ("totalSize",)
    names: list[str] = []
    unaliased = 0
    for item in items:
        close = max(i for i, token in enumerate(item) if token.text == ")") if _is_aggregate(item) else 0
        rest = item[close + 1 :]
        alias = rest[-1].text if rest and rest[-1].kind == "word" and len(rest) == 1 else None
        if _is_aggregate(item):
            if alias is None:
                alias = f"expr{unaliased}"
                unaliased += 1
            names.append(alias)
        else:
            names.append(alias or item[0].text.rsplit(".", 1)[-1])
    return tuple(names)


def _fan_out_parts(
    tokens: list[Token],
    specs: dict[int, ParamSpec],
    text: str,
    select: int,
    from_: int,
    items: list[list[Token]],
) -> _FanOutParts | None:
    owners = [index for index, spec in specs.items() if spec.is_owner]
    if not owners:
        return None  # the same query for every owner: shared, not grouped
    shown = ", ".join(tokens[index].text for index in owners)
    if len(owners) > 1:
        raise TemplateError(f"a fan-out query may filter on one owner parameter; this one uses {shown}")
    placeholder = owners[0]
    example = f"e.g. `OwnerId = {tokens[placeholder].text}`"
    equals = previous(tokens, placeholder)
    field = previous(tokens, equals) if equals is not None else None
    if (
        equals is None
        or tokens[equals].text != "="
        or field is None
        or not _FIELD.fullmatch(tokens[field].text)
    ):
        raise TemplateError(
            f"to fan out per owner, write the owner filter as `Field = {tokens[placeholder].text}` "
            f"({example}); it becomes `Field IN (...)` grouped by Field"
        )
    name = tokens[field].text
    where_ = next(
        (i for i in range(from_, len(tokens)) if tokens[i].depth == 0 and tokens[i].is_word("WHERE")), None
    )
    later = _clause_starts(tokens, from_)
    end = min([i for i in later.values() if where_ is None or i > where_], default=len(tokens))
    if where_ is None or not where_ < field < end:
        raise TemplateError(
            f"the owner filter `{name} = {tokens[placeholder].text}` must be in the WHERE clause"
        )
    problem = conjunct_problem(tokens, field, placeholder, clause=(where_, end))
    if problem:
        raise TemplateError(
            f"the owner filter `{name} = {tokens[placeholder].text}` cannot fan out because {problem}; "
            "it must be ANDed with the rest of the WHERE clause"
        )
    for item in items:
        if not _is_aggregate(item) or _is_count_all(item):
            shown_item = text[item[0].start : item[-1].start + len(item[-1].text)]
            raise TemplateError(
                f"only an aggregate query can fan out per owner (grouped by `{name}`), and `{shown_item}` "
                "is not an aggregate; select e.g. `SUM(Amount) total` or `COUNT(Id) deals` "
                "(`COUNT()` cannot be grouped)"
            )
    for clause in ("GROUP", "HAVING", "LIMIT", "OFFSET"):
        if clause in later:
            raise TemplateError(
                f"a fan-out query must not have its own {clause}{' BY' if clause == 'GROUP' else ''}: "
                f"the compiler groups it by `{name}` (one row per owner)"
            )
    order = min((later[c] for c in ("ORDER", "FOR", "UPDATE") if c in later), default=None)
    if order is not None:
        after = (
            *segments_of(tokens, specs, placeholder + 1, order),
            f"GROUP BY {name} ",
            *segments_of(tokens, specs, order, len(tokens)),
        )
    else:
        last = max(i for i, token in enumerate(tokens) if token.kind != "space")
        after = (
            *segments_of(tokens, specs, placeholder + 1, last + 1),
            f" GROUP BY {name}",
            *segments_of(tokens, specs, last + 1, len(tokens)),
        )
    before = (
        *segments_of(tokens, specs, 0, select + 1),
        f" {name},",
        *segments_of(tokens, specs, select + 1, field),
    )
    return _FanOutParts(before=before, field=name, owner=specs[placeholder], after=after)


def _clause_starts(tokens: list[Token], from_: int) -> dict[str, int]:
    starts: dict[str, int] = {}
    for index in range(from_, len(tokens)):
        token = tokens[index]
        if token.depth == 0 and token.is_word(*_LATER_CLAUSES):
            starts.setdefault(token.text.upper(), index)
    return starts


def _after(tokens: list[Token], index: int | None) -> str:
    return "the start" if index is None else tokens[index].text
