r"""A subset of JQL for the Jira emulator: a tokenizer, a parser and a compiler to a predicate.

Enough of Jira's query language for key-result queries, with Jira's own error wording:

- clauses `field OP value` with `=`, `!=`, `>`, `>=`, `<`, `<=`, `~`, `!~`, `IN (...)`,
  `NOT IN (...)`, `IS [NOT] EMPTY` (`NULL` too; `= EMPTY` works like `IS EMPTY`);
- `AND`, `OR`, `NOT` and parentheses; `ORDER BY field [ASC|DESC], ...`;
- strings in double or single quotes with Jira's escapes (`\"`, `\'`, `\\`, `\n`, `\t`,
  `\r`, `\ ` and `\uXXXX`); any other escape is refused as Jira refuses it;
- dates as `"2026-10-01"`, `"2026/10/01 14:30"`, relative periods (`-30d`, `"4w 2d"`) and the
  functions `now()`, `startOfDay()`, `startOfWeek()`, `startOfMonth()`, `startOfYear()` and
  their `endOf...` twins, each with an optional offset (`startOfMonth(-1)`);
- `currentUser()` for user fields.

What a field means is not known here: the emulator describes its fields with `JqlField`
(`value`, `multi`, `date`, `number` or `text`) and `compile_jql` checks the query against them.
As in Jira, `!=` and `NOT IN` never match an empty field, and a multi-valued field (labels)
`=` a value when any of its values is that value.

Example:
    ```python
    fields = {"project": JqlField("project", "value", lambda issue: issue.project)}
    query = compile_jql('project = ENG ORDER BY created DESC', fields, JqlContext(now=now))
    matching = query.apply(issues)
    ```
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

FieldKind = Literal["value", "multi", "date", "number", "text"]
Predicate = Callable[[Any], bool]
T = TypeVar("T")

OPERATORS = ("=", "!=", "<", ">", "<=", ">=", "~", "!~", "IN", "NOT IN", "IS", "IS NOT")
_VALID_OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "empty", "null", "order", "by"})
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r", " ": " "}
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_PERIOD = re.compile(r"^\s*([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$")
_PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])")
_UNIT = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_DATE_HELP = (
    "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
    "or a period format e.g. '-5d', '4w 2d'."
)
_WORD_STOP = frozenset(" \t\r\n\"'(),=!<>~")
_TEXT_WORD = re.compile(r"[\w'*]+", re.UNICODE)


class JqlError(Exception):
    """The query is not valid JQL, or names fields or values that do not exist.

    `messages` are Jira's `errorMessages`, one per problem found.
    """

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


# --- tokens ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token: `kind` is string, word, op, lparen, rparen, comma or eof."""

    kind: str
    text: str
    position: int
    """1-based character position, as Jira reports it."""

    def shown(self) -> str:
        """How an error message quotes this token."""
        return "EOF" if self.kind == "eof" else f"'{self.text}'"


def _syntax(message: str, position: int) -> JqlError:
    return JqlError([f"Error in the JQL Query: {message} (line 1, character {position})"])


