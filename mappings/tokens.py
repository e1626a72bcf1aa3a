"""A small tokenizer for SOQL and JQL templates: enough to know where every placeholder stands.

It knows quoted strings (with backslash escapes), `{placeholders}`, words, operators and
parentheses, and the parenthesis depth of every token. That is what the safety rules need: a
placeholder must stand on its own where a literal goes, never inside a quoted string, and a
fan-out predicate must be ANDed with the rest of its clause. It is not a parser of either
language; the vendor still validates the query.

Example:
    ```python
    tokens = tokenize("Amount > 0 AND OwnerId = {owner.salesforce_id}", quotes="'")
    [t.text for t in tokens if t.kind != "space"]  # ['Amount', '>', '0', 'AND', 'OwnerId', '=', '{...}']
    ```
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mappings.errors import TemplateError

TokenKind = Literal["space", "string", "placeholder", "word", "punct"]
"""What a token is; `word` covers keywords, field names, numbers and date literals alike."""

_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}")
_PUNCT = ("!=", "<>", "<=", ">=", "!~", "=", "<", ">", "~", "!", "(", ")", ",", "[", "]")
_WORD_STOP = frozenset(" \t\r\n\f\v'\"(),=!<>~{}[]")


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its exact text, its offset in the template and its parenthesis depth.

    `(` and `)` carry the depth outside the parentheses they open and close.
    """

    kind: TokenKind
    text: str
    start: int
    depth: int

    @property
    def name(self) -> str:
        """The parameter a placeholder names (`owner.email` for `{owner.email}`)."""
        match = _PLACEHOLDER.fullmatch(self.text)
        return match.group(1) if match else ""

    def is_word(self, *words: str) -> bool:
        """True if this is a word equal (ignoring case) to one of `words`."""
        return self.kind == "word" and self.text.upper() in words


def tokenize(text: str, *, quotes: str) -> list[Token]:
    """The tokens of `text`, whose string literals are delimited by any character of `quotes`.

    Raises:
        TemplateError: An unterminated string, a placeholder inside a string, a stray brace or
            unbalanced parentheses.
    """
    tokens: list[Token] = []
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            end = index
            while end < len(text) and text[end].isspace():
                end += 1
            tokens.append(Token("space", text[index:end], index, depth))
        elif char in quotes:
            end = _string_end(text, index)
            tokens.append(Token("string", text[index:end], index, depth))
        elif char == "{":
            match = _PLACEHOLDER.match(text, index)
            if not match:
                raise TemplateError(
                    f"`{{` {_near(text, index)} does not start a parameter; parameters look like "
                    "{window.start} or {owner.email}",
                    offset=index,
                )
            end = match.end()
            tokens.append(Token("placeholder", match.group(0), index, depth))
        elif char == "}":
            raise TemplateError(f"stray `}}` {_near(text, index)}", offset=index)
        elif punct := next((p for p in _PUNCT if text.startswith(p, index)), None):
            end = index + len(punct)
            if punct == ")":
                depth -= 1
                if depth < 0:
                    raise TemplateError(f"`)` {_near(text, index)} closes nothing", offset=index)
            tokens.append(Token("punct", punct, index, depth))
            if punct == "(":
                depth += 1
        elif char in "'\"":  # a quote character this language does not quote with
            end = index + 1
            tokens.append(Token("punct", char, index, depth))
        else:
            end = index
            while end < len(text) and text[end] not in _WORD_STOP and not text[end].isspace():
                end += 1
            tokens.append(Token("word", text[index:end], index, depth))
        index = end
    if depth:
        raise TemplateError("unbalanced parentheses: a `(` is never closed", offset=len(text))
    return tokens


def _string_end(text: str, start: int) -> int:
    quote = text[start]
    index = start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            literal = text[start : index + 1]
            inner = _PLACEHOLDER.search(literal)
            if inner:
                raise TemplateError(
                    f"placeholder `{inner.group(0)}` is inside the quoted string {literal}; write it "
                    "without quotes: its value is quoted and escaped for you",
                    offset=start + inner.start(),
                )
            return index + 1
        index += 1
    raise TemplateError(f"the string {_near(text, start)} is never closed", offset=start)


def _near(text: str, offset: int) -> str:
    snippet = " ".join(text[max(0, offset - 15) : offset + 25].split())
    return f"near `{snippet}`"


def previous(tokens: Sequence[Token], index: int) -> int | None:
    """Index of the last non-space token before `index`, or None."""
    index -= 1
    while index >= 0 and tokens[index].kind == "space":
        index -= 1
    return index if index >= 0 else None


def following(tokens: Sequence[Token], index: int) -> int | None:
    """Index of the first non-space token after `index`, or None."""
    index += 1
    while index < len(tokens) and tokens[index].kind == "space":
        index += 1
    return index if index < len(tokens) else None


def check_standalone(tokens: Sequence[Token], index: int, text: str) -> None:
    """Refuse a placeholder glued to a word, string or other placeholder (`x{today}`, `{today}T00`)."""
    for neighbour in (index - 1, index + 1):
        if 0 <= neighbour < len(tokens) and tokens[neighbour].kind in ("word", "string", "placeholder"):
            raise TemplateError(
                f"placeholder `{tokens[index].text}` is glued to "
                f"`{tokens[neighbour].text}`; a placeholder is a whole literal, so put a space or an "
                "operator around it",
                offset=tokens[index].start,
            )


def conjunct_problem(
    tokens: Sequence[Token], first: int, last: int, *, clause: tuple[int, int]
) -> str | None:
    """Why tokens `first..last` are not ANDed with the rest of their clause, or None if they are.

    `clause` is the exclusive token range of the clause (the WHERE clause, or the JQL before
    ORDER BY). The predicate and each parenthesised group around it must have no OR beside them,
    must not be negated with NOT, and must be plain grouping parentheses (not a function's or a
    subquery's).
    """
    depth = tokens[first].depth
    low, high = first, last
    while True:
        left = _enclosing(tokens, low, depth, step=-1, bound=clause[0])
        right = _enclosing(tokens, high, depth, step=1, bound=clause[1])
        for token in tokens[left + 1 : right]:
            if token.depth == depth and token.is_word("OR"):
                return "it is combined with OR"
            if token.depth == depth and token.is_word("SELECT"):
                return "it is inside a subquery"
        before = previous(tokens, low)
        if before is not None and tokens[before].is_word("NOT"):
            return "it is negated with NOT"
        if left == clause[0]:
            return None
        opener = previous(tokens, left)
        if opener is not None and not (
            tokens[opener].is_word("AND", "OR", "NOT", "WHERE") or tokens[opener].text == "("
        ):
            return f"it is inside `{tokens[opener].text}( ... )`, not a plain group"
        low, high, depth = left, right, depth - 1


def _enclosing(tokens: Sequence[Token], start: int, depth: int, *, step: int, bound: int) -> int:
    index = start + step
    while index != bound:
        token = tokens[index]
        if token.depth == depth - 1 and token.text in ("(", ")"):
            return index
        index += step
    return bound
