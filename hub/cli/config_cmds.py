"""`okrhub config validate` and `okrhub config schema`: plain functions the typer app wires in.

Each returns the process exit code, so the app stays a thin layer of options.

Example:
    ```python
    @config_app.command("validate")
    def validate(config: Path = default_config_path(), json_output: bool = False) -> None:
        raise typer.Exit(validate_command(config, json_output))
    ```
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub.config.loader import LoadedConfig, load_config
from hub.config.schema import schema_text, write_schema
from hub.errors import ConfigError, ConfigErrors, OkrHubError
from hub.registry import ConnectorRegistry


def validate_command(
    config: Path,
    json_output: bool,
    *,
    registry: ConnectorRegistry | None = None,
    console: Console | None = None,
) -> int:
    """Load and check the config file; print every problem, or a one-line summary when it is fine.

    Args:
        config: The config file.
        json_output: Print `{"ok": bool, "errors": [...]}` instead of a table.
        registry: Connector types; the installed ones (entry points) when None.
        console: Where to print; standard output when None.

    Returns:
        0 when the config is valid, 1 when it is not.
    """
    console = console or Console()
    try:
        loaded = load_config(config, registry=registry)
    except ConfigErrors as exc:
        errors = exc.errors
    except ConfigError as exc:
        errors = [exc]
    except OkrHubError as exc:
        errors = [ConfigError(exc.message, file=str(config))]
    else:
        if json_output:
            console.out(json.dumps({"ok": True, "errors": []}), highlight=False)
        else:
            console.print(_summary(loaded), highlight=False, markup=False)
        return 0
    if json_output:
        console.out(json.dumps({"ok": False, "errors": [err.attrs() for err in errors]}), highlight=False)
    else:
        console.print(_error_table(errors, config))
    return 1


def schema_command(
    output: Path | None, *, registry: ConnectorRegistry | None = None, console: Console | None = None
) -> int:
    """Print the config's JSON Schema, or write it to `output`.

    Args:
        output: File to write (e.g. `config/schema/hub.schema.json`); standard output when None.
        registry: Connector types; the installed ones (entry points) when None.
        console: Where to print; standard output when None.

    Returns:
        0 (the exit code).
    """
    console = console or Console()
    registry = ConnectorRegistry.from_entry_points() if registry is None else registry
    if output is None:
        console.out(schema_text(registry), end="", highlight=False)
    else:
        write_schema(output, registry)
        console.print(f"wrote the config schema to {output}", highlight=False, markup=False)
    return 0


def _summary(loaded: LoadedConfig) -> str:
    config = loaded.config
    count = len(config.connections)
    source = f"org sync from {config.org_sync.connection}" if config.org_sync else "no org sync"
    return f"config OK: {count} connection{'' if count == 1 else 's'}, {source}"


def _error_table(errors: list[ConfigError], config: Path) -> Table:
    count = len(errors)
    table = Table(title=f"{config}: {count} problem{'' if count == 1 else 's'}", title_justify="left")
    table.add_column("where", no_wrap=True)
    table.add_column("field")
    table.add_column("problem")
    for err in errors:
        where = ":".join(str(part) for part in (err.file, err.line, err.column) if part is not None)
        table.add_row(Text(where), Text(err.field or ""), Text(err.reason))
    return table
