"""Read YAML keeping every key's line and column, and find them again from a pydantic error location.

The round-trip loader of ruamel.yaml records where each key and value starts; `locate` walks a
pydantic `loc` tuple down that tree, so an error can name `hub.yaml:14:5` instead of a path.
A `Locator` (`TreeLocator` for a YAML tree) turns such a location into a `ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from hub.errors import ConfigError, ConfigErrors

Loc = tuple[str | int, ...]


class Locator(Protocol):
    """Turns a location in the document into an error that names file, line, column and field."""

    source: str
    """The file name errors report."""

    def error(self, message: str, loc: Loc, *, at_key: bool = False) -> ConfigError:
        """An error about `loc` (e.g. `("cycles", 0, "objectives", 2, "owner")`)."""
        ...


def read_source(path: Path, *, what: str) -> str:
    """The text of the file at `path` (UTF-8, a byte order mark dropped).

    Raises:
        ConfigErrors: ``<what> not found`` or ``cannot read the <what>: ...``, naming the file.
    """
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigErrors([ConfigError(f"{what} not found", file=str(path))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigErrors([ConfigError(f"cannot read the {what}: {exc}", file=str(path))]) from None


def parse_yaml_mapping(text: str, *, source: str, not_a_mapping: str) -> CommentedMap:
    """Parse YAML whose top level must be a mapping.

    Raises:
        ConfigErrors: A syntax error at its position, or `not_a_mapping` at line 1.
    """
    try:
        root = parse_yaml(text, source=source)
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    if not isinstance(root, CommentedMap):
        raise ConfigErrors([ConfigError(not_a_mapping, file=source, line=1)])
    return root


def parse_yaml(text: str, *, source: str) -> Any:
    """Parse `text` with the round-trip loader; a syntax error becomes a `ConfigError` with its position."""
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem += f" ({exc.context})"
        if exc.context == "while scanning an alias":
            problem += '; a value starting with `*` must be quoted, e.g. cron: "* * * * *"'
        raise ConfigError(
            f"YAML syntax error: {problem}",
            file=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except YAMLError as exc:
        raise ConfigError(f"YAML syntax error: {exc}", file=source) from None


def to_plain(node: Any) -> Any:
    """The same data as plain dicts, lists and scalars (what pydantic expects)."""
    if isinstance(node, dict):
        return {to_plain(key): to_plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [to_plain(item) for item in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, ScalarBoolean):  # an anchored boolean
        return bool(node)
    for plain in (str, int, float):
        if isinstance(node, plain):
            return plain(node)
    if isinstance(node, datetime):
        return datetime.fromisoformat(node.isoformat())
    if isinstance(node, date):
        return date.fromisoformat(node.isoformat())
    return node


@dataclass(frozen=True, slots=True)
class Position:
    """Where an error points: 1-based line and column, and the dotted field path."""

    line: int
    column: int
    path: Loc


def field_path(path: Loc) -> str:
    """`connections.hr.api_key` for a location path; list indexes read as `[0]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _start(node: Any, fallback: tuple[int, int]) -> tuple[int, int]:
    if isinstance(node, CommentedMap | CommentedSeq):
        return node.lc.line, node.lc.col
    return fallback


def locate(root: Any, loc: Loc, *, at_key: bool) -> Position:
    """Where `loc` points in the tree `root` returned by `parse_yaml`.

    A location that resolves fully points at the value, or at the key when `at_key` (an unknown
    key) or when the location ends in pydantic's `[key]` marker. A location whose last part is not
    in the file (a missing key) points at the mapping it should be in. Parts that are not keys in
    the file at all (union tags) are left out of the path.
    """
    node = root
    key_pos = value_pos = _start(root, (0, 0))
    path: list[str | int] = []
    for index, part in enumerate(loc):
        if part == "[key]":
            at_key = True
            continue
        child = _child(node, part)
        if child is None:
            if index == len(loc) - 1:
                path.append(part)
                key_pos = value_pos = _start(node, value_pos)
            break
        key_pos, value_pos, node = child
        path.append(part)
    line, column = key_pos if at_key else value_pos
    return Position(line=line + 1, column=column + 1, path=tuple(path))


def _child(node: Any, part: str | int) -> tuple[tuple[int, int], tuple[int, int], Any] | None:
    if isinstance(node, CommentedMap) and part in node:
        try:
            key_pos: tuple[int, int] = tuple(node.lc.key(part))
            value_pos: tuple[int, int] = tuple(node.lc.value(part))
        except KeyError:  # a key merged in with `<<:` has no position of its own
            key_pos = value_pos = _start(node, (0, 0))
        value = node[part]
        # ruamel puts an empty value where the next token starts; the key is a better place.
        return key_pos, key_pos if value is None else _start(value, value_pos), value
    if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
        item_pos: tuple[int, int] = tuple(node.lc.item(part))
        return item_pos, _start(node[part], item_pos), node[part]
    return None


class TreeLocator:
    """Errors at positions of the tree `parse_yaml` returned; the field is the location's path.

    Example:
        ```python
        locator = TreeLocator("hub.yaml", parse_yaml(text, source="hub.yaml"))
        locator.error("unknown key `typ`", ("connections", "hr", "typ"), at_key=True)
        ```
    """

    def __init__(self, source: str, root: Any) -> None:
        self.source = source
        self._root = root

    def error(self, message: str, loc: Loc, *, at_key: bool = False) -> ConfigError:
        """An error about `loc`, pointing at its value (or its key when `at_key`)."""
        position = locate(self._root, loc, at_key=at_key)
        return ConfigError(
            message,
            file=self.source,
            line=position.line,
            column=position.column,
            field=self.field(loc, position),
        )

    def field(self, loc: Loc, position: Position) -> str | None:
        """The field an error names: the dotted path of the keys `loc` found in the file."""
        return field_path(position.path) or None
