"""`okrhub sync org`: run the org sync with a progress display and print what it did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from hub.cli.common import EXIT_FAILED, EXIT_GUARDED, EXIT_OK
from hub.jobs.org_sync import OrgSyncOptions, OrgSyncResult, run_configured_org_sync
from hub.jobs.org_sync.preview import PersonChange
from hub.jobs.org_sync.run import JOB as ORG_SYNC_JOB
from hub.runtime import Runtime
from hub.scheduling.locks import exclusive


def sync_org_command(
    runtime: Runtime, options: OrgSyncOptions, *, json_output: bool, console: Console | None = None
) -> int:
    """Run one org sync and report it; the exit code says how it ended (3 when a guard stopped it)."""
    out = console or Console()
    lease = nullcontext() if options.dry_run else exclusive(runtime.engine, ORG_SYNC_JOB)
    with lease, _progress(out, enabled=not json_output) as on_progress:
        result = run_configured_org_sync(runtime, options, on_progress=on_progress)
    if json_output:
        out.print_json(json.dumps(result.to_dict()))
    else:
        render_result(out, result)
    if result.status == "guarded":
        return EXIT_GUARDED
    return EXIT_OK if result.error is None else EXIT_FAILED


@contextmanager
def _progress(console: Console, *, enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("reading people"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed:,} read"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        task = progress.add_task("sync", total=None)
        yield lambda count: progress.update(task, completed=count)


def render_result(out: Console, result: OrgSyncResult) -> None:
    """The summary table, the changes (a sample), and the error if any."""
    dry = " · DRY RUN, nothing written" if result.dry_run else ""
    title = f"org sync run {result.run_id} · {result.mode}{dry}"
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for name in (
        "read",
        "created",
        "updated",
        "reactivated",
        "unchanged",
        "deactivated",
        "terminated",
        "rejected",
    ):
        table.add_row(name, f"{result.counts.get(name, 0):,}")
    for name in ("manager_missing", "manager_inactive", "manager_cycles"):
        if result.counts.get(name):
            table.add_row(Text(name.replace("_", " "), style="yellow"), f"{result.counts[name]:,}")
    for name in ("departments_created", "departments_updated", "departments_deactivated"):
        if result.counts.get(name):
            table.add_row(name.replace("_", " "), f"{result.counts[name]:,}")
    table.add_row("api calls", f"{result.api_calls:,} ({result.retries} retries)")
    table.add_row("duration", f"{result.duration_seconds:.2f}s")
    out.print(table)
    preview = result.preview
    if result.dry_run or result.error is not None:
        _changes(
            out,
            "would be created" if result.dry_run else "created",
            preview.created,
            result.counts,
            "created",
        )
        _changes(out, "would be updated", preview.updated, result.counts, "updated")
        _changes(out, "would be reactivated", preview.reactivated, result.counts, "reactivated")
        _changes(out, "would be deactivated", preview.deactivated, result.counts, "deactivated")
    if preview.rejected:
        rejected = Table(title=f"rejected ({result.counts.get('rejected', 0)})", title_justify="left")
        rejected.add_column("record")
        rejected.add_column("reason")
        for row in preview.rejected:
            rejected.add_row(row["record_key"], Text(row["reason"]))
        out.print(rejected)
    for cycle in preview.cycles:
        out.print(
            Text(f"manager cycle (synced without managers): {' → '.join([*cycle, cycle[0]])}", style="yellow")
        )
    if result.error is not None:
        style = "yellow" if result.status == "guarded" else "bold red"
        out.print(Text(f"{result.status}: {result.error.message}", style=style), soft_wrap=True)
    else:
        out.print(
            Text(f"{result.status}. See `okrhub runs show {result.run_id}` for the record.", style="green")
        )


def _changes(out: Console, title: str, items: list[PersonChange], counts: dict[str, int], key: str) -> None:
    if not items:
        return
    total = counts.get(key, len(items))
    table = Table(
        title=f"{title} ({total:,}{', first ' + str(len(items)) if total > len(items) else ''})",
        title_justify="left",
    )
    table.add_column("employee id")
    table.add_column("name")
    if key == "updated":
        table.add_column("fields")
    for item in items:
        row: list[str | Text] = [item.employee_id, Text(item.name or "-")]
        if key == "updated":
            row.append(Text(", ".join(item.fields)))
        table.add_row(*row)
    out.print(table)
