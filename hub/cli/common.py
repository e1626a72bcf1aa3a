"""What every CLI command shares: exit codes, the common options, the runtime, and how errors end a command.

Exit codes: 0 done, 1 the job failed (or a service is unreachable: worth retrying), 2 a
configuration error (fix the file; retrying will not help), 3 a guard stopped the job.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from hub.config.paths import default_config_path
from hub.errors import ConfigError, ConfigErrors, OkrHubError
from hub.runtime import Runtime, open_runtime

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_GUARDED = 0, 1, 2, 3

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $OKRHUB_CONFIG or ./config/hub.yaml)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Store URL; overrides OKRHUB_DATABASE_URL and the config."),
]

err = Console(stderr=True)


def open_cli_runtime(config: Path | None, database_url: str | None = None) -> Runtime:
    """The runtime of `--config` (or the default config) and `--database-url`."""
    return open_runtime(config or default_config_path(), database_url=database_url)


@contextmanager
def cli_runtime(config: Path | None, database_url: str | None = None) -> Iterator[Runtime]:
    """`open_cli_runtime`, its store's connections closed when the block ends."""
    runtime = open_cli_runtime(config, database_url)
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


@contextmanager
def errors_as_exit(json_output: bool = False) -> Iterator[None]:
    """Report an `OkrHubError` raised inside the block as the command's message and exit code."""
    try:
        yield
    except OkrHubError as exc:
        raise fail(exc, json_output) from None


def fail(exc: OkrHubError, json_output: bool = False) -> typer.Exit:
    """Print `exc` (every error of a `ConfigErrors`) and return the exit that ends the command."""
    code = EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILED
    if json_output:
        Console().print_json(data={"ok": False, "error": exc.attrs()})
        return typer.Exit(code)
    errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
    for error in errors:
        err.print(Text(f"error: {error.message}", style="bold red"), soft_wrap=True)
    return typer.Exit(code)
