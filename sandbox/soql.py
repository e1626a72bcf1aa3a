r"""A SOQL subset for the Salesforce emulator: tokenizer, recursive-descent parser and evaluator.

What it understands (everything the metric mappings send, and the mistakes they may make):

- `SELECT` plain fields, relationship fields (`Owner.Email`, `Account.Owner.Name`) and the
  aggregates `COUNT()`, `COUNT(f)`, `COUNT_DISTINCT(f)`, `SUM`, `AVG`, `MIN`, `MAX`, with aliases
  (unaliased aggregates are named `expr0`, `expr1`, ... in order);
- `FROM` one object; `WHERE` with `AND`/`OR`/`NOT` and parentheses (mixing `AND` and `OR` without
  parentheses is refused, as by Salesforce), `= != <> < <= > >=`, `IN (...)`, `NOT IN (...)`,
  `LIKE` (`%`, `_`, `\%`, `\_`); literals: strings with backslash escapes, numbers,
  `true`/`false`/`null`, dates `2026-10-01`, datetimes `2026-10-01T00:00:00Z` (or `+hh:mm`), and
  the relative date literals `TODAY`, `THIS_QUARTER`, `LAST_N_DAYS:n`, ... (calendar, not fiscal;
  weeks start on Sunday; the org's time zone is UTC);
- `GROUP BY` one or more fields (a grouped relationship field is named by its last segment),
  `ORDER BY ... ASC|DESC NULLS FIRST|LAST` (nulls first by default), `LIMIT`, `OFFSET`.

Text comparisons are case-insensitive and `!=`/`NOT IN` keep null values, as in Salesforce.
Errors are `SoqlError(error_code, message)` with Salesforce's codes (`MALFORMED_QUERY`,
`INVALID_FIELD`, `INVALID_TYPE`, `INVALID_QUERY_FILTER_OPERATOR`) and its message layout: the
query line, a caret under the offending token, `ERROR at Row:r:Column:c`, then the reason.

Example:
    ```python
    result = execute("SELECT OwnerId, SUM(Amount) total FROM Opportunity GROUP BY OwnerId",
                     dataset, today=date(2026, 11, 23), version="59.0")
    result.records[0]   # {"attributes": {"type": "AggregateResult"}, "OwnerId": "005...", "total": 1.0}
    ```
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

STRING_KINDS = frozenset({"id", "reference", "string", "picklist", "email", "textarea", "phone", "url"})
NUMBER_KINDS = frozenset({"currency", "double", "int", "percent"})
UNGROUPABLE_KINDS = frozenset({"currency", "double", "percent", "textarea"})
AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})
KEYWORDS = frozenset({
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "GROUP", "BY", "ORDER", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "HAVING", "WITH", "USING", "FOR", "INCLUDES", "EXCLUDES",
    "TRUE", "FALSE", "NULL",
})  # fmt: skip
_CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom field "
    "name. Please reference your WSDL or the describe call for the appropriate names."
)
_CUSTOM_OBJECT_HINT = (
    "If you are attempting to use a custom object, be sure to append the '__c' after the entity name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_CUSTOM_RELATIONSHIP_HINT = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after the custom "
    "relationship name. Please reference your WSDL or the describe call for the appropriate names."
)


class SoqlError(Exception):
    """A query Salesforce would refuse: `error_code` and `message` as its REST API sends them."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


# --- schema and data ----------------------------------------------------------------------------------
class SObjectType:
    """An object's fields (name to kind) and lookup relationships (name to id field and target)."""

    def __init__(
        self, name: str, fields: Mapping[str, str], relationships: Mapping[str, tuple[str, str]]
    ) -> None:
        self.name = name
        self.fields = dict(fields)
        self.relationships = dict(relationships)
        self._fields = {key.lower(): key for key in fields}
        self._relationships = {key.lower(): key for key in relationships}

    def field(self, name: str) -> str | None:
        """The field's canonical name, whatever the case it was written in; None if unknown."""
        return self._fields.get(name.lower())

    def relationship(self, name: str) -> str | None:
        """The relationship's canonical name; None if unknown."""
        return self._relationships.get(name.lower())


