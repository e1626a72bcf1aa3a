"""What config validation needs from outside the file: the registry, the environment, the file's folder.

Pydantic hands a validation context to every validator; this module names its keys once, so the
models, the `SecretRef` type and the loader agree on them.

Example:
    ```python
    found: set[str] = set()
    context: ValidationContext = {"registry": registry, "env": os.environ, "secrets": found}
    config = HubConfig.model_validate(raw, context=context)
    # `found` now holds every secret value the config resolved, for log redaction
    ```
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema

if TYPE_CHECKING:
    from pydantic import ValidationError

    from hub.registry import ConnectorRegistry


class ValidationContext(TypedDict, total=False):
    """Keys the config models read from the pydantic validation context; every key is optional."""

    registry: ConnectorRegistry
    """Connector types, to validate each connection with its connector's settings model."""
    env: Mapping[str, str]
    """Environment for `${VAR}` secret references; `os.environ` when absent."""
    base_dir: Path
    """Folder that relative `${file:...}` references start from (the config file's); cwd when absent."""
    secrets: set[str]
    """Filled with every secret value resolved during validation, for log redaction."""


def context_of(raw: Any) -> ValidationContext:
    """The validation context pydantic passed (`info.context`), or an empty one when there is none."""
    if isinstance(raw, dict):
        return cast(ValidationContext, raw)
    return {}


_KNOWN_ERROR_TYPES: frozenset[str] = frozenset(typing.get_args(core_schema.ErrorType))


def nested_errors(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[InitErrorDetails]:
    """The errors of `exc`, with `prefix` put before each location, ready to re-raise in a bigger error.

    Re-raising keeps every error's own location, so the loader can point at the exact YAML key
    even when a validator validates a nested model itself (connections, person-field keys).
    """
    details: list[InitErrorDetails] = []
    for error in exc.errors():
        loc = (*prefix, *error["loc"])
        if error["type"] in _KNOWN_ERROR_TYPES:
            known: InitErrorDetails = {"type": error["type"], "loc": loc, "input": error["input"]}
            if "ctx" in error:
                known["ctx"] = error["ctx"]
            details.append(known)
        else:
            custom = PydanticCustomError(error["type"], error["msg"])
            details.append({"type": custom, "loc": loc, "input": error["input"]})
    return details
