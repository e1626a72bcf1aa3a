"""`okrhub writeback ratings|reconcile|outbox|cancel`: finalized ratings to the HCM, and what it holds.

The job's config is `writeback/ratings.yaml` next to the hub config (or `--settings PATH`).
Exit codes as everywhere: 0 done, 1 the run failed or records were rejected, 2 configuration error.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    ConfigOption,
    DatabaseOption,
    JsonOption,
    cli_runtime,
    errors_as_exit,
)
from hub.contracts import Capability
from hub.http.stats import CallStats
from hub.jobs.writeback import (
    WritebackSettings,
    load_writeback_settings,
    reconcile,
    run_configured_writeback,
)
from hub.jobs.writeback.outbox import cancel, load_rows
from hub.runtime import Runtime
from hub.scheduling.catalogue import writeback_job_name, writeback_settings_path
from hub.scheduling.locks import exclusive
from hub.store.models import OutboxStatus, utcnow

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

SettingsOption = Annotated[
    Path | None,
    typer.Option(
        "--settings", help="Write-back config (default: writeback/ratings.yaml next to the config)."
    ),
]


def _settings_path(runtime: Runtime, path: Path | None) -> Path:
    return path or writeback_settings_path(runtime.loaded)


def _settings(runtime: Runtime, path: Path | None) -> WritebackSettings:
    return load_writeback_settings(_settings_path(runtime, path))


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
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        path = _settings_path(runtime, settings_path)
        settings = load_writeback_settings(path)
        with nullcontext() if dry_run else exclusive(runtime.engine, writeback_job_name(path)):
            result = run_configured_writeback(runtime, settings, dry_run=dry_run)
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
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        settings = _settings(runtime, settings_path)
        with runtime.connector(settings.connection, CallStats(), capability=Capability.RATING_SINK) as sink:
            report = reconcile(runtime.engine, sink, settings)
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
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        rows = load_rows(runtime.engine, status=status.value if status else None)
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
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        row = cancel(runtime.engine, key, reason=reason, now=utcnow())
    if json_output:
        _print(out, row.to_dict())
    else:
        out.print(Text(f"cancelled {row.idempotency_key}: {reason}", style="yellow"))
    raise typer.Exit(EXIT_OK)