class Dataset:
    """Records by object, and by object and Id for relationship lookups."""

    def __init__(self, types: Iterable[SObjectType]) -> None:
        self.types = {t.name: t for t in types}
        self._names = {name.lower(): name for name in self.types}
        self.records: dict[str, list[dict[str, Any]]] = {name: [] for name in self.types}
        self._by_id: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.types}

    def sobject(self, name: str) -> SObjectType | None:
        """The object type named `name` (any case); None if there is none."""
        canonical = self._names.get(name.lower())
        return self.types[canonical] if canonical else None

    def insert(self, sobject: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Add a record (fields it does not give are null) and return it."""
        kind = self.types[sobject]
        unknown = [key for key in values if kind.field(key) is None]
        if unknown:
            raise KeyError(f"{sobject} has no field {', '.join(unknown)}")
        record = {name: None for name in kind.fields} | {kind.field(k) or k: v for k, v in values.items()}
        self.records[sobject].append(record)
        self._by_id[sobject][str(record["Id"]).lower()] = record
        return record

    def get(self, sobject: str, record_id: Any) -> dict[str, Any] | None:
        """The record of `sobject` with this Id (case-insensitive), or None."""
        if record_id is None:
            return None
        return self._by_id[sobject].get(str(record_id).lower())


# --- tokens -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token; `value` is the decoded literal, `like` a string's LIKE regex."""

    kind: str
    text: str
    pos: int
    value: Any = None
    like: str | None = None

    def is_kw(self, *words: str) -> bool:
        """Whether this is an identifier spelling one of `words` (case-insensitive)."""
        return self.kind == "ident" and self.text.upper() in words


_LEXEME = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
    |(?P<number>(?:\d+(?:\.\d+)?|\.\d+))(?![A-Za-z_])
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),:\-])
    """,
    re.VERBOSE,
)
_ESCAPES = {
    "n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t", "b": "\b", "B": "\b",
    "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\",
}  # fmt: skip


def tokenize(source: str) -> list[Token]:
    """The tokens of `source`, ending with an `eof` token; `SoqlError` on a character SOQL lacks."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        if source[pos] == "'":
            token = _string(source, pos)
            tokens.append(token)
            pos += len(token.text)
            continue
        match = _LEXEME.match(source, pos)
        if match is None:
            raise located(source, pos, "MALFORMED_QUERY", f"unexpected token: {source[pos]}")
        kind = match.lastgroup or "ws"
        text = match.group()
        if kind != "ws":
            tokens.append(Token(kind, text, pos, _literal_value(source, kind, text, pos)))
        pos = match.end()
    tokens.append(Token("eof", "", len(source)))
    return tokens


def _literal_value(source: str, kind: str, text: str, pos: int) -> Any:
    try:
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "datetime":
            normal = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.replace("Z", "+00:00"))
            return datetime.fromisoformat(normal).astimezone(UTC)
    except ValueError:
        raise located(source, pos, "MALFORMED_QUERY", f"invalid {kind}: {text}") from None
    return None


def _string(source: str, start: int) -> Token:
    plain: list[str] = []
    like: list[str] = []
    pos = start + 1
    while pos < len(source):
        char = source[pos]
        if char == "'":
            text = source[start : pos + 1]
            return Token("string", text, start, "".join(plain), "".join(like))
        if char == "\\":
            escaped = source[pos + 1 : pos + 2]
            if escaped in _ESCAPES:
                plain.append(_ESCAPES[escaped])
                like.append(re.escape(_ESCAPES[escaped]))
                pos += 2
            elif escaped in ("%", "_"):
                plain.append(escaped)
                like.append(re.escape(escaped))
                pos += 2
            elif escaped == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", source[pos + 2 : pos + 6]):
                decoded = chr(int(source[pos + 2 : pos + 6], 16))
                plain.append(decoded)
                like.append(re.escape(decoded))
                pos += 6
            else:
                end = source.find("'", pos + 2)
                raw = source[start : end + 1 if end >= 0 else len(source)]
                raise located(
                    source,
                    start,
                    "MALFORMED_QUERY",
                    f"Invalid string literal {raw}. Illegal character sequence '\\{escaped}' in string "
                    "literal.",
                )
            continue
        plain.append(char)
        like.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        pos += 1
    raise located(source, start, "MALFORMED_QUERY", f"unterminated string literal: {source[start:]}")


def located(source: str, pos: int, code: str, reason: str) -> SoqlError:
    """A `SoqlError` whose message points at `pos` the way Salesforce does (row, column, caret)."""
    before = source[:pos]
    row = before.count("\n") + 1
    column = pos - (before.rfind("\n") + 1) + 1
    line = source.splitlines()[row - 1] if source.strip() else ""
    start = max(0, column - 1 - 60)
    excerpt = (
        ("..." if start else "") + line[start : start + 120] + ("..." if len(line) > start + 120 else "")
    )
    caret = " " * (column - 1 - start + (3 if start else 0)) + "^"
    return SoqlError(code, f"\n{excerpt}\n{caret}\nERROR at Row:{row}:Column:{column}\n{reason}")


