"""Positions for error messages: pydantic locations without union tags, and offsets inside a query.

Pydantic puts the tag of a union member into an error's location (`window.named`); the file has
no such key, so `normalise_loc` walks the mapping-file models and drops them, returning the keys
the model at that spot accepts (for did-you-mean). `in_scalar` turns an offset inside a query
template into the file line and column, so a placeholder inside quotes on the third line of a
`soql: >` block is reported on that line.

Example:
    ```python
    normalise_loc(("mappings", 0, "window", "named"))   # (("mappings", 0, "window"), [...keys...])
    ```
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Union

from pydantic import BaseModel, Tag

from hub.config.messages import unwrap_annotation
from hub.config.yaml_source import Loc
from mappings.model import MappingFile


def in_scalar(text: str, value: str, offset: int, *, line: int, column: int) -> tuple[int, int]:
    """The file line and column of `value[offset]`, for a scalar whose value starts at `line:column`.

    Works for block scalars (`>` and `|`) and single-line plain or quoted scalars; the position is
    used only when the file really holds the same characters there, else `line:column` is kept.
    """
    lines = text.splitlines()
    if not 0 <= offset < len(value) or not 0 < line <= len(lines):
        return line, column
    first = lines[line - 1]
    want = value[offset : offset + 12].split("\n", 1)[0]
    if first[column - 1 : column] in (">", "|"):
        content = [(number, body) for number, body in enumerate(lines[line:], start=line + 1)]
        indents = [len(body) - len(body.lstrip()) for _, body in content if body.strip()]
        if not indents:
            return line, column
        indent = indents[0]
        start = 0
        for number, body in content:
            if body.strip() and len(body) - len(body.lstrip()) < indent:
                break
            piece = body[indent:]
            if start <= offset < start + len(piece):
                at = indent + offset - start
                if body[at : at + len(want)] == want:
                    return number, at + 1
                break
            start += len(piece) + 1
        return line, column
    at = column - 1 + (1 if first[column - 1 : column] in ("'", '"') else 0) + offset
    if first[at : at + len(want)] == want:
        return line, at + 1
    return line, column


def normalise_loc(loc: Loc) -> tuple[Loc, list[str]]:
    """`loc` without pydantic's union tags, and the keys the model holding its last part accepts."""
    kept: list[str | int] = []
    annotation: Any = MappingFile
    known: list[str] = []
    for part in loc:
        annotation = unwrap_annotation(annotation)
        tags = _tags(annotation)
        if tags is not None and isinstance(part, str) and part in tags:
            annotation = tags[part]
            continue
        annotation = unwrap_annotation(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {field.alias or name: field for name, field in annotation.model_fields.items()}
            known = sorted(fields)
            field = fields.get(str(part))
            annotation = field.annotation if field is not None else None
        elif typing.get_origin(annotation) is list and isinstance(part, int):
            annotation = typing.get_args(annotation)[0]
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        else:
            annotation = None
        kept.append(part)
    return tuple(kept), known


def _tags(annotation: Any) -> dict[str, Any] | None:
    if typing.get_origin(annotation) not in (Union, types.UnionType):
        return None
    tags: dict[str, Any] = {}
    for member in typing.get_args(annotation):
        if typing.get_origin(member) is Annotated:
            inner, *meta = typing.get_args(member)
            for item in meta:
                if isinstance(item, Tag):
                    tags[item.tag] = inner
    return tags or None
