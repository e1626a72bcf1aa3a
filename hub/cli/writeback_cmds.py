"""`okrhub writeback ratings|reconcile|outbox|cancel`: finalized ratings to the HCM, and what it holds.

The job's config is `writeback/ratings.yaml` next to the hub config (or `--settings PATH`).
Exit codes as everywhere: 0 done, 1 the run failed or records were rejected, 2 configuration error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub.config.paths import default_config_path
from hub.contracts import Capability
from hub.errors import ConfigError, ConfigErrors, OkrHubError
from hub.http.stats import CallStats
from hub.jobs.writeback import WritebackSettings, load_writeback_settings, reconcile, run_writeback
from hub.jobs.writeback.outbox import cancel, load_rows
from hub.runtime import Runtime, open_runtime
from hub.store.models import OutboxStatus, utcnow

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
STYLE = {
    "confirmed": "green",
    "would_send": "cyan",
    "rejected": "bold red",
    "retry": "yellow",
    "settled_confirmed": "green",
    "settled_pending": "yellow",
    "problem": "bold red",
}

writeback_app = typer.Typer(
    help="Write finalized ratings back to the HCM (outbox, exactly once) and reconcile.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $OKRHUB_CONFIG or ./config/hub.yaml)."),
]
SettingsOption = Annotated[
    Path | None,
    typer.Option(
        "--settings", help="Write-back config (default: writeback/ratings.yaml next to the config)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Store URL; overrides OKRHUB_DATABASE_URL and the config."),
]


@contextmanager
def _runtime(config: Path | None, database_url: str | None) -> Iterator[Runtime]:
    runtime = open_runtime(config or default_config_path(), database_url=database_url)
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


def _settings(runtime: Runtime, path: Path | None) -> WritebackSettings:
    return load_writeback_settings(path or runtime.loaded.path.parent / "writeback" / "ratings.yaml")


def _fail(exc: OkrHubError, json_output: bool) -> typer.Exit:
    code = EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILED
    if json_output:
        Console().print_json(data={"ok": False, "error": exc.attrs()})
        return typer.Exit(code)
    errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
    for error in errors:
        Console(stderr=True).print(Text(f"error: {error.message}", style="bold red"), soft_wrap=True)
    return typer.Exit(code)


def _print(out: Console, data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


@writeback_app.command("ratings")
def ratings_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show exactly what would be sent to whom; write nothing.")
    ] = False,
    settings_path: SettingsOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Send the finalized ratings the HCM does not hold yet, each exactly once."""
    out = Console()
    try:
        with _runtime(config, database_url) as runtime:
            settings = _settings(runtime, settings_path)
            stats = CallStats()
            with runtime.connector(settings.connection, stats, capability=Capability.RATING_SINK) as sink:
                result = run_writeback(runtime.engine, sink, settings, stats=stats, dry_run=dry_run)
    except OkrHubError as exc:
        raise _fail(exc, json_output) from None
    if json_output:
        _print(out, result.to_dict())
    else:
        dry = " · DRY RUN, nothing written" if dry_run else ""
        table = Table(
            title=f"write-back run {result.run_id} · {result.connection} · {result.review_cycle}{dry}",
            title_justify="left",
        )
        for column in ("key", "employee", "outcome", "HCM value", "detail"):
            table.add_column(column)
        for o in result.outcomes:
            table.add_row(
                o.key,
                o.employee_id,
                Text(o.action, style=STYLE.get(o.action, "")),
                o.value or "",
                Text(o.detail or o.reason or ""),
            )
        out.print(table)
        counts = ", ".join(f"{n} {name}" for name, n in sorted(result.counts.items())) or "nothing to send"
        out.print(f"{result.status}: {counts}; {result.api_calls} API calls ({result.retries} retries)")
    failed = result.status != "succeeded" or any(k in result.counts for k in ("rejected", "problem"))
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


@writeback_app.command("reconcile")
def reconcile_command(
    settings_path: SettingsOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Read what the HCM holds and report every difference from the finalized ratings."""
    out = Console()
    try:
        with _runtime(config, database_url) as runtime:
            settings = _settings(runtime, settings_path)
            with runtime.connector(
                settings.connection, CallStats(), capability=Capability.RATING_SINK
            ) as sink:
                report = reconcile(runtime.engine, sink, settings)
    except OkrHubError as exc:
        raise _fail(exc, json_output) from None
    if json_output:
        _print(out, report.to_dict())
    else:
        table = Table(
            title=f"reconcile · {report.connection} · {report.review_cycle} · {report.matching} matching",
            title_justify="left",
        )
        for column in ("employee", "kind", "expected", "HCM holds"):
            table.add_column(column)
        for m in report.mismatches:
            table.add_row(m.employee_id, Text(m.kind, style="yellow"), m.expected or "-", m.held or "-")
        out.print(table)
    raise typer.Exit(EXIT_FAILED if report.mismatches else EXIT_OK)


@writeback_app.command("outbox")
def outbox_command(
    status: Annotated[
        OutboxStatus | None, typer.Option("--status", help="Only rows with this status.")
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the outbox: every rating's status, attempts and the HCM's last error."""
    out = Console()
    try:
        with _runtime(config, database_url) as runtime:
            rows = load_rows(runtime.engine, status=status.value if status else None)
    except OkrHubError as exc:
        raise _fail(exc, json_output) from None
    if json_output:
        _print(out, [row.to_dict() for row in rows.values()])
        raise typer.Exit(EXIT_OK)
    table = Table(title=f"outbox ({len(rows)})", title_justify="left")
    for column in ("key", "status", "value", "attempts", "last error"):
        table.add_column(column)
    for row in rows.values():
        table.add_row(
            row.idempotency_key,
            Text(row.status, style=STYLE.get(row.status, "")),
            row.value,
            str(row.attempts),
            Text(row.last_error or row.cancel_reason or ""),
        )
    out.print(table)
    raise typer.Exit(EXIT_OK)


@writeback_app.command("cancel")
def cancel_command(
    key: Annotated[str, typer.Argument(help="The outbox key, e.g. acme-2026:1042:overall.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it must not be sent (kept on the row).")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Stop retrying one rating (e.g. the HCM refuses it for good); it is never sent for this value."""
    out = Console()
    try:
        with _runtime(config, database_url) as runtime:
            row = cancel(runtime.engine, key, reason=reason, now=utcnow())
    except OkrHubError as exc:
        raise _fail(exc, json_output) from None
    if json_output:
        _print(out, row.to_dict())
    else:
        out.print(Text(f"cancelled {row.idempotency_key}: {reason}", style="yellow"))
    raise typer.Exit(EXIT_OK)