def tokenize(text: str) -> list[Token]:
    """Split a JQL string into tokens; quoted strings come out unescaped."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "\"'":
            start = i
            value, i = _read_string(text, i)
            tokens.append(Token("string", value, start + 1))
        elif char in "(),":
            kind = {"(": "lparen", ")": "rparen", ",": "comma"}[char]
            tokens.append(Token(kind, char, i + 1))
            i += 1
        elif char in "=!<>~":
            two = text[i : i + 2]
            op = two if two in ("!=", "!~", ">=", "<=") else char
            if op == "!":
                raise _syntax("Expecting operator but got '!'. " + _VALID_OPERATORS, i + 1)
            tokens.append(Token("op", op, i + 1))
            i += len(op)
        else:
            start = i
            while i < n and text[i] not in _WORD_STOP:
                i += 1
            tokens.append(Token("word", text[start:i], start + 1))
    tokens.append(Token("eof", "", n + 1))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return "".join(out), i + 1
        if char == "\\":
            escape = text[i + 1 : i + 2]
            if escape in _ESCAPES:
                out.append(_ESCAPES[escape])
                i += 2
                continue
            if escape == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            raise _syntax(
                f"'\\{escape}' is an illegal JQL escape sequence. The valid escape sequences are \\', \\\", "
                "\\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX.",
                i + 1,
            )
        out.append(char)
        i += 1
    raise _syntax(f"The quoted string '{''.join(out)}' has not been completed.", start + 1)


# --- syntax tree -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ValueLiteral:
    """A value as written: `quoted` strings are never keywords or functions."""

    text: str
    quoted: bool


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """`name(arg, ...)`."""

    name: str
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EmptyValue:
    """`EMPTY` or `NULL`."""


Operand = ValueLiteral | FunctionCall | EmptyValue | tuple["ValueLiteral | FunctionCall", ...]


@dataclass(frozen=True, slots=True)
class Clause:
    """`field operator operand`."""

    field: str
    operator: str
    operand: Operand


@dataclass(frozen=True, slots=True)
class BoolNode:
    """`AND` or `OR` of two or more parts."""

    op: Literal["and", "or"]
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class NotNode:
    """`NOT part`."""

    part: Node


Node = Clause | BoolNode | NotNode


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A parsed query: the restriction (None when there is none) and the sort order."""

    where: Node | None
    order_by: tuple[tuple[str, bool], ...] = ()
    """(field, ascending) pairs, first key first."""


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.token
        return token.kind == "word" and token.text.lower() in words

    def parse(self) -> ParsedQuery:
        where = None
        if self.token.kind != "eof" and not self.keyword("order"):
            where = self.parse_or()
        order = self.parse_order() if self.keyword("order") else ()
        if self.token.kind != "eof":
            raise _syntax(
                f"Expecting either 'OR' or 'AND' but got {self.token.shown()}.", self.token.position
            )
        return ParsedQuery(where, order)

    def parse_or(self) -> Node:
        parts = [self.parse_and()]
        while self.keyword("or"):
            self.next()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else BoolNode("or", tuple(parts))

    def parse_and(self) -> Node:
        parts = [self.parse_not()]
        while self.keyword("and"):
            self.next()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else BoolNode("and", tuple(parts))

    def parse_not(self) -> Node:
        if self.keyword("not"):
            self.next()
            return NotNode(self.parse_not())
        if self.token.kind == "lparen":
            self.next()
            inner = self.parse_or()
            self.expect_rparen()
            return inner
        return self.parse_clause()

    def expect_rparen(self) -> None:
        if self.token.kind != "rparen":
            raise _syntax(f"Expecting ')' but got {self.token.shown()}.", self.token.position)
        self.next()

    def parse_clause(self) -> Clause:
        token = self.token
        if token.kind not in ("word", "string") or (token.kind == "word" and token.text.lower() in _KEYWORDS):
            raise _syntax(f"Expecting a field name but got {token.shown()}.", token.position)
        self.next()
        operator = self.parse_operator()
        if operator in ("IS", "IS NOT"):
            if not self.keyword("empty", "null"):
                raise _syntax(f"Expecting 'EMPTY' but got {self.token.shown()}.", self.token.position)
            self.next()
            return Clause(token.text, operator, EmptyValue())
        if operator in ("IN", "NOT IN"):
            if self.token.kind != "lparen":
                operand = self.parse_single()
                if not isinstance(operand, FunctionCall):
                    raise _syntax(f"Expecting '(' but got {self.token.shown()}.", self.token.position)
                return Clause(token.text, operator, operand)
            return Clause(token.text, operator, self.parse_list())
        if self.token.kind == "lparen":
            raise _syntax(
                f"The operator '{operator}' does not support the list operand.", self.token.position
            )
        return Clause(token.text, operator, self.parse_single())

    def parse_operator(self) -> str:
        token = self.token
        if token.kind == "op":
            self.next()
            return token.text
        if self.keyword("in"):
            self.next()
            return "IN"
        if self.keyword("is"):
            self.next()
            if self.keyword("not"):
                self.next()
                return "IS NOT"
            return "IS"
        if self.keyword("not"):
            self.next()
            if self.keyword("in"):
                self.next()
                return "NOT IN"
        raise _syntax(f"Expecting operator but got {token.shown()}. {_VALID_OPERATORS}", token.position)

    def parse_list(self) -> tuple[ValueLiteral | FunctionCall, ...]:
        self.next()  # (
        items: list[ValueLiteral | FunctionCall] = []
        while True:
            item = self.parse_single()
            if isinstance(item, EmptyValue):
                raise _syntax(
                    "EMPTY is not allowed in a list of values.", self.tokens[self.index - 1].position
                )
            items.append(item)
            if self.token.kind == "comma":
                self.next()
                continue
            self.expect_rparen()
            return tuple(items)

    def parse_single(self) -> ValueLiteral | FunctionCall | EmptyValue:
        token = self.token
        if token.kind == "string":
            self.next()
            return ValueLiteral(token.text, quoted=True)
        if token.kind != "word" or token.text.lower() in _KEYWORDS - {"empty", "null"}:
            raise _syntax(
                f"Expecting either a value, list or function but got {token.shown()}. You must surround "
                f"{token.shown()} in quotation marks to use it as a value."
                if token.kind == "word"
                else f"Expecting either a value, list or function but got {token.shown()}.",
                token.position,
            )
        self.next()
        if token.text.lower() in ("empty", "null"):
            return EmptyValue()
        if self.token.kind == "lparen":
            return FunctionCall(token.text, self.parse_args())
        return ValueLiteral(token.text, quoted=False)

    def parse_args(self) -> tuple[str, ...]:
        self.next()  # (
        args: list[str] = []
        while self.token.kind != "rparen":
            if self.token.kind not in ("word", "string"):
                raise _syntax(
                    f"Expecting a function argument but got {self.token.shown()}.", self.token.position
                )
            args.append(self.next().text)
            if self.token.kind == "comma":
                self.next()
            elif self.token.kind != "rparen":
                raise _syntax(f"Expecting ')' but got {self.token.shown()}.", self.token.position)
        self.next()
        return tuple(args)

    def parse_order(self) -> tuple[tuple[str, bool], ...]:
        self.next()  # ORDER
        if not self.keyword("by"):
            raise _syntax(f"Expecting 'by' but got {self.token.shown()}.", self.token.position)
        self.next()
        keys: list[tuple[str, bool]] = []
        while True:
            token = self.token
            if token.kind not in ("word", "string"):
                raise _syntax(f"Expecting a field name but got {token.shown()}.", token.position)
            self.next()
            ascending = True
            if self.keyword("asc", "desc"):
                ascending = self.next().text.lower() == "asc"
            keys.append((token.text, ascending))
            if self.token.kind != "comma":
                return tuple(keys)
            self.next()


