"""JSON Schema of a mapping file, generated from the models in `mappings.model`.

Editors use it to complete and check `config/mappings/*.yaml` as they are typed (VS Code: put
`# yaml-language-server: $schema=../schema/mappings.schema.json` on the first line). The
checked-in copy, `config/schema/mappings.schema.json`, is generated; never edit it by hand.
Regenerate it with `python -c "from mappings.schema import write_schema; write_schema()"`.

Example:
    ```python
    write_schema(Path("config/schema/mappings.schema.json"))
    ```
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mappings.model import MappingFile

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema draft the generated schema follows."""
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "config" / "schema" / "mappings.schema.json"
"""Where the checked-in schema lives in the repository."""
_DESCRIPTION = (
    "An okrhub mapping file (config/mappings/*.yaml): queries on Salesforce, Jira or GA4 connections "
    "and the key results their values update. Generated from mappings/model.py; do not edit by hand."
)


def mappings_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a mapping file, as a JSON-ready dict."""
    root = MappingFile.model_json_schema(ref_template="#/$defs/{model}", mode="validation")
    root["title"] = "okrhub mappings"
    root["description"] = _DESCRIPTION
    return {"$schema": JSON_SCHEMA_DIALECT, **root}


def schema_text() -> str:
    """The schema as the text of `mappings.schema.json` (indented, ending in a newline)."""
    return json.dumps(mappings_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> None:
    """Write the schema to `path` (the checked-in copy by default), creating its folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(), encoding="utf-8")
