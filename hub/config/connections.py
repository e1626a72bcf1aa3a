"""Validate connections with their connector's settings model, and check what org sync points at.

Which model validates `connections.<name>` depends on its `type`, known only to the connector
registry; these helpers look it up and raise pydantic errors located inside the connection, so
the loader can point at the exact YAML key.

Example:
    ```python
    settings = validate_connection({"type": "bamboohr", ...}, registry, context)
    problems = org_sync_problems("hr", {"hr": settings}, registry)  # [] when fine
    ```
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from hub.contracts import Capability
from hub.errors import UnknownConnectorError
from hub.registry import ConnectorRegistry

ORG_SYNC_LOC = ("org_sync", "connection")
"""Where problems with the org-sync connection are reported."""


def validate_connection(raw: Any, registry: ConnectorRegistry | None, context: Any) -> BaseModel:
    """Validate one raw connection mapping with the settings model of the connector its `type` names.

    Args:
        raw: The connection's mapping from the config file.
        registry: Connector types; needed to validate anything.
        context: The pydantic validation context, passed on (secrets, env, base_dir).

    Returns:
        The connector's settings model instance.

    Raises:
        ValidationError: With locations relative to the connection (`("type",)`, `("api_key",)`).
    """

    def fail(kind: str, message: str, loc: tuple[str, ...] = ()) -> ValidationError:
        error = PydanticCustomError(kind, message)
        return ValidationError.from_exception_data("connection", [{"type": error, "loc": loc, "input": raw}])

    if not isinstance(raw, Mapping):
        raise fail("connection_type", "a connection is a mapping with `type` and the connector's settings")
    if registry is None:
        raise fail("connection_registry", "no connector registry in the validation context to check it with")
    type_name = raw.get("type")
    if type_name is None:
        known = ", ".join(registry.names()) or "none installed"
        raise fail(
            "connection_type_missing", f"missing required key `type`; set it to one of: {known}", ("type",)
        )
    if not isinstance(type_name, str):
        raise fail("connection_type", "`type` must be a connector type name", ("type",))
    try:
        spec = registry.get(type_name)
    except UnknownConnectorError as exc:
        raise fail("unknown_connector", exc.message, ("type",)) from None
    return spec.settings_model.model_validate(raw, context=context)


def org_sync_problems(
    name: str, connections: Mapping[Any, Any], registry: ConnectorRegistry | None
) -> list[InitErrorDetails]:
    """Errors when `org_sync.connection` is not a declared connection whose connector is an org source.

    Args:
        name: The connection org sync reads from.
        connections: Declared connections, as raw mappings or validated settings (each has a `type`).
        registry: Connector types; without it the capability is not checked.

    Returns:
        Pydantic error details located at `org_sync.connection`; empty when all is well.
    """
    names = [str(key) for key in connections]
    if name not in connections:
        matches = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        if matches:
            hint = f"did you mean `{matches[0]}`?"
        elif names:
            hint = f"declared connections: {', '.join(sorted(names))}"
        else:
            hint = "declare it under `connections`"
        return [_problem("unknown_connection", f"no connection named `{name}`; {hint}", name)]
    type_name = _type_of(connections[name])
    if registry is None or type_name is None or type_name not in registry.names():
        return []  # an unknown type is reported on the connection itself
    if _is_org_source(type_name, registry):
        return []
    sources = [str(key) for key, value in connections.items() if _is_org_source(_type_of(value), registry)]
    if sources:
        hint = f"use one of: {', '.join(sources)}"
    else:
        able = [spec.type_name for spec in registry.specs() if Capability.ORG_SOURCE in spec.capabilities]
        hint = f"add a connection of type {' or '.join(able)}" if able else "no installed connector can"
    message = f"connection `{name}` is of type `{type_name}`, which cannot be an org source; {hint}"
    return [_problem("not_org_source", message, name)]


def raw_org_sync_problems(data: Any, registry: ConnectorRegistry | None) -> list[InitErrorDetails]:
    """`org_sync_problems` on unvalidated config data, skipping parts too malformed to check."""
    if not isinstance(data, Mapping):
        return []
    org_sync, connections = data.get("org_sync"), data.get("connections", {})
    if not isinstance(org_sync, Mapping) or not isinstance(connections, Mapping):
        return []
    name = org_sync.get("connection")
    return org_sync_problems(name, connections, registry) if isinstance(name, str) else []


def _problem(kind: str, message: str, name: str) -> InitErrorDetails:
    return {"type": PydanticCustomError(kind, message), "loc": ORG_SYNC_LOC, "input": name}


def _type_of(connection: Any) -> str | None:
    type_name = (
        connection.get("type") if isinstance(connection, Mapping) else getattr(connection, "type", None)
    )
    return type_name if isinstance(type_name, str) else None


def _is_org_source(type_name: str | None, registry: ConnectorRegistry) -> bool:
    return (
        type_name is not None
        and type_name in registry.names()
        and Capability.ORG_SOURCE in registry.get(type_name).capabilities
    )
