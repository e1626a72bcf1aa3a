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

import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from hub.config.messages import did_you_mean as did_you_mean
from hub.config.messages import sort_errors as sort_errors
from hub.config.messages import unwrap_annotation, validation_errors
from hub.config.yaml_source import Loc, Position, TreeLocator, parse_yaml_mapping, read_source, to_plain
from hub.config.yaml_source import Locator as Locator
from hub.errors import ConfigError, ConfigErrors
from hub.okrs.document import OkrDocument

Format = Literal["yaml", "csv"]


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
    text = read_source(path, what="OKR file")
    if fmt == "csv":
        from hub.okrs.csv_format import parse_csv  # here: csv_format builds on this module

        return parse_csv(text, source=source)
    return parse_yaml_document(text, source=source)


def parse_yaml_document(text: str, *, source: str) -> ParsedFile:
    """Validate OKR YAML given as text; `source` is the file name errors report.

    Raises:
        ConfigErrors: Syntax errors, or every shape problem, each with its position.
    """
    root = parse_yaml_mapping(
        text, source=source, not_a_mapping="the top level must be a mapping with `version: 1` and `cycles:`"
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
        errors = validation_errors(
            exc, locator, known_keys_at=known_keys, normalise=normalise_loc, one_per_field=True
        )
        raise ConfigErrors(errors) from None


class YamlLocator(TreeLocator):
    """Positions from ruamel's round-trip tree; field paths name list items by their `key`."""

    def __init__(self, source: str, root: Any, plain: Any) -> None:
        super().__init__(source, root)
        self._plain = plain

    def field(self, loc: Loc, position: Position) -> str | None:
        """The dotted path of `loc`, a list item named `[key]` by its `key` when it has one."""
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
        annotation = unwrap_annotation(annotation)
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
        annotation = unwrap_annotation(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation) is list:
            annotation = typing.get_args(annotation)[0]
        else:
            return []
    annotation = unwrap_annotation(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []
