"""The `okrhub db ...` and `okrhub runs ...` commands, as plain functions the Typer app wires up.

Each returns the process exit code and prints to the `Console` it is given (tests pass one
writing to a `StringIO`). Store failures are raised as `StoreError` for the app to report.

Example:
    ```python
    @db_app.command("upgrade")
    def upgrade(url: str | None = None) -> None:
        raise typer.Exit(db_upgrade_command(url))
    ```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from hub.store.engine import create_store_engine, mask_url, resolve_database_url
from hub.store.ledger import RunDetail, RunLedger, RunSummary
from hub.store.migrate import current_revision, head_revision, upgrade

STATUS_STYLES: Mapping[str, str] = {
    "running": "cyan",
    "succeeded": "green",
    "failed": "bold red",
    "guarded": "yellow",
    "skipped": "dim",
}
"""How each run status is coloured."""

_COUNT_ORDER = ("read", "created", "updated", "reactivated", "deactivated", "unchanged", "rejected")


def db_upgrade_command(url: str | None, *, console: Console | None = None) -> int:
    """Migrate the store to this okrhub's schema and say from which revision to which.

    Args:
        url: The config's store URL (`OKRHUB_DATABASE_URL` wins; local SQLite when both are absent).
        console: Where to print; stdout when None.

    Returns:
        0.

    Raises:
        StoreError: The store is unreachable or a migration failed.
    """
    out = console or Console()
    engine = create_store_engine(resolve_database_url(url))
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    where = mask_url(engine.url)
    if before == after:
        out.print(Text(f"store {where} is already at {after} (head); nothing to do"))
    else:
        out.print(Text(f"store {where} upgraded from {before or 'empty'} to {after}", style="green"))
    return 0


def db_current_command(url: str | None, *, console: Console | None = None) -> int:
    """Print the store's schema revision next to the one this okrhub needs.

    Returns:
        0 when the store is at head, 1 when it is empty, behind or ahead (so scripts can check).

    Raises:
        StoreError: The store is unreachable.
    """
    out = console or Console()
    engine = create_store_engine(resolve_database_url(url))
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    where = mask_url(engine.url)
    if current == head:
        out.print(Text(f"store {where}: revision {current} (head)", style="green"))
        return 0
    if current is None:
        advice = "empty; it is created on first use, or run `okrhub db upgrade`"
    else:
        advice = f"this okrhub needs {head}; run `okrhub db upgrade`"
    out.print(Text(f"store {where}: revision {current or 'none'}, {advice}", style="yellow"))
    return 1


def runs_list_command(
    engine: Engine,
    *,
    limit: int = 20,
    job: str | None = None,
    status: str | None = None,
    json_output: bool = False,
    console: Console | None = None,
) -> int:
    """List the latest runs, newest first, as a table or (`json_output`) a JSON list.

    Returns:
        0.
    """
    out = console or Console()
    runs = RunLedger(engine).recent(limit=limit, job=job, status=status)
    if json_output:
        _print_json(out, [run.to_dict() for run in runs])
        return 0
    if not runs:
        out.print(Text("no runs recorded yet" if job is None else f"no runs of {job} recorded", style="dim"))
        return 0
    table = Table(title="runs", title_justify="left")
    table.add_column("id", justify="right")
    table.add_column("job")
    table.add_column("connection")
    table.add_column("status")
    table.add_column("started (UTC)")
    table.add_column("duration", justify="right")
    table.add_column("counts")
    table.add_column("api calls", justify="right")
    table.add_column("retries", justify="right")
    for run in runs:
        table.add_row(
            str(run.id),
            Text(run.job),
            Text(run.connection or "-"),
            status_text(run),
            format_time(run.started_at),
            format_duration(run.duration_ms),
            Text(format_counts(run.counts)),
            str(run.api_calls),
            str(run.retries),
        )
    out.print(table)
    return 0


def runs_show_command(
    engine: Engine,
    run_id: int,
    *,
    json_output: bool = False,
    rejections_limit: int = 50,
    console: Console | None = None,
) -> int:
    """Show one run: a panel with its outcome and error, and a table of its rejected records.

    `json_output` prints everything as one JSON object, every rejected record included.

    Returns:
        0.

    Raises:
        StoreError: No run has that id.
    """
    out = console or Console()
    ledger = RunLedger(engine)
    if json_output:
        _print_json(out, ledger.get(run_id).to_dict())
        return 0
    run = ledger.get(run_id, rejections_limit=rejections_limit)
    out.print(Panel(_run_grid(run), title=f"run {run.id} · {run.job}", title_align="left", expand=False))
    if run.rejection_count:
        table = Table(title=f"rejected records ({run.rejection_count})", title_justify="left")
        table.add_column("record key")
        table.add_column("reason")
        for rejection in run.rejections:
            table.add_row(Text(rejection.record_key), Text(rejection.reason))
        if run.rejection_count > len(run.rejections):
            table.caption = f"first {len(run.rejections)} of {run.rejection_count}; --json shows all"
        out.print(table)
    return 0


def status_text(run: RunSummary) -> Text:
    """The run's status, coloured, with a dry-run mark."""
    label = run.status + (" (dry run)" if run.dry_run else "")
    return Text(label, style=STATUS_STYLES.get(run.status, ""))


def format_counts(counts: Mapping[str, int]) -> str:
    """Non-zero counts in a compact line, e.g. `created 12 · updated 3`; `-` when there are none."""
    ordered = [name for name in _COUNT_ORDER if name in counts]
    ordered += sorted(name for name in counts if name not in _COUNT_ORDER)
    parts = [f"{name} {counts[name]}" for name in ordered if counts[name]]
    return " · ".join(parts) if parts else "-"


def format_duration(duration_ms: int | None) -> str:
    """A duration for humans: `850 ms`, `12.3 s`, `3 m 04 s`, `2 h 05 m`; `-` when unknown."""
    if duration_ms is None:
        return "-"
    if duration_ms < 1000:
        return f"{duration_ms} ms"
    seconds = duration_ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


def format_time(moment: datetime | None) -> str:
    """A UTC time as `YYYY-MM-DD HH:MM:SS`; `-` when absent."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _run_grid(run: RunDetail) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows: list[tuple[str, str | Text]] = [
        ("job", run.job),
        ("connection", run.connection or "-"),
        ("status", status_text(run)),
        ("trigger", run.trigger),
        ("started", f"{format_time(run.started_at)} UTC"),
        ("finished", f"{format_time(run.finished_at)} UTC" if run.finished_at else "-"),
        ("duration", format_duration(run.duration_ms)),
        ("counts", format_counts(run.counts)),
        ("api calls", f"{run.api_calls} ({run.retries} retries)"),
        ("rejected", str(run.rejection_count)),
        ("process", f"pid {run.pid} on {run.host}" if run.pid is not None else "-"),
    ]
    if run.summary:
        rows.append(("summary", run.summary))
    for name, value in rows:
        grid.add_row(name, value if isinstance(value, Text) else Text(value))
    if not run.error:
        return grid
    return Group(grid, Text(""), _error_text(run.error))


def _error_text(error: Mapping[str, Any]) -> Text:
    text = Text()
    text.append(f"{error.get('type', 'error')}: ", style="bold red")
    text.append(str(error.get("message", "")))
    for name, value in error.items():
        if name not in {"type", "message"} and value is not None:
            text.append(f"\n  {name}: {value}", style="dim")
    return text


def _print_json(console: Console, data: Any) -> None:
    console.out(json.dumps(data, indent=2, ensure_ascii=False), highlight=False)
