from __future__ import annotations

import json
from typing import Any

from mappings import mappings_json_schema
from mappings.schema import JSON_SCHEMA_DIALECT, SCHEMA_PATH, schema_text, write_schema


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in refs_in(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in refs_in(item)]
    return []


def test_checked_in_schema_is_up_to_date():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "config/schema/mappings.schema.json is stale; regenerate it with "
        '`python -c "from mappings.schema import write_schema; write_schema()"`'
    )


def test_schema_is_draft_2020_12_and_its_refs_resolve():
    schema = json.loads(schema_text())

    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"version", "mappings"}
    for ref in refs_in(schema):
        assert ref.removeprefix("#/$defs/") in schema["$defs"], ref


def test_the_mapping_shape_is_described():
    mapping = mappings_json_schema()["$defs"]["MappingModel"]

    assert mapping["additionalProperties"] is False
    assert set(mapping["required"]) == {"id", "connection", "targets"}
    window = mapping["properties"]["window"]
    assert window["oneOf"][0]["enum"] == ["cycle_to_date", "calendar_month", "previous_calendar_month"]
    assert mapping["properties"]["on_no_data"]["enum"] == ["skip", "zero", "hold"]
    assert set(mappings_json_schema()["$defs"]["Ga4Filter"]["properties"]) >= {"and", "or", "not", "equals"}


def test_write_schema_writes_what_generation_gives(tmp_path):
    path = tmp_path / "schema" / "mappings.schema.json"

    write_schema(path)

    assert json.loads(path.read_text(encoding="utf-8")) == mappings_json_schema()
