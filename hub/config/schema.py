"""JSON Schema of `hub.yaml`, generated from the config models and every registered connector.

Editors (VS Code's YAML extension, JetBrains) use it to complete and check the file as it is
typed. The checked-in copy, `config/schema/hub.schema.json`, is generated; never edit it by hand.

Example:
    ```python
    write_schema(Path("config/schema/hub.schema.json"), ConnectorRegistry.from_entry_points())
    ```
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from hub.config.models import HubConfig
from hub.registry import ConnectorRegistry

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema draft the generated schema follows."""


def config_json_schema(registry: ConnectorRegistry) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the config file.

    Each `connections` entry is a `oneOf` over the registered connectors' settings models,
    discriminated by `type`.

    Args:
        registry: The connector types whose settings the schema describes.

    Returns:
        The schema as a JSON-ready dict.
    """
    specs = registry.specs()
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(HubConfig, "validation")]
    models += [(spec.settings_model, "validation") for spec in specs]
    refs, definitions = models_json_schema(models, ref_template="#/$defs/{model}")
    defs: dict[str, Any] = dict(definitions.get("$defs", {}))
    root = defs.pop(_def_name(refs[(HubConfig, "validation")]))
    connection_refs = {spec.type_name: refs[(spec.settings_model, "validation")]["$ref"] for spec in specs}
    if connection_refs:  # with no connector installed, the generic "object with a `type`" stays
        root["properties"]["connections"]["additionalProperties"] = {
            "oneOf": [{"$ref": ref} for ref in dict.fromkeys(connection_refs.values())],
            "discriminator": {"propertyName": "type", "mapping": connection_refs},
        }
    root["title"] = "okrhub configuration"
    root["description"] = _DESCRIPTION
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT, **root}
    used = _reachable(root, defs)
    if used:
        schema["$defs"] = {name: defs[name] for name in sorted(used)}
    return schema


def schema_text(registry: ConnectorRegistry) -> str:
    """The schema as the text of `hub.schema.json` (indented, ending in a newline)."""
    return json.dumps(config_json_schema(registry), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path, registry: ConnectorRegistry) -> None:
    """Write the schema to `path`, creating its folder if needed.

    Args:
        path: Where to write, usually `config/schema/hub.schema.json`.
        registry: The connector types whose settings the schema describes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(registry), encoding="utf-8")


_DESCRIPTION = (
    "The okrhub config file (hub.yaml): store, connections, org sync and job schedules. "
    "Generated from hub/config/models.py and the installed connectors; do not edit by hand."
)


def _def_name(ref: Any) -> str:
    return str(ref["$ref"]).removeprefix("#/$defs/")


def _reachable(root: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """Names of the definitions `root` refers to, directly or through other definitions."""
    found: set[str] = set()
    pending: list[Any] = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if name not in found and name in defs:
                    found.add(name)
                    pending.append(defs[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found
