"""The `okrhub` command line: a thin layer of options over the command functions.

Exit codes: 0 done, 1 a run or command failed, 2 configuration error, 3 a guard stopped a run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from hub.cli.common import (
    EXIT_FAILED,
    ConfigOption,
    DatabaseOption,
    JsonOption,
    cli_runtime,
    errors_as_exit,
    open_cli_runtime,
)
from hub.cli.config_cmds import schema_command, validate_command
from hub.cli.metrics_cmds import mappings_plan_command, mappings_validate_command, sync_metrics_command
from hub.cli.okrs_cmds import (
    okrs_checkin_command,
    okrs_export_command,
    okrs_import_command,
    okrs_show_command,
)
from hub.cli.people_cmds import people_command
from hub.cli.ratings_cmds import (
    ratings_calibrate_command,
    ratings_distribution_command,
    ratings_import_command,
    ratings_show_command,
    ratings_transition_command,
)
from hub.cli.schedule_cmds import run_command, status_command
from hub.cli.store_cmds import db_current_command, db_upgrade_command, runs_list_command, runs_show_command
from hub.cli.sync_cmds import sync_org_command
from hub.cli.worker_cmds import register as register_worker_commands
from hub.cli.writeback_cmds import writeback_app
from hub.config.paths import default_config_path
from hub.errors import ConfigError, OkrHubError
from hub.jobs.kr_updates import KrUpdateOptions, load_mapping_set
from hub.jobs.org_sync import OrgSyncOptions
from hub.runtime import configure_logging

app = typer.Typer(
    name="okrhub",
    help="Keep an OKR platform in step with the HCM and the systems a company runs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Store schema: upgrade and inspect.", no_args_is_help=True)
sync_app = typer.Typer(help="Run a sync job now.", no_args_is_help=True)
runs_app = typer.Typer(help="The run ledger: what every job run did.", invoke_without_command=True)
app.add_typer(db_app, name="db")
app.add_typer(sync_app, name="sync")
app.add_typer(runs_app, name="runs")
okrs_app = typer.Typer(
    help="OKRs: import and export files, show the alignment tree, check in.", no_args_is_help=True
)
app.add_typer(okrs_app, name="okrs")
mappings_app = typer.Typer(help="Metric mappings: plan, validate and preview them.", no_args_is_help=True)
app.add_typer(mappings_app, name="mappings")
ratings_app = typer.Typer(
    help="Ratings: import, calibrate, distributions, finalize and reopen review cycles.",
    no_args_is_help=True,
)
app.add_typer(ratings_app, name="ratings")
app.add_typer(writeback_app, name="writeback")
register_worker_commands(app)


@app.callback()
def main(
    log_level: Annotated[
        str, typer.Option(help="Log level on stderr (secrets are always masked).")
    ] = "WARNING",
) -> None:
    """okrhub: org sync, automated key results and ratings write-back."""
    configure_logging(log_level)


@app.command()
def validate(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """Check the config file: every error with file, line, column and field."""
    raise typer.Exit(validate_command(config or default_config_path(), json_output))


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of the config file (for editor autocompletion)."""
    raise typer.Exit(schema_command(output))


