from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.config.schema import JSON_SCHEMA_DIALECT, config_json_schema, schema_text, write_schema
from hub.registry import ConnectorRegistry

CHECKED_IN = Path(__file__).resolve().parents[2] / "config" / "schema" / "hub.schema.json"


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in refs_in(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in refs_in(item)]
    return []


def test_connections_are_a_one_of_discriminated_by_type(registry):
    schema = config_json_schema(registry)

    values = schema["properties"]["connections"]["additionalProperties"]
    assert values["oneOf"] == [{"$ref": "#/$defs/PeopleSettings"}, {"$ref": "#/$defs/DeskSettings"}]
    assert values["discriminator"] == {
        "propertyName": "type",
        "mapping": {"peoplehr": "#/$defs/PeopleSettings", "salesdesk": "#/$defs/DeskSettings"},
    }
    people = schema["$defs"]["PeopleSettings"]
    assert people["properties"]["type"]["const"] == "peoplehr"
    assert people["properties"]["api_key"]["pattern"].startswith("^\\$\\{")
    assert people["additionalProperties"] is False


def test_schema_is_draft_2020_12_json_whose_refs_all_resolve(registry):
    schema = json.loads(schema_text(registry))

    assert schema["$schema"] == JSON_SCHEMA_DIALECT == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "version",
        "store",
        "connections",
        "org_sync",
        "jobs",
        "mappings",
        "workers",
    }
    for ref in refs_in(schema):
        assert ref.removeprefix("#/$defs/") in schema["$defs"], ref
    assert "BaseModel" not in schema["$defs"]


def test_field_docstrings_become_descriptions(registry):
    org_sync = config_json_schema(registry)["$defs"]["OrgSyncSettings"]

    assert org_sync["properties"]["max_deactivate_ratio"]["maximum"] == 1.0
    assert "deactivate" in org_sync["properties"]["max_deactivate_ratio"]["description"]
    assert org_sync["required"] == ["connection"]


def test_without_connectors_a_connection_is_any_object_with_a_type():
    schema = config_json_schema(ConnectorRegistry([]))

    values = schema["properties"]["connections"]["additionalProperties"]
    assert "oneOf" not in values
    assert values["required"] == ["type"]


def test_write_schema_writes_what_generation_gives(tmp_path, registry):
    path = tmp_path / "schema" / "hub.schema.json"

    write_schema(path, registry)

    assert path.read_text(encoding="utf-8") == schema_text(registry)
    assert json.loads(path.read_text(encoding="utf-8")) == config_json_schema(registry)


def test_checked_in_schema_is_up_to_date():
    try:
        registry = ConnectorRegistry.from_entry_points()
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"installed connectors cannot be loaded yet: {exc}")

    assert CHECKED_IN.read_text(encoding="utf-8") == schema_text(registry), (
        "config/schema/hub.schema.json is stale; regenerate it with `okrhub config schema --output "
        "config/schema/hub.schema.json`"
    )
