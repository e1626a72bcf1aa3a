"""`okrhub ratings ...`: import ratings, calibrate, show distributions, finalize and reopen.

Each command is a plain function returning the exit code and printing to the `Console` it is
given. A bad ratings file raises `ConfigErrors` (file:line and field) for the app to report with
exit code 2; a refusal from the rules (finalized cycle, adjuster outside the management chain,
off-scale value) prints okr_core's reason and returns 1.

Example:
    ```python
    @ratings_app.command("show")
    def show(...) -> None:
        raise typer.Exit(ratings_show_command(runtime.engine, cycle=None, json_output=False))
    ```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from hub.cli.common import EXIT_FAILED, EXIT_OK
from hub.ratings.document import read_ratings_file
from hub.ratings.importing import KINDS, import_ratings
from hub.ratings.service import calibrate_rating, finalize_cycle, reopen_cycle
from hub.ratings.views import GroupBy, distribution_report, ratings_overview
from okr_core.errors import OkrError

_BAR_WIDTH = 30


def ratings_import_command(
    engine: Engine,
    path: Path,
    *,
    format_name: str | None = None,
    json_output: bool = False,
    console: Console | None = None,
) -> int:
    """Import a ratings file (all or nothing) and print what was created, updated and left unchanged.

    Raises:
        ConfigErrors: The file has problems; nothing was stored.
    """
    out = console or Console()
    try:
        result = import_ratings(engine, read_ratings_file(path, format_name=format_name))
    except OkrError as exc:
        return _refused(out, exc, json_output=json_output)
    if json_output:
        out.print_json(json.dumps({"ok": True, **result.to_dict()}))
        return EXIT_OK
    out.print(Text(f"ratings import of {result.source} into {result.review_cycle}", style="bold"))
    for kind in KINDS:
        counts = result.counts[kind]
        line = Text(f"  {kind.replace('_', ' '):<14}")
        line.append(f"{counts['created']:>4} created", style="green" if counts["created"] else "dim")
        line.append(f"{counts['updated']:>5} updated", style="yellow" if counts["updated"] else "dim")
        line.append(f"{counts['unchanged']:>5} unchanged", style="dim")
        out.print(line)
    if not result.changed:
        out.print(Text("the store already matched the file", style="dim"))
    return EXIT_OK


def ratings_calibrate_command(
    engine: Engine,
    person: str,
    new_rating: int,
    *,
    reason: str,
    by: str,
    level: str | None = None,
    cycle: str | None = None,
    json_output: bool = False,
    console: Console | None = None,
) -> int:
    """Calibrate one person's rating and print it before and after."""
    out = console or Console()
    try:
        result = calibrate_rating(
            engine, employee=person, new_value=new_rating, by=by, rationale=reason, level=level, cycle=cycle
        )
    except OkrError as exc:
        return _refused(out, exc, json_output=json_output)
    data = result.to_dict()
    if json_output:
        out.print_json(json.dumps({"ok": True, **data}))
        return EXIT_OK
    line = Text(f"{data['employee_id']} in {data['review_cycle']}: ", style="bold")
    line.append(f"{data['before']['value']} {data['before']['label']}", style="dim")
    line.append(" → ")
    line.append(f"{data['after']['value']} {data['after']['label']}", style="bold cyan")
    out.print(line)
    out.print(
        Text(
            f"  level {data['level']} · by {data['by']} · manager's rating {data['manager_rating']} "
            f"· why: {data['rationale']}",
            style="dim",
        ),
        soft_wrap=True,
    )
    return EXIT_OK


def ratings_distribution_command(
    engine: Engine,
    *,
    cycle: str | None = None,
    by: GroupBy = "manager",
    json_output: bool = False,
    console: Console | None = None,
) -> int:
    """Print the distribution per group as bars, with the guideline and flagged deviations."""
    out = console or Console()
    try:
        report = distribution_report(engine, cycle=cycle, by=by)
    except OkrError as exc:
        return _refused(out, exc, json_output=json_output)
    if json_output:
        out.print_json(json.dumps({"ok": True, **report}))
        return EXIT_OK
    tolerance = round(report["tolerance"] * 100)
    out.print(
        Text(
            f"rating distribution of {report['review_cycle']} ({report['state']}) by {by}; "
            f"▲▼ flag a share more than {tolerance} points off the guideline",
            style="bold",
        ),
        soft_wrap=True,
    )
    _print_group(out, "overall", report["overall"])
    for group in report["groups"]:
        title = group["key"] if group["name"] == group["key"] else f"{group['name']} ({group['key']})"
        _print_group(out, title, group)
    return EXIT_OK