# --- syntax tree --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field path as written (`Owner.Email`)."""

    path: tuple[str, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class AggregateCall:
    """`SUM(Amount)`; `field` is None for `COUNT()`."""

    func: str
    field: FieldRef | None
    pos: int


@dataclass(frozen=True, slots=True)
class SelectItem:
    """One column of the SELECT list."""

    expr: FieldRef | AggregateCall
    alias: str | None


@dataclass(frozen=True, slots=True)
class Literal:
    """A value in a condition; kind `relative` holds `(name, n)` of a relative date literal."""

    kind: str
    value: Any
    pos: int
    like: str | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    """`field op value`."""

    field: FieldRef
    op: str
    value: Literal


@dataclass(frozen=True, slots=True)
class InList:
    """`field [NOT] IN (values)`."""

    field: FieldRef
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Like:
    """`field LIKE 'pattern'`."""

    field: FieldRef
    pattern: Literal


@dataclass(frozen=True, slots=True)
class Junction:
    """Conditions joined by one of AND / OR."""

    op: str
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Negation:
    """`NOT condition`."""

    part: Condition


Condition = Comparison | InList | Like | Junction | Negation


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One ORDER BY term."""

    expr: FieldRef | AggregateCall
    descending: bool
    nulls_last: bool


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed SOQL query."""

    items: tuple[SelectItem, ...]
    count_only: bool
    sobject: str
    sobject_pos: int
    where: Condition | None
    group_by: tuple[FieldRef, ...]
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


# --- parser -------------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def ahead(self, offset: int) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def error(self, token: Token | None = None, reason: str | None = None) -> SoqlError:
        token = token or self.peek
        text = token.text or "<EOF>"
        return located(self.source, token.pos, "MALFORMED_QUERY", reason or f"unexpected token: {text}")

    def expect_kw(self, word: str) -> Token:
        if not self.peek.is_kw(word):
            raise self.error()
        return self.advance()

    def expect(self, text: str) -> Token:
        if self.peek.text != text or self.peek.kind not in ("punct", "op"):
            raise self.error()
        return self.advance()

    def accept(self, text: str) -> bool:
        if self.peek.text == text and self.peek.kind in ("punct", "op"):
            self.advance()
            return True
        return False

    def parse(self) -> Query:
        self.expect_kw("SELECT")
        count_only = (
            self.peek.is_kw("COUNT") and self.ahead(1).text == "(" and self.ahead(2).text == ")"
        ) and self.ahead(3).is_kw("FROM")
        items: tuple[SelectItem, ...] = ()
        if count_only:
            self.index += 3
        else:
            items = self.select_list()
        self.expect_kw("FROM")
        name = self.advance()
        if name.kind != "ident" or "." in name.text or name.text.upper() in KEYWORDS:
            raise self.error(name)
        where = None
        if self.peek.is_kw("WHERE"):
            self.advance()
            where = self.condition()
        group_by: tuple[FieldRef, ...] = ()
        if self.peek.is_kw("GROUP"):
            self.advance()
            self.expect_kw("BY")
            group_by = tuple(self.comma_list(self.field_ref))
        if self.peek.is_kw("HAVING", "WITH", "USING", "FOR"):
            raise self.error(reason=f"{self.peek.text.upper()} is not supported by the okrhub sandbox")
        order_by: tuple[OrderItem, ...] = ()
        if self.peek.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            order_by = tuple(self.comma_list(self.order_item))
        limit = self.count_clause("LIMIT")
        offset = self.count_clause("OFFSET")
        if self.peek.kind != "eof":
            raise self.error()
        return Query(items, count_only, name.text, name.pos, where, group_by, order_by, limit, offset)

    def comma_list(self, parse_one: Callable[[], Any]) -> list[Any]:
        values = [parse_one()]
        while self.accept(","):
            values.append(parse_one())
        return values

    def count_clause(self, word: str) -> int | None:
        if not self.peek.is_kw(word):
            return None
        self.advance()
        token = self.advance()
        if token.kind != "number" or not isinstance(token.value, int):
            raise self.error(token)
        return int(token.value)

    def select_list(self) -> tuple[SelectItem, ...]:
        def item() -> SelectItem:
            expr = self.aggregate() if self.ahead(1).text == "(" else self.field_ref()
            alias = None
            if self.peek.kind == "ident" and self.peek.text.upper() not in KEYWORDS:
                alias_token = self.advance()
                if "." in alias_token.text:
                    raise self.error(alias_token)
                alias = alias_token.text
            return SelectItem(expr, alias)

        return tuple(self.comma_list(item))

    def aggregate(self) -> AggregateCall:
        name = self.advance()
        func = name.text.upper()
        if name.kind != "ident" or func not in AGGREGATES:
            if name.text.upper() == "SELECT" or name.kind == "punct":
                raise self.error(name, reason="subqueries are not supported by the okrhub sandbox")
            raise self.error(
                name,
                reason=f"unknown function {name.text} (the okrhub sandbox knows "
                f"{', '.join(sorted(AGGREGATES))})",
            )
        self.expect("(")
        if func == "COUNT" and self.peek.text == ")":
            raise self.error(self.peek, reason="COUNT() must be the only element in the SELECT list")
        ref = self.field_ref()
        self.expect(")")
        return AggregateCall(func, ref, name.pos)

    def field_ref(self) -> FieldRef:
        token = self.advance()
        if token.kind != "ident" or token.text.upper() in KEYWORDS:
            raise self.error(token)
        return FieldRef(tuple(token.text.split(".")), token.pos)

    def order_item(self) -> OrderItem:
        expr: FieldRef | AggregateCall = self.aggregate() if self.ahead(1).text == "(" else self.field_ref()
        descending = False
        if self.peek.is_kw("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        nulls_last = False
        if self.peek.is_kw("NULLS"):
            self.advance()
            which = self.advance()
            if not which.is_kw("FIRST", "LAST"):
                raise self.error(which)
            nulls_last = which.text.upper() == "LAST"
        return OrderItem(expr, descending, nulls_last)

    def condition(self) -> Condition:
        parts = [self.unary()]
        joiner: str | None = None
        while self.peek.is_kw("AND", "OR"):
            word = self.peek.text.upper()
            if joiner is not None and word != joiner:
                raise self.error()
            joiner = word
            self.advance()
            parts.append(self.unary())
        return Junction(joiner, tuple(parts)) if joiner else parts[0]

    def unary(self) -> Condition:
        if self.peek.is_kw("NOT"):
            self.advance()
            return Negation(self.unary())
        if self.accept("("):
            inner = self.condition()
            self.expect(")")
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        if self.ahead(1).text == "(":
            raise self.error(self.ahead(1), reason="aggregate functions are not allowed in WHERE; use HAVING")
        ref = self.field_ref()
        if self.peek.is_kw("NOT") and self.ahead(1).is_kw("IN"):
            self.index += 2
            return InList(ref, self.value_list(), negated=True)
        if self.peek.is_kw("IN"):
            self.advance()
            return InList(ref, self.value_list(), negated=False)
        if self.peek.is_kw("LIKE"):
            self.advance()
            return Like(ref, self.value())
        if self.peek.is_kw("INCLUDES", "EXCLUDES"):
            raise self.error(reason="INCLUDES/EXCLUDES are not supported by the okrhub sandbox")
        if self.peek.kind != "op":
            raise self.error()
        op = self.advance().text
        return Comparison(ref, "!=" if op == "<>" else op, self.value())

    def value_list(self) -> tuple[Literal, ...]:
        self.expect("(")
        if self.peek.is_kw("SELECT"):
            raise self.error(reason="semi-join subqueries are not supported by the okrhub sandbox")
        values = tuple(self.comma_list(self.value))
        self.expect(")")
        return values

    def value(self) -> Literal:
        token = self.advance()
        if token.kind == "string":
            return Literal("string", token.value, token.pos, token.like)
        if token.kind == "punct" and token.text == "-" and self.peek.kind == "number":
            return Literal("number", -self.advance().value, token.pos)
        if token.kind in ("number", "date", "datetime"):
            return Literal(token.kind, token.value, token.pos)
        if token.is_kw("TRUE", "FALSE"):
            return Literal("boolean", token.text.upper() == "TRUE", token.pos)
        if token.is_kw("NULL"):
            return Literal("null", None, token.pos)
        if token.kind == "ident" and token.text.upper() in RELATIVE_DATES:
            name = token.text.upper()
            if RELATIVE_DATES[name]:
                self.expect(":")
                number = self.advance()
                if number.kind != "number" or not isinstance(number.value, int):
                    raise self.error(number)
                return Literal("relative", (name, number.value), token.pos)
            return Literal("relative", (name, 0), token.pos)
        if token.kind == "punct" and token.text == ":":
            raise self.error(token, reason="Bind variables only allowed in Apex code")
        raise self.error(token)


def parse(source: str) -> Query:
    """Parse one SOQL query; `SoqlError` (MALFORMED_QUERY) points at the first token that is wrong."""
    return _Parser(source).parse()


# --- relative date literals ---------------------------------------------------------------------------
RELATIVE_DATES: Mapping[str, bool] = {
    **dict.fromkeys((
        "YESTERDAY", "TODAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH", "THIS_MONTH",
        "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS", "LAST_QUARTER", "THIS_QUARTER", "NEXT_QUARTER",
        "LAST_YEAR", "THIS_YEAR", "NEXT_YEAR",
    ), False),
    **dict.fromkeys((
        "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS", "N_WEEKS_AGO",
        "LAST_N_MONTHS", "NEXT_N_MONTHS", "N_MONTHS_AGO", "LAST_N_QUARTERS", "NEXT_N_QUARTERS",
        "N_QUARTERS_AGO", "LAST_N_YEARS", "NEXT_N_YEARS", "N_YEARS_AGO",
    ), True),
}  # fmt: skip
"""Relative date literals, and whether each takes `:n`."""


def _months(start: date, delta: int) -> date:
    index = start.year * 12 + start.month - 1 + delta
    return date(index // 12, index % 12 + 1, 1)


def relative_range(name: str, n: int, today: date) -> tuple[date, date]:
    """The first and last day (both included) a relative date literal stands for."""
    simple = {
        "YESTERDAY": ("N_DAYS_AGO", 1), "TODAY": ("N_DAYS_AGO", 0), "TOMORROW": ("N_DAYS_AGO", -1),
        "LAST_WEEK": ("N_WEEKS_AGO", 1), "THIS_WEEK": ("N_WEEKS_AGO", 0), "NEXT_WEEK": ("N_WEEKS_AGO", -1),
        "LAST_MONTH": ("N_MONTHS_AGO", 1), "THIS_MONTH": ("N_MONTHS_AGO", 0),
        "NEXT_MONTH": ("N_MONTHS_AGO", -1), "LAST_QUARTER": ("N_QUARTERS_AGO", 1),
        "THIS_QUARTER": ("N_QUARTERS_AGO", 0), "NEXT_QUARTER": ("N_QUARTERS_AGO", -1),
        "LAST_YEAR": ("N_YEARS_AGO", 1), "THIS_YEAR": ("N_YEARS_AGO", 0), "NEXT_YEAR": ("N_YEARS_AGO", -1),
        "LAST_90_DAYS": ("LAST_N_DAYS", 90), "NEXT_90_DAYS": ("NEXT_N_DAYS", 90),
    }  # fmt: skip
    if name in simple:
        name, n = simple[name]
    unit = name.split("_")[-1] if not name.endswith("_AGO") else name.split("_")[1]
    day = timedelta(days=1)
    if unit == "DAYS":
        if name == "LAST_N_DAYS":
            return today - timedelta(days=n), today
        if name == "NEXT_N_DAYS":
            return today + day, today + timedelta(days=n)
        return today - timedelta(days=n), today - timedelta(days=n)
    if unit == "WEEKS":
        week = today - timedelta(days=(today.weekday() + 1) % 7)  # Sunday
        spans = {"LAST": (-n, 0), "NEXT": (1, n + 1), "N": (-n, -n + 1)}
        first, after = spans[name.split("_")[0]]
        return week + timedelta(weeks=first), week + timedelta(weeks=after) - day
    if unit == "MONTHS":
        size, current = 1, date(today.year, today.month, 1)
    elif unit == "QUARTERS":
        size, current = 3, date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    else:
        size, current = 12, date(today.year, 1, 1)
    spans = {"LAST": (-n, 0), "NEXT": (1, n + 1), "N": (-n, -n + 1)}
    first, after = spans[name.split("_")[0]]
    return _months(current, first * size), _months(current, after * size) - day


# --- evaluation ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QueryResult:
    """What a query returns: rendered records (JSON-ready), the total, and whether it aggregated."""

    records: list[dict[str, Any]]
    total_size: int
    aggregate: bool


@dataclass(frozen=True, slots=True)
class _Path:
    steps: tuple[tuple[str, str, str], ...]
    """(relationship name, id field, target object) for each hop."""
    field: str
    kind: str
    key: tuple[str, ...]


def to_json(value: Any) -> Any:
    """A field value as Salesforce's JSON renders it (dates ISO, datetimes `...T10:00:00.000+0000`)."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"
    if isinstance(value, date):
        return value.isoformat()
    return value


class _Engine:
    def __init__(self, source: str, query: Query, dataset: Dataset, today: date, version: str) -> None:
        self.source = source
        self.query = query
        self.dataset = dataset
        self.today = today
        self.version = version
        root = dataset.sobject(query.sobject)
        if root is None:
            raise located(
                source,
                query.sobject_pos,
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. {_CUSTOM_OBJECT_HINT}",
            )
        self.root = root

    # --- names ----------------------------------------------------------------------------------------
    def resolve(self, ref: FieldRef) -> _Path:
        current = self.root
        steps: list[tuple[str, str, str]] = []
        for segment in ref.path[:-1]:
            relationship = current.relationship(segment)
            if relationship is None:
                raise located(
                    self.source,
                    ref.pos,
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{segment}' in field path. {_CUSTOM_RELATIONSHIP_HINT}",
                )
            id_field, target = current.relationships[relationship]
            steps.append((relationship, id_field, target))
            current = self.dataset.types[target]
        name = current.field(ref.path[-1])
        if name is None:
            raise located(
                self.source,
                ref.pos,
                "INVALID_FIELD",
                f"No such column '{ref.path[-1]}' on entity '{current.name}'. {_CUSTOM_FIELD_HINT}",
            )
        key = (*(step[0].lower() for step in steps), name.lower())
        return _Path(tuple(steps), name, current.fields[name], key)

    def getter(self, path: _Path) -> Callable[[dict[str, Any]], Any]:
        def get(record: dict[str, Any]) -> Any:
            current: dict[str, Any] | None = record
            for _relationship, id_field, target in path.steps:
                current = self.dataset.get(target, current[id_field]) if current is not None else None
            return current[path.field] if current is not None else None

        return get

    # --- conditions -----------------------------------------------------------------------------------
    def compile(self, cond: Condition) -> Callable[[dict[str, Any]], bool]:
        if isinstance(cond, Junction):
            parts = [self.compile(part) for part in cond.parts]
            if cond.op == "AND":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        if isinstance(cond, Negation):
            inner = self.compile(cond.part)
            return lambda r: not inner(r)
        path = self.resolve(cond.field)
        get = self.getter(path)
        if isinstance(cond, Like):
            if path.kind not in STRING_KINDS or cond.pattern.kind != "string":
                raise self.filter_error(cond.pattern, path, f"invalid operator on {path.kind} field")
            regex = re.compile(f"{cond.pattern.like}\\Z", re.IGNORECASE | re.DOTALL)
            return lambda r: (v := get(r)) is not None and regex.match(str(v)) is not None
        if isinstance(cond, InList):
            wanted = {self.normal(path, self.checked(path, lit, in_list=True)) for lit in cond.values}
            if cond.negated:
                return lambda r: self.normal(path, get(r)) not in wanted
            return lambda r: self.normal(path, get(r)) in wanted
        return self.comparison(path, get, cond)

    def comparison(
        self, path: _Path, get: Callable[[dict[str, Any]], Any], cond: Comparison
    ) -> Callable[[dict[str, Any]], bool]:
        op = cond.op
        if cond.value.kind == "relative":
            if path.kind not in ("date", "datetime"):
                raise self.filter_error(cond.value, path, self.type_reason(path))
            name, count = cond.value.value
            first, last = relative_range(name, count, self.today)
            tests: dict[str, Callable[[date], bool]] = {
                "=": lambda d: first <= d <= last,
                "!=": lambda d: not first <= d <= last,
                "<": lambda d: d < first,
                "<=": lambda d: d <= last,
                ">": lambda d: d > last,
                ">=": lambda d: d >= first,
            }
            test = tests[op]

            def relative(r: dict[str, Any]) -> bool:
                value = get(r)
                if value is None:
                    return op == "!="
                return test(value.astimezone(UTC).date() if isinstance(value, datetime) else value)

            return relative
        literal = self.checked(path, cond.value, in_list=False)
        if literal is None:
            if op not in ("=", "!="):
                raise self.filter_error(cond.value, path, f"invalid operator {op} with null")
            return (lambda r: get(r) is None) if op == "=" else (lambda r: get(r) is not None)
        if path.kind == "boolean" and op not in ("=", "!="):
            raise self.filter_error(cond.value, path, "invalid operator on boolean field")
        wanted = self.normal(path, literal)
        compare: dict[str, Callable[[Any], bool]] = {
            "=": lambda v: v == wanted,
            "!=": lambda v: v != wanted,
            "<": lambda v: v < wanted,
            "<=": lambda v: v <= wanted,
            ">": lambda v: v > wanted,
            ">=": lambda v: v >= wanted,
        }
        check = compare[op]

        def test_value(r: dict[str, Any]) -> bool:
            value = get(r)
            if value is None:
                return op == "!="
            return check(self.normal(path, value))

        return test_value

    def checked(self, path: _Path, literal: Literal, *, in_list: bool) -> Any:
        """The literal's value if its type suits the field, else the error Salesforce gives."""
        kind = literal.kind
        if kind == "null":
            return None
        fits = {
            "string": path.kind in STRING_KINDS,
            "number": path.kind in NUMBER_KINDS,
            "boolean": path.kind == "boolean",
            "date": path.kind == "date",
            "datetime": path.kind == "datetime",
            "relative": False,
        }[kind]
        if not fits:
            raise self.filter_error(literal, path, self.type_reason(path))
        return literal.value

    @staticmethod
    def type_reason(path: _Path) -> str:
        if path.kind in STRING_KINDS:
            return (
                f"value of filter criterion for field '{path.field}' must be of type string and should be "
                "enclosed in quotes"
            )
        wanted = {"date": "date", "datetime": "dateTime", "boolean": "boolean"}.get(path.kind, "double")
        return (
            f"value of filter criterion for field '{path.field}' must be of type {wanted} and should not "
            "be enclosed in quotes"
        )

    def filter_error(self, literal: Literal, path: _Path, reason: str) -> SoqlError:
        return located(self.source, literal.pos, "INVALID_QUERY_FILTER_OPERATOR", reason)

    @staticmethod
    def normal(path: _Path, value: Any) -> Any:
        if value is None:
            return None
        if path.kind in STRING_KINDS:
            return str(value).casefold()
        if path.kind in NUMBER_KINDS:
            return float(value)
        return value

    # --- running --------------------------------------------------------------------------------------
    def run(self) -> QueryResult:
        query = self.query
        rows = self.dataset.records[self.root.name]
        if query.where is not None:
            keep = self.compile(query.where)
            rows = [r for r in rows if keep(r)]
        else:
            rows = list(rows)
        if query.count_only:
            if query.group_by:
                raise located(
                    self.source,
                    query.group_by[0].pos,
                    "MALFORMED_QUERY",
                    "COUNT() cannot be used with GROUP BY in the okrhub sandbox",
                )
            total = len(rows[query.offset or 0 :])
            return QueryResult([], min(total, query.limit) if query.limit is not None else total, True)
        aggregate = bool(query.group_by) or any(isinstance(i.expr, AggregateCall) for i in query.items)
        return self.aggregated(rows) if aggregate else self.plain(rows)

    def window(self, rows: list[Any]) -> list[Any]:
        start = self.query.offset or 0
        end = None if self.query.limit is None else start + self.query.limit
        return rows[start:end]

    def plain(self, rows: list[dict[str, Any]]) -> QueryResult:
        paths = []
        for item in self.query.items:
            if item.alias is not None:
                raise located(
                    self.source, item.expr.pos, "MALFORMED_QUERY", f"unexpected token: {item.alias}"
                )
            assert isinstance(item.expr, FieldRef)
            paths.append(self.resolve(item.expr))
        order = []
        for term in self.query.order_by:
            if isinstance(term.expr, AggregateCall):
                raise located(
                    self.source,
                    term.expr.pos,
                    "MALFORMED_QUERY",
                    "Ordered field must be grouped or aggregated",
                )
            path = self.resolve(term.expr)
            order.append((self.sort_key(path, self.getter(path)), term))
        rows = self.window(_sorted(rows, order))
        return QueryResult([self.render(r, paths) for r in rows], len(rows), False)

    def sort_key(self, path: _Path, get: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return lambda r: self.normal(path, get(r))

    def render(self, record: dict[str, Any], paths: Sequence[_Path]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": self.attributes(self.root.name, record)}
        for path in paths:
            target: dict[str, Any] = out
            current: dict[str, Any] | None = record
            for relationship, id_field, sobject in path.steps:
                related = self.dataset.get(sobject, current[id_field]) if current is not None else None
                if related is None:
                    target.setdefault(relationship, None)
                    current = None
                    break
                nested = target.get(relationship)
                if nested is None:
                    nested = target[relationship] = {"attributes": self.attributes(sobject, related)}
                target, current = nested, related
            if current is not None:
                target[path.field] = to_json(current[path.field])
        return out

    def attributes(self, sobject: str, record: dict[str, Any]) -> dict[str, str]:
        return {"type": sobject, "url": f"/services/data/v{self.version}/sobjects/{sobject}/{record['Id']}"}

    def aggregated(self, rows: list[dict[str, Any]]) -> QueryResult:
        query = self.query
        group_paths = [self.resolve(ref) for ref in query.group_by]
        for ref, path in zip(query.group_by, group_paths, strict=True):
            if path.kind in UNGROUPABLE_KINDS:
                raise located(
                    self.source,
                    ref.pos,
                    "MALFORMED_QUERY",
                    f"field '{path.field}' can not be grouped in a query call",
                )
        grouped_keys = [p.key for p in group_paths]
        columns: list[tuple[str, Callable[[list[dict[str, Any]]], Any]]] = []
        names: set[str] = set()
        expr_index = 0
        for item in query.items:
            if isinstance(item.expr, AggregateCall):
                name = item.alias or f"expr{expr_index}"
                expr_index += 0 if item.alias else 1
                compute = self.aggregate_fn(item.expr)
            else:
                path = self.resolve(item.expr)
                if path.key not in grouped_keys:
                    raise located(
                        self.source,
                        item.expr.pos,
                        "MALFORMED_QUERY",
                        f"Field must be grouped or aggregated: {path.field}",
                    )
                name = item.alias or path.field
                compute = _first(self.getter(path))
            if name.lower() in names:
                raise located(self.source, item.expr.pos, "MALFORMED_QUERY", f"duplicate alias: {name}")
            names.add(name.lower())
            columns.append((name, compute))
        getters = [self.getter(p) for p in group_paths]
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(tuple(g(row) for g in getters), []).append(row)
        if not query.group_by:
            groups = {(): rows}
        ordered = sorted(groups.items(), key=lambda kv: tuple(_null_first(v) for v in kv[0]))
        out_rows = []
        for _key, members in ordered:
            out = {"attributes": {"type": "AggregateResult"}}
            out.update({name: to_json(compute(members)) for name, compute in columns})
            out_rows.append((out, members))
        order = [(self.aggregate_sort_key(term, columns), term) for term in query.order_by]
        result = [out for out, _members in self.window(_sorted(out_rows, order))]
        return QueryResult(result, len(result), True)

    def aggregate_sort_key(
        self, term: OrderItem, columns: Sequence[tuple[str, Callable[..., Any]]]
    ) -> Callable[[Any], Any]:
        expr = term.expr
        if isinstance(expr, AggregateCall):
            compute = self.aggregate_fn(expr)
            return lambda pair: _sortable(compute(pair[1]))
        if len(expr.path) == 1:
            for name, _compute in columns:
                if name.lower() == expr.path[0].lower():
                    return _column(name)
        path = self.resolve(expr)
        if path.key not in [self.resolve(ref).key for ref in self.query.group_by]:
            raise located(
                self.source,
                expr.pos,
                "MALFORMED_QUERY",
                f"Ordered field must be grouped or aggregated: {'.'.join(expr.path)}",
            )
        get = self.getter(path)
        return lambda pair: _sortable(get(pair[1][0]) if pair[1] else None)

    def aggregate_fn(self, call: AggregateCall) -> Callable[[list[dict[str, Any]]], Any]:
        assert call.field is not None
        path = self.resolve(call.field)
        get = self.getter(path)
        func = call.func
        if func in ("SUM", "AVG") and path.kind not in NUMBER_KINDS:
            raise located(
                self.source,
                call.field.pos,
                "MALFORMED_QUERY",
                f"field {path.field} does not support aggregate operator {func}",
            )
        if func in ("MIN", "MAX") and path.kind == "boolean":
            raise located(
                self.source,
                call.field.pos,
                "MALFORMED_QUERY",
                f"field {path.field} does not support aggregate operator {func}",
            )

        def compute(rows: list[dict[str, Any]]) -> Any:
            values = [v for v in (get(r) for r in rows) if v is not None]
            if func == "COUNT":
                return len(values)
            if func == "COUNT_DISTINCT":
                return len({self.normal(path, v) for v in values})
            if not values:
                return None
            if func == "SUM":
                total = sum(values)
                return total if path.kind == "int" else float(total)
            if func == "AVG":
                return float(sum(values)) / len(values)
            if path.kind in STRING_KINDS:
                pick = min if func == "MIN" else max
                return pick(values, key=lambda v: str(v).casefold())
            return min(values) if func == "MIN" else max(values)

        return compute


def _column(name: str) -> Callable[[Any], Any]:
    return lambda pair: _sortable(pair[0][name])


def _first(get: Callable[[dict[str, Any]], Any]) -> Callable[[list[dict[str, Any]]], Any]:
    return lambda rows: get(rows[0]) if rows else None


def _null_first(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, _sortable(value))


def _sortable(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _sorted(rows: list[Any], order: Sequence[tuple[Callable[[Any], Any], OrderItem]]) -> list[Any]:
    """Rows sorted by the ORDER BY terms: one stable sort per term, least significant first."""
    for key, term in reversed(order):
        present = [r for r in rows if key(r) is not None]
        missing = [r for r in rows if key(r) is None]
        present.sort(key=key, reverse=term.descending)
        rows = present + missing if term.nulls_last else missing + present
    return rows


def execute(source: str, dataset: Dataset, *, today: date, version: str) -> QueryResult:
    """Run one SOQL query over `dataset`.

    Args:
        source: the SOQL text.
        dataset: the records and their schema.
        today: the day relative date literals (`THIS_QUARTER`, `LAST_N_DAYS:n`) count from.
        version: the API version for record `attributes.url`.

    Raises:
        SoqlError: the query is malformed or names an object or field that does not exist.
    """
    query = parse(source)
    return _Engine(source, query, dataset, today, version).run()