@app.command()
def check(
    connection: Annotated[str | None, typer.Argument(help="Connection to check; all when omitted.")] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Prove each connection's credentials and permissions work."""
    from hub.http.stats import CallStats

    with errors_as_exit(json_output):
        runtime = open_cli_runtime(config)
    names = [connection] if connection else sorted(runtime.loaded.config.connections)
    results = []
    for name in names:
        try:
            with runtime.connector(name, CallStats()) as connector:
                outcome = connector.check()
            results.append({"connection": name, "ok": outcome.ok, "detail": outcome.detail})
        except OkrHubError as exc:
            results.append({"connection": name, "ok": False, "detail": exc.message})
    if json_output:
        Console().print_json(data=results)
    else:
        for row in results:
            mark = Text("ok  ", style="green") if row["ok"] else Text("FAIL", style="bold red")
            Console().print(mark, Text(f"{row['connection']}: {row['detail']}"))
    raise typer.Exit(0 if all(r["ok"] for r in results) else EXIT_FAILED)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Migrate the store to this version's schema (an empty store is migrated automatically)."""
    with errors_as_exit():
        raise typer.Exit(db_upgrade_command(database_url))


@db_app.command("current")
def db_current(database_url: DatabaseOption = None) -> None:
    """Show the store's schema revision."""
    with errors_as_exit():
        raise typer.Exit(db_current_command(database_url))


@sync_app.command("org")
def sync_org(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff; write nothing.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Read everyone, not just what changed.")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Apply even when a guard (mass deactivation, manager churn) trips."),
    ] = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Sync people, reporting lines and departments from the HCM."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = sync_org_command(
            runtime, OrgSyncOptions(dry_run=dry_run, full=full, force=force), json_output=json_output
        )
    raise typer.Exit(code)


MappingOption = Annotated[str | None, typer.Option("--mapping", "-m", help="Only this mapping (its id).")]


@sync_app.command("metrics")
def sync_metrics(
    mapping: MappingOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Query and show the values; write nothing.")
    ] = False,
    accept: Annotated[
        bool,
        typer.Option("--accept", help="Publish values held as suspect (no rows, or a jump past the factor)."),
    ] = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run the metric mappings once: query Salesforce, Jira and GA4, and check in what changed."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        mappings = load_mapping_set(runtime.loaded)
        options = KrUpdateOptions(mapping=mapping, dry_run=dry_run, accept=accept)
        code = sync_metrics_command(runtime, mappings, options, json_output=json_output)
    raise typer.Exit(code)


@mappings_app.command("plan")
def mappings_plan(
    config: ConfigOption = None, database_url: DatabaseOption = None, json_output: JsonOption = False
) -> None:
    """Print the query plan: the coalesced requests, and API calls before and after coalescing."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = mappings_plan_command(runtime, load_mapping_set(runtime.loaded), json_output=json_output)
    raise typer.Exit(code)


@mappings_app.command("validate")
def mappings_validate(
    preview: Annotated[
        bool, typer.Option("--preview/--no-preview", help="Also run each query once (vendor API calls).")
    ] = True,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check the mappings: file:line errors, key results, owners' identities, queries the vendor refuses."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        mappings = load_mapping_set(runtime.loaded)
        code = mappings_validate_command(runtime, mappings, preview=preview, json_output=json_output)
    raise typer.Exit(code)


@mappings_app.command("preview")
def mappings_preview(
    mapping_id: Annotated[str, typer.Argument(help="The mapping's id.")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run one mapping's queries and show the value per key result; writes nothing."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        mappings = load_mapping_set(runtime.loaded)
        if mapping_id not in mappings.ids:
            raise ConfigError(
                f"no mapping `{mapping_id}`; mappings: {', '.join(sorted(mappings.ids)) or 'none'}"
            )
        options = KrUpdateOptions(mapping=mapping_id, dry_run=True)
        code = sync_metrics_command(runtime, mappings, options, json_output=json_output)
    raise typer.Exit(code)


@runs_app.callback()
def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    job: Annotated[str | None, typer.Option(help="Only this job (org_sync, ...).")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only runs that ended so (failed, guarded, ...).")
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """List recent runs, newest first (`okrhub runs show ID` for one)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = (config, database_url)
        return
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = runs_list_command(runtime.engine, limit=limit, job=job, status=status, json_output=json_output)
    raise typer.Exit(code)


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="The run's id, from `okrhub runs`.")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show one run with its counts, error and rejected records."""
    parent_config, parent_url = ctx.obj or (None, None)
    config, database_url = config or parent_config, database_url or parent_url
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = runs_show_command(runtime.engine, run_id, json_output=json_output)
    raise typer.Exit(code)


@app.command()
def status(
    config: ConfigOption = None, database_url: DatabaseOption = None, json_output: JsonOption = False
) -> None:
    """Every scheduled job: its schedule, next run, last outcome and last success."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = status_command(runtime, json_output=json_output)
    raise typer.Exit(code)


