"""Pydantic validation errors on a YAML (or CSV) file, said as `file:line:column: field ...: what to change`.

Every file okrhub reads (hub.yaml, OKR, ratings, mapping and write-back files) is validated with
pydantic models; `validation_errors` turns one `ValidationError` into a `ConfigError` per problem
through the file's `Locator`, and `validation_message` words each problem for the admin:
``unknown key `max_deactivate_ration`; did you mean `max_deactivate_ratio`?``. Each caller knows
which keys a location accepts (`known_keys_at`), and which parts of pydantic's location are keys
of its file (`normalise`).

Example:
    ```python
    try:
        return Settings.model_validate(to_plain(root))
    except ValidationError as exc:
        raise ConfigErrors(validation_errors(exc, TreeLocator(source, root))) from None
    ```
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from hub.config.yaml_source import Loc, Locator
from hub.errors import ConfigError

KnownKeysAt = Callable[[Loc], Sequence[str]]
"""The keys the mapping at a location accepts (for did-you-mean), or none when it is not a model."""
MessageFn = Callable[[ErrorDetails, Loc, KnownKeysAt | None], str]
"""Words one pydantic error at its (normalised) location; `validation_message` is the usual one."""

KEY_ERRORS = frozenset({"extra_forbidden", "unknown_person_field"})
"""Error types about a key itself, so they point at the key rather than its value."""
MAPPING_ERRORS = frozenset({"model_type", "model_attributes_type", "dict_type"})
"""Error types for a value that should have been a mapping of keys."""


def validation_errors(
    exc: ValidationError,
    locator: Locator,
    *,
    known_keys_at: KnownKeysAt | None = None,
    normalise: Callable[[Loc], Loc] = tuple,
    message: MessageFn | None = None,
    one_per_field: bool = False,
) -> list[ConfigError]:
    """One error per problem of `exc`, each at its position in the file, in file order.

    Args:
        exc: The error from validating the file's plain data.
        locator: Positions of the file's parts.
        known_keys_at: The keys a location accepts, for an unknown key's did-you-mean or list.
        normalise: The location in the file of pydantic's location (e.g. without union tags).
        message: How a problem is worded; `validation_message` when None.
        one_per_field: Report each location once, and no missing key an unknown key's
            did-you-mean already names (a misspelt key also makes the real one missing).

    Returns:
        The errors, sorted by line and column.
    """
    word = message or validation_message
    details = [(error, normalise(tuple(error["loc"]))) for error in exc.errors()]
    suggested: set[Loc] = set()
    if one_per_field and known_keys_at is not None:
        for error, loc in details:
            match = (
                close_match(str(loc[-1]), known_keys_at(loc[:-1]))
                if error["type"] == "extra_forbidden"
                else None
            )
            if match is not None:
                suggested.add((*loc[:-1], match))
    errors: list[ConfigError] = []
    seen: set[Loc] = set()
    for error, loc in details:
        if one_per_field:
            if loc in seen or (error["type"] == "missing" and loc in suggested):
                continue
            seen.add(loc)
        text = word(error, loc, known_keys_at)
        errors.append(locator.error(text, loc, at_key=error["type"] in KEY_ERRORS))
    return sort_errors(errors)


def validation_message(error: ErrorDetails, loc: Loc, known_keys_at: KnownKeysAt | None = None) -> str:
    """What the admin should change for one pydantic error at `loc` (its location in the file).

    An unknown key gets the closest key `known_keys_at(loc[:-1])` accepts, or the list of them; a
    missing key, a value that is not a mapping and a string that is not one of a `Literal`'s
    options get a sentence of their own; anything else keeps pydantic's message.
    """
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        known = list(known_keys_at(loc[:-1])) if known_keys_at is not None else []
        hint = did_you_mean(key, known)
        if hint:
            return f"unknown key `{key}`{hint}"
        return f"unknown key `{key}`; known keys: {', '.join(known)}" if known else f"unknown key `{key}`"
    if kind == "missing":
        return f"missing required key `{loc[-1]}`"
    if kind in MAPPING_ERRORS:
        return f"expected a mapping of keys, found {describe_value(error['input'])}"
    if kind == "literal_error" and isinstance(error["input"], str):
        options = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        if options:
            match = close_match(error["input"], options)
            hint = f"did you mean `{match}`? " if match else ""
            return f"unknown value `{error['input']}`; {hint}one of: {', '.join(options)}"
    return str(error["msg"])


def model_keys_at(model: type[BaseModel]) -> KnownKeysAt:
    """`known_keys_at` for a file validated by `model`: the keys of the (nested) model at a location."""

    def keys_at(loc: Loc) -> Sequence[str]:
        current: Any = model
        for part in loc:
            if not (isinstance(current, type) and issubclass(current, BaseModel)):
                return []
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = unwrap_annotation(field.annotation)
        if isinstance(current, type) and issubclass(current, BaseModel):
            return sorted(field.alias or name for name, field in current.model_fields.items())
        return []

    return keys_at


def close_match(word: str, known: Iterable[str]) -> str | None:
    """The known word closest to `word` (a likely misspelling of it), or None."""
    matches = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`; did you mean `x`?` for the closest known word, or an empty string."""
    match = close_match(word, known)
    return f"; did you mean `{match}`?" if match is not None else ""


def describe_value(value: Any) -> str:
    """What kind of value the file holds, for a message: `a string`, `a list`, `nothing (null)`."""
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


def unwrap_annotation(annotation: Any) -> Any:
    """`X` for `Annotated[X, ...]` and `X | None`; a union of several types stays a union."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def sort_errors(errors: list[ConfigError]) -> list[ConfigError]:
    """Errors in file order."""
    return sorted(errors, key=lambda err: (err.line or 0, err.column or 0))
