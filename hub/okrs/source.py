"""Read an OKR file (YAML or CSV) into a validated `OkrDocument` that still knows where everything was.

Every later check (unknown owner, a target equal to the initial number, an alignment loop) is
reported through the file's `Locator`, so the admin reads `acme.yaml:42:11: field
`cycles[2026-Q4].objectives[q4-sales].key_results[q4-pipeline].target`: ...` whatever stage
found the problem. YAML positions come from ruamel's round-trip loader (`hub.config.yaml_source`);
CSV positions are the row's line and the column's header.

Example:
    ```python
    parsed = read_okr_file(Path("config/okrs/acme.yaml"))
    parsed.document.cycles[0].objectives[0].key
    error = parsed.locator.error("unknown owner `9999`", ("cycles", 0, "objectives", 0, "owner"))
    ```
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, Union

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml.comments import CommentedMap

from hub.config.yaml_source import Loc, locate, parse_yaml, to_plain
from hub.errors import ConfigError, ConfigErrors
from hub.okrs.document import OkrDocument

Format = Literal["yaml", "csv"]

_KEY_ERRORS = frozenset({"extra_forbidden"})
_MAPPING_ERRORS = frozenset({"model_type", "model_attributes_type", "dict_type"})


class Locator(Protocol):
    """Turns a location in the document into an error that names file, line, column and field."""

    source: str
    """The file name errors report."""

    def error(self, message: str, loc: Loc, *, at_key: bool = False) -> ConfigError:
        """An error about `loc` (e.g. `("cycles", 0, "objectives", 2, "owner")`)."""
        ...


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A validated OKR document, the format it came in, and where its parts are in the file."""

    document: OkrDocument
    format: Format
    locator: Locator

    @property
    def source(self) -> str:
        """The file name errors report."""
        return self.locator.source


def detect_format(path: Path, format_name: str | None = None) -> Format:
    """`yaml` or `csv`, from `format_name` when given, else from the file's suffix.

    Raises:
        ConfigErrors: The format is neither, or the suffix does not say.
    """
    name = (format_name or path.suffix.lstrip(".")).lower()
    if name in ("yaml", "yml"):
        return "yaml"
    if name == "csv":
        return "csv"
    raise ConfigErrors(
        [ConfigError(f"cannot tell the format from `{path.name}`; name it .yaml or .csv", file=str(path))]
    )


def read_okr_file(path: Path, *, format_name: str | None = None) -> ParsedFile:
    """Read and validate the OKR file at `path`.

    Args:
        path: A `.yaml`/`.yml` or `.csv` file.
        format_name: `yaml` or `csv` to override the suffix.

    Returns:
        The validated document with its locator.

    Raises:
        ConfigErrors: Every problem the file's shape has, each with file, line and field.
    """
    source = str(path)
    fmt = detect_format(path, format_name)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigErrors([ConfigError("OKR file not found", file=source)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigErrors([ConfigError(f"cannot read the OKR file: {exc}", file=source)]) from None
    if fmt == "csv":
        from hub.okrs.csv_format import parse_csv  # here: csv_format builds on this module

        return parse_csv(text, source=source)
    return parse_yaml_document(text, source=source)


def parse_yaml_document(text: str, *, source: str) -> ParsedFile:
    """Validate OKR YAML given as text; `source` is the file name errors report.

    Raises:
        ConfigErrors: Syntax errors, or every shape problem, each with its position.
    """
    try:
        root = parse_yaml(text, source=source)
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    if not isinstance(root, CommentedMap):
        raise ConfigErrors(
            [
                ConfigError(
                    "the top level must be a mapping with `version: 1` and `cycles:`", file=source, line=1
                )
            ]
        )
    plain = to_plain(root)
    locator = YamlLocator(source, root, plain)
    return ParsedFile(document=validate_document(plain, locator), format="yaml", locator=locator)


def validate_document(plain: Any, locator: Locator) -> OkrDocument:
    """Validate plain data as an `OkrDocument`, reporting every problem at its position.

    Raises:
        ConfigErrors: One error per problem, sorted by line.
    """
    try:
        return OkrDocument.model_validate(plain)
    except ValidationError as exc:
        details = [(error, normalise_loc(tuple(error["loc"]))) for error in exc.errors()]
        # A misspelt key also makes the real one missing; the did-you-mean already says so.
        suggested = {
            (*loc[:-1], match)
            for error, loc in details
            if error["type"] == "extra_forbidden"
            for match in difflib.get_close_matches(str(loc[-1]), known_keys(loc[:-1]), n=1, cutoff=0.6)
        }
        errors: list[ConfigError] = []
        seen: set[Loc] = set()
        for error, loc in details:
            if loc in seen or (error["type"] == "missing" and loc in suggested):
                continue
            seen.add(loc)
            errors.append(locator.error(_message(error, loc), loc, at_key=error["type"] in _KEY_ERRORS))
        raise ConfigErrors(sort_errors(errors)) from None


def sort_errors(errors: list[ConfigError]) -> list[ConfigError]:
    """Errors in file order."""
    return sorted(errors, key=lambda err: (err.line or 0, err.column or 0))


def did_you_mean(word: str, known: typing.Iterable[str]) -> str:
    """`; did you mean `x`?` for the closest known word, or an empty string."""
    matches = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean `{matches[0]}`?" if matches else ""


class YamlLocator:
    """Positions from ruamel's round-trip tree; field paths name list items by their `key`."""

    def __init__(self, source: str, root: Any, plain: Any) -> None:
        self.source = source
        self._root = root
        self._plain = plain

    def error(self, message: str, loc: Loc, *, at_key: bool = False) -> ConfigError:
        """An error about `loc`, pointing at its value (or its key when `at_key`)."""
        position = locate(self._root, loc, at_key=at_key)
        return ConfigError(
            message, file=self.source, line=position.line, column=position.column, field=self._label(loc)
        )

    def _label(self, loc: Loc) -> str:
        text = ""
        node: Any = self._plain
        for part in loc:
            child: Any = None
            if isinstance(part, int):
                child = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
                key = child.get("key") if isinstance(child, dict) else None
                text += f"[{key}]" if isinstance(key, str | int) else f"[{part}]"
            else:
                child = node.get(part) if isinstance(node, dict) else None
                text += f".{part}" if text else part
            node = child
        return text


def normalise_loc(loc: Loc) -> Loc:
    """Drop the parts of a pydantic location that are not keys of the document (union tags)."""
    kept: list[str | int] = []
    annotation: Any = OkrDocument
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                kept.append(part)  # an unknown key: keep it, it is what the error is about
                annotation = None
                continue
            annotation = field.annotation
            kept.append(part)
        elif typing.get_origin(annotation) is list and isinstance(part, int):
            annotation = typing.get_args(annotation)[0]
            kept.append(part)
        elif annotation is None:
            kept.append(part)
        # anything else is a tag pydantic adds (a union member, `[key]`): not in the file
    return tuple(kept)


def known_keys(loc: Loc) -> list[str]:
    """The keys the model at `loc` accepts (for did-you-mean), or none when `loc` is not a model."""
    annotation: Any = OkrDocument
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation) is list:
            annotation = typing.get_args(annotation)[0]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _message(error: ErrorDetails, loc: Loc) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        known = known_keys(loc[:-1])
        hint = did_you_mean(key, known)
        if hint:
            return f"unknown key `{key}`{hint}"
        return f"unknown key `{key}`; known keys: {', '.join(known)}" if known else f"unknown key `{key}`"
    if kind == "missing":
        return f"missing required key `{loc[-1]}`"
    if kind in _MAPPING_ERRORS:
        return f"expected a mapping of keys, found {_describe(error['input'])}"
    return error["msg"]


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _unwrap(annotation: Any) -> Any:
    """`X` for `Annotated[X, ...]` and `X | None`."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