@app.command("run")
def run_scheduler(
    job: Annotated[
        str | None, typer.Option("--job", help="Run this one job now and exit (names: `okrhub status`).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", min=1, max=65535, help="Serve Prometheus metrics on this port."),
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Embedded scheduler: run every job on its schedule in this process until SIGTERM (no broker)."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = run_command(runtime, job_name=job, json_output=json_output, metrics_port=metrics_port)
    raise typer.Exit(code)


@app.command()
def people(
    status: Annotated[str, typer.Option(help="active, inactive, terminated or all.")] = "active",
    flagged: Annotated[bool, typer.Option("--flagged", help="Only people with a manager flag.")] = False,
    search: Annotated[str | None, typer.Option(help="Name, email or employee id.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (0 for all).")] = 50,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """List people with manager, department, status, flags and their identities in each system."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = people_command(
            runtime.engine,
            status=status,
            flagged=flagged,
            search=search,
            limit=limit,
            json_output=json_output,
        )
    raise typer.Exit(code)


class OkrFileFormat(StrEnum):
    """Formats an OKR file comes in."""

    YAML = "yaml"
    CSV = "csv"


CycleOption = Annotated[
    str | None, typer.Option("--cycle", help="Only this cycle (by key) and its sub-cycles.")
]


@okrs_app.command("import")
def okrs_import(
    file: Annotated[Path, typer.Argument(help="The OKR file: YAML (nested) or CSV (one key result a row).")],
    format_name: Annotated[
        OkrFileFormat | None, typer.Option("--format", help="File format (default: from the suffix).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and count; write nothing.")] = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Import cycles, objectives, key results and check-ins: all or nothing, by key, never deleting."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = okrs_import_command(
            runtime.engine,
            file,
            format_name=format_name.value if format_name else None,
            dry_run=dry_run,
            json_output=json_output,
        )
    raise typer.Exit(code)


@okrs_app.command("export")
def okrs_export(
    format_name: Annotated[OkrFileFormat, typer.Option("--format", help="yaml or csv.")] = OkrFileFormat.YAML,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    cycle: CycleOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Write the stored OKRs in the format `okrs import` reads (YAML carries check-in history)."""
    with errors_as_exit(), cli_runtime(config, database_url) as runtime:
        code = okrs_export_command(runtime.engine, format_name=format_name.value, output=output, cycle=cycle)
    raise typer.Exit(code)


@okrs_app.command("show")
def okrs_show(
    cycle: CycleOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="Day to measure progress against (default: today)."
        ),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="Employee id or email: that person's progress and what they own."),
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the alignment tree: progress, status colours, owners, last check-ins and stale key results."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = okrs_show_command(
            runtime.engine,
            as_of=as_of.date() if as_of else None,
            cycle=cycle,
            owner=owner,
            json_output=json_output,
        )
    raise typer.Exit(code)


@okrs_app.command("checkin")
def okrs_checkin(
    key_result: Annotated[str, typer.Argument(help="The key result's key.")],
    value: Annotated[float, typer.Argument(help="The new value (1 or 0 for done / not done).")],
    note: Annotated[str | None, typer.Option("--note", help="What happened.")] = None,
    confidence: Annotated[
        int | None, typer.Option("--confidence", min=0, max=10, help="0 (no chance) to 10 (certain).")
    ] = None,
    as_person: Annotated[
        str | None,
        typer.Option(
            "--as", help="Employee id or email of who checks in (default: $OKRHUB_CHECK_IN_AS, else `admin`)."
        ),
    ] = None,
    at: Annotated[
        datetime | None,
        typer.Option("--at", help="When the value held, in UTC (default: now)."),
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Record a check-in by hand; exit 1 with the reason when the key result cannot take one."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = okrs_checkin_command(
            runtime.engine,
            key_result,
            value,
            note=note,
            confidence=confidence,
            as_person=as_person,
            at=_aware(at),
            json_output=json_output,
        )
    raise typer.Exit(code)


class RatingsGroupBy(StrEnum):
    """How `okrhub ratings distribution` groups ratings."""

    MANAGER = "manager"
    DEPARTMENT = "department"
    LEVEL = "level"


ReviewCycleOption = Annotated[
    str | None, typer.Option("--cycle", help="Review cycle key (default: the latest imported).")
]
ByPersonOption = Annotated[str, typer.Option("--by", help="Employee id (or email) of who acts.")]


@ratings_app.command("import")
def ratings_import(
    file: Annotated[Path, typer.Argument(help="Ratings file: YAML (cycle definition + ratings) or CSV.")],
    format_name: Annotated[
        OkrFileFormat | None, typer.Option("--format", help="File format (default: from the suffix).")
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Import a review cycle and managers' ratings: all or nothing, idempotent; refused once finalized."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = ratings_import_command(
            runtime.engine,
            file,
            format_name=format_name.value if format_name else None,
            json_output=json_output,
        )
    raise typer.Exit(code)


@ratings_app.command("calibrate")
def ratings_calibrate(
    person: Annotated[str, typer.Argument(help="Employee id or email of the person rated.")],
    new_rating: Annotated[int, typer.Argument(help="The calibrated rating (a value of the scale).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the rating changes (recorded).")],
    by: ByPersonOption,
    level: Annotated[
        str | None,
        typer.Option("--level", help="Calibration level (default: the level --by holds over the person)."),
    ] = None,
    cycle: ReviewCycleOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Calibrate a rating; the change is recorded with previous and new value, level, who and why."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = ratings_calibrate_command(
            runtime.engine,
            person,
            new_rating,
            reason=reason,
            by=by,
            level=level,
            cycle=cycle,
            json_output=json_output,
        )
    raise typer.Exit(code)


@ratings_app.command("distribution")
def ratings_distribution(
    cycle: ReviewCycleOption = None,
    by: Annotated[
        RatingsGroupBy, typer.Option("--by", help="Group by manager, department or calibration level.")
    ] = RatingsGroupBy.MANAGER,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the rating distribution per group against the guideline, flagging deviations."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = ratings_distribution_command(runtime.engine, cycle=cycle, by=by.value, json_output=json_output)
    raise typer.Exit(code)


@ratings_app.command("finalize")
def ratings_finalize(
    by: ByPersonOption,
    cycle: ReviewCycleOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Finalize a review cycle: lock its ratings and make them eligible for write-back."""
    _ratings_transition("finalize", by, cycle, None, config, database_url, json_output)


@ratings_app.command("reopen")
def ratings_reopen(
    reason: Annotated[str, typer.Option("--reason", help="Why the cycle is reopened (recorded).")],
    by: ByPersonOption,
    cycle: ReviewCycleOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Reopen a finalized review cycle so calibration can resume; the reason is recorded."""
    _ratings_transition("reopen", by, cycle, reason, config, database_url, json_output)


@ratings_app.command("show")
def ratings_show(
    cycle: ReviewCycleOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Day of the OKR progress (default: today)."),
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """List manager and calibrated ratings, adjustments, 9-box and OKR progress per person."""
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = ratings_show_command(
            runtime.engine, cycle=cycle, as_of=as_of.date() if as_of else None, json_output=json_output
        )
    raise typer.Exit(code)


def _ratings_transition(
    action: str,
    by: str,
    cycle: str | None,
    reason: str | None,
    config: Path | None,
    database_url: str | None,
    json_output: bool,
) -> None:
    with errors_as_exit(json_output), cli_runtime(config, database_url) as runtime:
        code = ratings_transition_command(
            runtime.engine, action, by=by, cycle=cycle, reason=reason, json_output=json_output
        )
    raise typer.Exit(code)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.utcoffset() is not None:
        return moment
    return moment.replace(tzinfo=UTC)


if __name__ == "__main__":  # pragma: no cover
    app()
