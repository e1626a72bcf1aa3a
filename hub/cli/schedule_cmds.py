"""`okrhub status` and `okrhub run`: the schedule's state, and the embedded scheduler.

`okrhub run` runs every enabled job on its schedule in this process (SQLite is enough, no broker);
`okrhub run --job NAME` runs one job now, under the same lease, and exits. The first SIGTERM or
Ctrl-C lets the job in progress finish, then stops; a second one abandons it (its transaction
rolls back and the ledger says so).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub.cli.common import EXIT_FAILED, EXIT_OK
from hub.runtime import Runtime
from hub.scheduling.catalogue import load_catalogue
from hub.scheduling.embedded import EmbeddedScheduler
from hub.scheduling.locks import StoreLeases
from hub.scheduling.metrics import serve_ledger_metrics
from hub.scheduling.runner import JobReport, run_job
from hub.scheduling.status import JobStatus, job_status
from hub.store.models import RunTrigger, utcnow

STATUS_STYLE = {"succeeded": "green", "failed": "bold red", "guarded": "yellow", "skipped": "dim"}


def status_command(runtime: Runtime, *, json_output: bool, now: datetime | None = None) -> int:
    """Print every scheduled job's next run and last outcome."""
    now = now or utcnow()
    rows = job_status(runtime.engine, load_catalogue(runtime.loaded), now=now)
    out = Console()
    if json_output:
        out.print_json(json.dumps({"now": now.isoformat(), "jobs": [row.to_dict() for row in rows]}))
        return EXIT_OK
    if not rows:
        out.print("No scheduled jobs: add an `org_sync` section, mappings, or a write-back `schedule`.")
        return EXIT_OK
    table = Table(title=f"scheduled jobs · {now:%Y-%m-%d %H:%M} UTC", title_justify="left")
    for column in ("job", "schedule", "next run (UTC)", "last outcome", "last success", "summary"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.job,
            f"{row.cron} {row.timezone}" + ("" if row.enabled else " (disabled)"),
            _when(row.next_run_at) if row.enabled else "-",
            _outcome(row),
            _when(row.last_success_at),
            row.last_summary or "",
        )
    out.print(table)
    return EXIT_OK


def run_command(
    runtime: Runtime, *, job_name: str | None, json_output: bool, metrics_port: int | None = None
) -> int:
    """Run one job now (`job_name`), or every job on its schedule until SIGTERM, serving metrics."""
    catalogue = load_catalogue(runtime.loaded)
    out = Console()
    if job_name is not None:
        report = run_job(
            runtime,
            catalogue.get(job_name),
            trigger=RunTrigger.CLI.value,
            locks=[StoreLeases(runtime.engine)],
        )
        _print_report(out, report, json_output)
        return EXIT_OK if report.status in ("succeeded", "skipped") else EXIT_FAILED
    if metrics_port is not None:
        serve_ledger_metrics(runtime.engine.url.render_as_string(hide_password=False), metrics_port)
    scheduler = EmbeddedScheduler(
        runtime, catalogue, on_report=lambda report: _print_report(out, report, json_output)
    )
    with _stop_on_signals(scheduler, out, quiet=json_output):
        if not json_output:
            _print_schedule(out, scheduler)
        scheduler.run()
    return EXIT_OK


@contextmanager
def _stop_on_signals(scheduler: EmbeddedScheduler, out: Console, *, quiet: bool) -> Iterator[None]:
    """First SIGTERM/SIGINT: stop after the current job. Second: abandon it (KeyboardInterrupt)."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        if scheduler.stopping:
            raise KeyboardInterrupt
        if not quiet:
            out.print(f"{signal.Signals(signum).name}: stopping after the current job (again to abandon it)")
        scheduler.stop()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_schedule(out: Console, scheduler: EmbeddedScheduler) -> None:
    table = Table(title="okrhub run: embedded scheduler (SIGTERM or Ctrl-C stops it)", title_justify="left")
    table.add_column("job")
    table.add_column("next run (UTC)")
    for name, at in sorted(scheduler.next_runs(utcnow()).items(), key=lambda item: item[1]):
        table.add_row(name, _when(at))
    out.print(table)


def _print_report(out: Console, report: JobReport, json_output: bool) -> None:
    if json_output:
        out.print_json(json.dumps(report.to_dict(), default=str))
        return
    style = STATUS_STYLE.get(report.status, "")
    run = f"run {report.run_id}" if report.run_id is not None else "no run"
    line = Text(f"{utcnow():%H:%M:%S} {report.job}: ")
    line.append(report.status, style=style)
    line.append(
        f" ({run}, {report.duration_seconds:.1f} s, {report.api_calls} API calls) {report.summary or ''}"
    )
    out.print(line, soft_wrap=True)


def _outcome(row: JobStatus) -> Text:
    if row.running:
        return Text(f"running on {row.running_on}", style="cyan")
    if row.last_status is None:
        return Text("never ran", style="dim")
    text = Text(row.last_status, style=STATUS_STYLE.get(row.last_status, ""))
    text.append(f" {_when(row.last_finished_at)} (run {row.last_run_id})")
    return text


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at is not None else "-"