def ratings_transition_command(
    engine: Engine,
    action: str,
    *,
    by: str,
    cycle: str | None = None,
    reason: str | None = None,
    json_output: bool = False,
    console: Console | None = None,
) -> int:
    """Finalize or reopen a review cycle and print the recorded event."""
    out = console or Console()
    try:
        if action == "finalize":
            event = finalize_cycle(engine, by=by, cycle=cycle, reason=reason)
        else:
            event = reopen_cycle(engine, by=by, cycle=cycle, reason=reason or "")
    except OkrError as exc:
        return _refused(out, exc, json_output=json_output)
    if json_output:
        out.print_json(json.dumps({"ok": True, **event.to_dict()}))
        return EXIT_OK
    done = "finalized: ratings locked and eligible for write-back" if action == "finalize" else "reopened"
    out.print(Text(f"review cycle {event.review_cycle} {done}", style="bold"))
    why = f" · why: {event.reason}" if event.reason else ""
    out.print(Text(f"  by {event.by} at {event.at.isoformat(timespec='seconds')}{why}", style="dim"))
    return EXIT_OK


def ratings_show_command(
    engine: Engine,
    *,
    cycle: str | None = None,
    as_of: date | None = None,
    json_output: bool = False,
    console: Console | None = None,
) -> int:
    """Print each person's manager and calibrated rating, adjustments, 9-box and OKR progress."""
    out = console or Console()
    try:
        view = ratings_overview(engine, cycle=cycle, as_of=as_of)
    except OkrError as exc:
        return _refused(out, exc, json_output=json_output)
    if json_output:
        out.print_json(json.dumps({"ok": True, **view}))
        return EXIT_OK
    levels = " → ".join(view["levels"])
    table = Table(title=f"{view['name']} ({view['review_cycle']}, {view['state']}) · levels {levels}")
    for column in ("person", "manager", "calibrated", "adj.", "9-box", f"OKRs {view['okr_cycle'] or ''}"):
        table.add_column(column.strip())
    for person in view["people"]:
        moved = person["manager_rating"]["value"] != person["calibrated_rating"]["value"]
        box = person["nine_box"]
        progress = person["okr_progress"]
        table.add_row(
            f"{person['name']} ({person['employee_id']})",
            _rating(person["manager_rating"]),
            Text(_rating(person["calibrated_rating"]), style="bold cyan" if moved else ""),
            str(person["adjustments"] or ""),
            f"{box['box']} {box['name']}" if box else "",
            "" if progress is None else f"{progress:.0%}",
        )
    out.print(table)
    if view["okr_note"]:
        out.print(Text(f"OKR progress: {view['okr_note']}", style="dim"))
    return EXIT_OK


def _print_group(out: Console, title: str, group: Mapping[str, Any]) -> None:
    flagged = " · off guideline" if group["flagged"] else ""
    out.print(Text(f"\n{title} · {group['total']} rated{flagged}", style="bold red" if flagged else "bold"))
    for bucket in group["buckets"]:
        filled = round(bucket["share"] * _BAR_WIDTH)
        line = Text(f"  {bucket['value']:>2} {bucket['label']:<18.18}")
        line.append("█" * filled, style="red" if bucket["flagged"] else "cyan")
        line.append("░" * (_BAR_WIDTH - filled), style="dim")
        line.append(f" {bucket['share']:>4.0%} ({bucket['count']})")
        if bucket["guideline"] is not None:
            line.append(f"  guideline {bucket['guideline']:.0%}", style="dim")
        if bucket["flagged"]:
            arrow = "▲" if bucket["deviation"] > 0 else "▼"
            line.append(f"  {arrow} {bucket['deviation'] * 100:+.0f} pts", style="bold red")
        out.print(line)


def _rating(rating: Mapping[str, Any]) -> str:
    return f"{rating['value']} {rating['label']}"


def _refused(out: Console, exc: OkrError, *, json_output: bool) -> int:
    if json_output:
        out.print_json(json.dumps({"ok": False, "error": exc.attrs()}, default=str))
    else:
        Console(stderr=True).print(Text(f"error: {exc}", style="bold red"), soft_wrap=True)
    return EXIT_FAILED