def parse_jql(text: str) -> ParsedQuery:
    """Parse JQL into a tree; `JqlError` with Jira's message when it is not valid JQL."""
    return _Parser(tokenize(text)).parse()


# --- meaning ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class JqlField:
    """How the emulator's records answer one JQL field.

    `get` reads the record: a text (or None) for `value`, a sequence of texts for `multi`, an
    aware datetime (or None) for `date`, a float (or None) for `number`, a text for `text`.
    `resolve` turns a literal into the stored value (`value`/`multi`), None when the value does
    not exist (Jira's "The value 'X' does not exist for the field 'f'"). `empty_aliases` are
    literals meaning EMPTY (`resolution = Unresolved`). `user` fields take `currentUser()`.
    """

    name: str
    kind: FieldKind
    get: Callable[[Any], Any]
    resolve: Callable[[str], str | None] | None = None
    empty_aliases: frozenset[str] = frozenset()
    user: bool = False
    sortable: bool = True


@dataclass(frozen=True, slots=True)
class JqlContext:
    """What functions need: the time `now()` means and who `currentUser()` is."""

    now: datetime
    current_user: str | None = None


@dataclass(frozen=True)
class CompiledJql:
    """A query ready to run: `matches(record)`, the sort, and whether it is bounded."""

    matches: Predicate
    order_by: tuple[tuple[JqlField, bool], ...]
    bounded: bool
    text: str = ""
    sort_default: Callable[[Any], Any] | None = field(default=None, compare=False)

    def apply(self, records: Iterable[T]) -> list[T]:
        """The matching records, sorted by ORDER BY (then by the default sort)."""
        found = [record for record in records if self.matches(record)]
        if self.sort_default is not None:
            found.sort(key=self.sort_default)
        for spec, ascending in reversed(self.order_by):
            found.sort(key=_sort_key(spec, ascending), reverse=not ascending)
        return found


def _sort_key(spec: JqlField, ascending: bool) -> Callable[[Any], tuple[int, Any]]:
    # Empty values sort last ascending (and so first descending, as in Jira).
    def key(record: Any) -> tuple[int, Any]:
        value = spec.get(record)
        if spec.kind == "value" and isinstance(value, str):
            value = value.lower()
        return (1, 0) if value is None else (0, value)

    return key


def compile_jql(
    text: str,
    fields: Mapping[str, JqlField],
    context: JqlContext,
    *,
    sort_default: Callable[[Any], Any] | None = None,
) -> CompiledJql:
    """Parse and check a query against `fields` (keys are lower-case clause names).

    Raises:
        JqlError: with every problem found, worded as Jira words them.
    """
    parsed = parse_jql(text)
    compiler = _Compiler(fields, context)
    matches = compiler.node(parsed.where) if parsed.where is not None else (lambda _record: True)
    order: list[tuple[JqlField, bool]] = []
    for name, ascending in parsed.order_by:
        spec = fields.get(name.lower())
        if spec is None:
            compiler.errors.append(_no_field(name))
        elif not spec.sortable:
            compiler.errors.append(f"Not able to sort using field '{name}'.")
        else:
            order.append((spec, ascending))
    if compiler.errors:
        raise JqlError(list(dict.fromkeys(compiler.errors)))
    return CompiledJql(matches, tuple(order), parsed.where is not None, text, sort_default)


def _no_field(name: str) -> str:
    return f"Field '{name}' does not exist or you do not have permission to view it."


def _never(_record: Any) -> bool:
    return False


class _Compiler:
    def __init__(self, fields: Mapping[str, JqlField], context: JqlContext) -> None:
        self.fields = fields
        self.context = context
        self.errors: list[str] = []

    def node(self, node: Node) -> Predicate:
        if isinstance(node, BoolNode):
            parts = [self.node(part) for part in node.parts]
            if node.op == "and":
                return lambda record: all(part(record) for part in parts)
            return lambda record: any(part(record) for part in parts)
        if isinstance(node, NotNode):
            inner = self.node(node.part)
            return lambda record: not inner(record)
        return self.clause(node)

    def clause(self, clause: Clause) -> Predicate:
        spec = self.fields.get(clause.field.lower())
        if spec is None:
            self.errors.append(_no_field(clause.field))
            return _never
        op = clause.operator
        allowed = _OPERATORS_BY_KIND[spec.kind]
        if op not in allowed:
            self.errors.append(f"The operator '{op}' is not supported by the '{clause.field}' field.")
            return _never
        operand = clause.operand
        if isinstance(operand, EmptyValue) or (
            isinstance(operand, ValueLiteral)
            and not operand.quoted
            and operand.text.lower() in spec.empty_aliases
        ):
            if op in ("=", "IS"):
                return lambda record: _is_empty(spec, record)
            if op in ("!=", "IS NOT"):
                return lambda record: not _is_empty(spec, record)
            self.errors.append(f"The operator '{op}' does not support EMPTY for the field '{clause.field}'.")
            return _never
        items = operand if isinstance(operand, tuple) else (operand,)
        values = [self.value(spec, clause.field, item) for item in items]
        if any(value is _INVALID for value in values):
            return _never
        return _predicate(spec, op, values)

    def value(self, spec: JqlField, name: str, item: ValueLiteral | FunctionCall) -> Any:
        if isinstance(item, FunctionCall):
            return self.function(spec, name, item)
        text = item.text
        if spec.kind == "date":
            when = parse_date(text, self.context.now)
            if when is None:
                self.errors.append(f"Date value '{text}' for field '{name}' is invalid. {_DATE_HELP}")
                return _INVALID
            return when
        if spec.kind == "number":
            try:
                return float(text)
            except ValueError:
                self.errors.append(f"The value '{text}' is not a valid number for the field '{name}'.")
                return _INVALID
        if spec.kind == "text" or spec.resolve is None:
            return text
        resolved = spec.resolve(text)
        if resolved is None:
            self.errors.append(f"The value '{text}' does not exist for the field '{name}'.")
            return _INVALID
        return resolved

    def function(self, spec: JqlField, name: str, call: FunctionCall) -> Any:
        lowered = call.name.lower()
        if lowered == "currentuser":
            if not spec.user:
                self.errors.append(f"The function 'currentUser' is not supported by the '{name}' field.")
                return _INVALID
            return self.context.current_user
        if lowered in _DATE_FUNCTIONS:
            if spec.kind != "date":
                self.errors.append(f"The function '{call.name}' is not supported by the '{name}' field.")
                return _INVALID
            offset = call.args[0] if call.args else ""
            when = _date_function(lowered, offset, self.context.now)
            if when is None:
                self.errors.append(f"Unable to parse the offset '{offset}' of the function '{call.name}'.")
                return _INVALID
            return when
        self.errors.append(f"Unable to find JQL function '{call.name}({', '.join(call.args)})'.")
        return _INVALID


_INVALID = object()
_EQUALITY = frozenset({"=", "!=", "IN", "NOT IN", "IS", "IS NOT"})
_OPERATORS_BY_KIND: dict[str, frozenset[str]] = {
    "value": _EQUALITY,
    "multi": _EQUALITY,
    "date": _EQUALITY | {"<", ">", "<=", ">="},
    "number": _EQUALITY | {"<", ">", "<=", ">="},
    "text": frozenset({"~", "!~", "IS", "IS NOT"}),
}


def _is_empty(spec: JqlField, record: Any) -> bool:
    value = spec.get(record)
    return value is None or value == "" or (spec.kind == "multi" and not value)


def _predicate(spec: JqlField, op: str, values: list[Any]) -> Predicate:
    get = spec.get
    if spec.kind == "text":
        terms = [_text_matcher(str(value)) for value in values]
        if op == "~":
            return lambda record: all(term(get(record) or "") for term in terms)
        return lambda record: not all(term(get(record) or "") for term in terms)
    if spec.kind == "multi":
        wanted = {str(value).lower() for value in values if value is not None}

        def any_of(record: Any) -> bool:
            return any(str(item).lower() in wanted for item in get(record) or ())

        if op in ("=", "IN"):
            return any_of
        return lambda record: bool(get(record)) and not any_of(record)
    if spec.kind == "value":
        # None (currentUser() with nobody signed in) matches nothing, as in Jira.
        texts = {str(value).lower() for value in values if value is not None}

        def one_of(record: Any) -> bool:
            value = get(record)
            return value is not None and str(value).lower() in texts

        if op in ("=", "IN"):
            return one_of
        return lambda record: get(record) is not None and not one_of(record)
    compare = _COMPARE.get(op)
    if compare is not None:
        bound = values[0]
        return lambda record: (value := get(record)) is not None and compare(value, bound)
    members = set(values)
    if op in ("=", "IN"):
        return lambda record: get(record) in members
    return lambda record: (value := get(record)) is not None and value not in members


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _text_matcher(query: str) -> Callable[[str], bool]:
    # Jira's `~` is a word search: every word must occur (`log*` matches a prefix); a query that
    # is itself quoted ("\"exact phrase\"") must occur as a phrase. Case does not matter.
    stripped = query.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        phrase = stripped[1:-1].lower()
        return lambda text: phrase in text.lower()
    words = [word.lower() for word in _TEXT_WORD.findall(query)]

    def match(text: str) -> bool:
        have = [word.lower() for word in _TEXT_WORD.findall(text)]
        for word in words:
            if word.endswith("*"):
                if not any(candidate.startswith(word[:-1]) for candidate in have):
                    return False
            elif word not in have:
                return False
        return True

    return match


# --- dates -------------------------------------------------------------------------------------------
def parse_date(text: str, now: datetime) -> datetime | None:
    """A JQL date literal as an aware UTC datetime: absolute formats or a period from `now`."""
    stripped = text.strip()
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(stripped, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    period = _PERIOD.match(stripped)
    if period is None:
        return None
    delta = sum((int(n) * _UNIT[unit] for n, unit in _PERIOD_PART.findall(period.group(2))), timedelta())
    return now - delta if period.group(1) == "-" else now + delta


_DATE_FUNCTIONS = frozenset(
    {
        "now",
        "startofday",
        "endofday",
        "startofweek",
        "endofweek",
        "startofmonth",
        "endofmonth",
        "startofyear",
        "endofyear",
    }
)
_OFFSET = re.compile(r"^([-+]?\d+)([dwMyhm]?)$")


def _date_function(name: str, offset: str, now: datetime) -> datetime | None:
    if name == "now":
        return now
    period = name.removeprefix("startof").removeprefix("endof")
    default_unit = {"day": "d", "week": "w", "month": "M", "year": "y"}[period]
    amount, unit = 0, default_unit
    if offset.strip():
        match = _OFFSET.match(offset.strip())
        if match is None:
            return None
        amount, unit = int(match.group(1)), match.group(2) or default_unit
    base = _shift(now, amount, unit)
    start = _start_of(period, base)
    if name.startswith("startof"):
        return start
    return _shift(start, 1, default_unit) - timedelta(milliseconds=1)


def _shift(when: datetime, amount: int, unit: str) -> datetime:
    if unit in ("M", "y"):
        months = amount * (12 if unit == "y" else 1)
        index = when.year * 12 + when.month - 1 + months
        year, month = divmod(index, 12)
        day = min(when.day, calendar.monthrange(year, month + 1)[1])
        return when.replace(year=year, month=month + 1, day=day)
    return when + amount * _UNIT[unit]


def _start_of(period: str, when: datetime) -> datetime:
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        # Weeks start on Sunday, as in Jira's default (en_US) locale.
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def quote(value: str) -> str:
    """`value` as a double-quoted JQL string, with quotes and backslashes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
