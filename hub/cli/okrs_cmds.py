"""`okrhub okrs ...`: import and export OKR files, show the alignment tree, check in by hand.

Each command is a plain function returning the exit code and printing to the `Console` it is
given. A bad import file raises `ConfigErrors` (every problem with file:line and field) for the
app to report with exit code 2; a refused check-in prints okr_core's reason and returns 1.

A manual check-in is made by the person named with `--as` (employee id or email), else by the
person in `$OKRHUB_CHECK_IN_AS`, else by the built-in `admin` author, which history marks as
such (`$USER` is never guessed: a login name is not an employee).

Example:
    ```python
    @okrs_app.command("show")
    def show(...) -> None:
        raise typer.Exit(okrs_show_command(runtime.engine, as_of=date.today(), json_output=False))
    ```
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text
from rich.tree import Tree
from sqlalchemy import Engine

from hub.cli.common import EXIT_FAILED, EXIT_OK
from hub.okrs.checkins import record_check_in
from hub.okrs.export import export_document, render
from hub.okrs.importing import import_okrs
from hub.okrs.people import ref_key, resolve_people
from hub.okrs.records import AdminAuthor, Author
from hub.okrs.repository import reading
from hub.okrs.source import read_okr_file
from hub.okrs.view import build_view
from okr_core.checkins import PersonAuthor
from okr_core.errors import OkrError, UnknownReference

CHECK_IN_AS_ENV = "OKRHUB_CHECK_IN_AS"
"""Employee id or email of the default author of manual check-ins (else the `admin` author)."""

COLOUR_STYLES: Mapping[str, str] = {"green": "green", "yellow": "yellow", "red": "bold red"}
_BAR_WIDTH = 12
_LISTED = 30
_ARROWS = {
    "increase_to": "↑",
    "decrease_to": "↓",
    "stay_above": "≥",
    "stay_below": "≤",
    "achieved_or_not": "",
}


def okrs_import_command(
    engine: Engine,
    path: Path,
    *,
    format_name: str | None = None,
    dry_run: bool = False,
    json_output: bool = False,
    console: Console | None = None,
) -> int:
    """Import an OKR file (all or nothing) and print what was created, updated and left unchanged.

    Raises:
        ConfigErrors: The file has problems; nothing was stored.
    """
    out = console or Console()
    result = import_okrs(engine, read_okr_file(path, format_name=format_name), dry_run=dry_run)
    if json_output:
        out.print_json(json.dumps({"ok": True, **result.to_dict()}))
        return EXIT_OK
    dry = " · DRY RUN, nothing written" if dry_run else ""
    out.print(Text(f"okr import of {result.source}{dry}", style="bold"), soft_wrap=True)
    for kind in ("cycles", "objectives", "key_results", "check_ins"):
        counts = result.counts[kind]
        line = Text(f"  {kind.replace('_', ' '):<12}")
        line.append(f"{counts['created']:>4} created", style="green" if counts["created"] else "dim")
        line.append(f"{counts['updated']:>5} updated", style="yellow" if counts["updated"] else "dim")
        line.append(f"{counts['unchanged']:>5} unchanged", style="dim")
        out.print(line)
    grouped: dict[tuple[str, str], list[str]] = {}
    for kind, key, action in result.changes:
        grouped.setdefault((action, kind), []).append(key)
    for (action, kind), keys in grouped.items():
        shown = ", ".join(keys[:_LISTED]) + (
            f" and {len(keys) - _LISTED} more" if len(keys) > _LISTED else ""
        )
        out.print(Text(f"  {action} {kind.replace('_', ' ')}s: {shown}", style="dim"))
    out.print(
        Text(
            "nothing was deleted: OKRs the file leaves out stay in the store"
            + ("" if result.changed else "; the store already matched the file"),
            style="dim",
        ),
        soft_wrap=True,
    )
    return EXIT_OK


def okrs_export_command(
    engine: Engine,
    *,
    format_name: str = "yaml",
    output: Path | None = None,
    cycle: str | None = None,
    console: Console | None = None,
) -> int:
    """Write the stored OKRs as an import file (YAML with check-in history, or CSV) to `output` or stdout."""
    out = console or Console()
    try:
        text = render(export_document(engine, cycle=cycle), format_name)
    except OkrError as exc:
        return _refused(out, exc, json_output=False)
    if output is None:
        out.out(text, end="", highlight=False)
    else:
        output.write_text(text, encoding="utf-8")
        Console(stderr=True).print(f"wrote {output}")
    return EXIT_OK


def okrs_show_command(
    engine: Engine,
    *,
    as_of: date | None = None,
    cycle: str | None = None,
    owner: str | None = None,
    json_output: bool = False,
    console: Console | None = None,
    now: datetime | None = None,
) -> int:
    """Print the alignment tree with progress, colours, owners and staleness (or one owner's part).

    An automated key result shows its mapping, last value and how long ago it was fetched (from
    `now`, the current time by default), marked when the mapping failed, holds a suspect value or
    has not succeeded for longer than the key result's cadence.
    """
    out = console or Console()
    try:
        data = build_view(engine, as_of=as_of or today(), cycle=cycle, owner=owner)
    except OkrError as exc:
        return _refused(out, exc, json_output=json_output)
    if json_output:
        out.print_json(json.dumps(data))
    else:
        render_view(out, data, now=now)
    return EXIT_OK


def okrs_checkin_command(
    engine: Engine,
    key_result: str,
    value: float,
    *,
    note: str | None = None,
    confidence: int | None = None,
    as_person: str | None = None,
    at: datetime | None = None,
    json_output: bool = False,
    console: Console | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Record a manual check-in and print the key result's new progress and colour; 1 when refused."""
    out = console or Console()
    try:
        author = _author(engine, as_person or (os.environ if env is None else env).get(CHECK_IN_AS_ENV))
        stored = record_check_in(
            engine, key_result, value, author=author, note=note, confidence=confidence, at=at
        )
        data = build_view(engine, as_of=today(), cycle=stored.key_result.cycle_id)
    except OkrError as exc:
        return _refused(out, exc, json_output=json_output)
    entry = next(kr for kr in _key_results(data["objectives"]) if kr["key"] == key_result)
    objective = next(o for o in _objectives(data["objectives"]) if o["key"] == entry["objective"])
    if json_output:
        out.print_json(
            json.dumps(
                {
                    "ok": True,
                    "check_in": stored.record.to_dict(),
                    "previous_state": stored.previous.state.value,
                    "key_result": entry,
                    "objective": {k: v for k, v in objective.items() if k not in ("key_results", "children")},
                }
            )
        )
        return EXIT_OK
    who = entry["last_check_in"]["author"].get("name") if isinstance(author, PersonAuthor) else "admin"
    before = stored.previous.current
    line = Text("checked in ", style="bold")
    line.append(f"{key_result} = {_amount(value, entry)}")
    line.append(f" (was {_amount(before, entry) if before is not None else 'never checked in'}) by {who}")
    out.print(line, soft_wrap=True)
    out.print(
        _progress_line("key result", entry, state=f"{stored.previous.state.value} → {entry['state']}"),
        soft_wrap=True,
    )
    out.print(_progress_line(f"objective {objective['key']}", objective), soft_wrap=True)
    return EXIT_OK


def today() -> date:
    """Today in UTC, the default `--as-of`."""
    return datetime.now(UTC).date()


def render_view(out: Console, data: Mapping[str, Any], *, now: datetime | None = None) -> None:
    """The alignment tree as a rich `Tree`, with a footer on alignment health.

    `now` is what "fetched 2h ago" counts from (the current time by default).
    """
    now = now or datetime.now(UTC)
    title = Text("OKRs", style="bold")
    title.append(f" as of {data['as_of']}")
    if data["cycle"]:
        title.append(f" · cycle {data['cycle']}")
    owner = data["owner"]
    if owner is not None:
        share = "no progress yet" if owner["progress"] is None else f"{owner['progress']:.0%}"
        title.append(
            f" · {owner['name']} ({owner['employee_id']}): {share} over {owner['objectives']} objective(s) "
            f"and {owner['key_results']} key result(s) on other objectives"
        )
    tree = Tree(title, guide_style="dim")
    for objective in data["objectives"]:
        _add_objective(tree, objective, now)
    if data["other_key_results"]:
        branch = tree.add(Text("key results owned on other people's objectives", style="bold"))
        for kr in data["other_key_results"]:
            branch.add(_key_result_label(kr, now, show_objective=True))
    if not data["objectives"] and not data["other_key_results"]:
        tree.add(Text("no OKRs here yet; import some with `okrhub okrs import FILE`", style="dim"))
    out.print(tree)
    health = data["health"]
    footer = Text(f"depth {health['depth']}")
    unaligned = health["unaligned"]
    footer.append(" · unaligned objectives: ")
    footer.append(f"{len(unaligned)}", style="yellow" if unaligned else "green")
    if unaligned:
        footer.append(f" ({', '.join(unaligned)})")
    stale = health["stale"]
    footer.append(" · stale key results: ")
    footer.append(f"{len(stale)}", style="yellow" if stale else "green")
    for item in stale:
        since = "never checked in" if item["last_check_in"] is None else f"last {item['last_check_in']}"
        footer.append(
            f"\n  ⚠ {item['key']}: {item['days_since']} days without a check-in "
            f"(cadence {item['cadence_days']} days; {since})",
            style="yellow",
        )
    automation = health["automation"]
    if automation:
        footer.append("\nautomated key results needing attention: ")
        footer.append(f"{len(automation)}", style="bold red")
        for item in automation:
            footer.append("\n  ")
            footer.append_text(_automation_marks(item, prefix=f"{item['key']} ({item['mapping']})"))
    out.print(Panel(footer, title="alignment health", title_align="left", expand=False))


def _add_objective(parent: Tree, objective: Mapping[str, Any], now: datetime) -> None:
    label = _head("●", objective)
    label.append(objective["title"], style="bold")
    owner = objective["owner"]
    if owner["kind"] == "person":
        who = owner["name"]
    elif owner["name"] == owner["id"]:
        who = f"{owner['name']} ({owner['kind']})"
    else:
        who = f"{owner['name']} ({owner['kind']} {owner['id']})"
    label.append(
        f"\n{objective['key']} · {objective['level'].replace('_', ' ')} · {who} · cycle {objective['cycle']}",
        style="dim",
    )
    if objective["context"]:
        label.append(" · shown for alignment (outside the cycle)", style="dim italic")
    branch = parent.add(label)
    for kr in objective["key_results"]:
        branch.add(_key_result_label(kr, now))
    for child in objective["children"]:
        _add_objective(branch, child, now)


def _key_result_label(kr: Mapping[str, Any], now: datetime, *, show_objective: bool = False) -> Text:
    label = _head("◆", kr)
    label.append(kr["title"])
    if kr["state"] == "closed":
        label.append(" ✓ closed", style="green")
    if kr["stale"]:
        label.append(f"  ⚠ STALE: {kr['days_since_check_in']} days without a check-in", style="bold yellow")
    if kr["measurement"] == "binary":
        details = f"\n{kr['key']} · {_amount(kr['value'], kr)}"
    else:
        arrow = _ARROWS[kr["progress_type"]]
        details = (
            f"\n{kr['key']} · {_amount(kr['value'], kr)} of {_amount(kr['target'], kr)} {arrow}".rstrip()
        )
    owners = ", ".join(owner["name"] for owner in kr["owners"])
    if owners:
        details += f" · owner {owners}"
    if show_objective:
        details += f" · on objective {kr['objective']}"
    if kr["hard_deadline"]:
        details += f" · hard deadline {kr['deadline']}"
    details += f" · {_last(kr['last_check_in'])}"
    label.append(details, style="dim")
    automation = kr["automation"]
    if automation is not None:
        label.append_text(_automation_line(automation, kr, now))
    return label


def _automation_line(automation: Mapping[str, Any], kr: Mapping[str, Any], now: datetime) -> Text:
    """`auto: <mapping> · last value 4,199 fetched 2h ago`, then what is wrong with it, if anything."""
    value = automation["last_value"]
    line = Text(f"\nauto: {automation['mapping']} · ", style="dim")
    if value is None:
        line.append("no value fetched yet", style="dim")
    else:
        line.append(f"last value {_amount(value, kr)}", style="dim")
        if automation["last_success_at"] is not None:
            line.append(f" fetched {_ago(automation['last_success_at'], now)}", style="dim")
    if automation["fetched_at"] not in (None, automation["last_success_at"]):
        line.append(f" · last tried {_ago(automation['fetched_at'], now)}", style="dim")
    marks = _automation_marks(automation, kr=kr)
    if marks.plain:
        line.append(" ")
        line.append_text(marks)
    return line


def _automation_marks(
    automation: Mapping[str, Any], *, prefix: str = "", kr: Mapping[str, Any] | None = None
) -> Text:
    """FAILED / HELD / REFUSED / NO DATA / STALE marks of an automated key result (empty when all is well)."""
    marks = Text()
    status, message = automation["status"], automation["message"]
    if status == "failed":
        marks.append(f"✗ FAILED: {message or 'the mapping failed'}", style="bold red")
    elif status == "held":
        held = automation["held_value"]
        shown = "no data" if held is None else _amount(held, kr) if kr is not None else _plain(held)
        marks.append(
            f"⏸ HELD {shown} as suspect ({message}); publish it with `okrhub sync metrics --accept`",
            style="bold yellow",
        )
    elif status == "refused":
        marks.append(f"⛔ REFUSED: {message}", style="bold red")
    elif status == "no_data":
        marks.append("no data on the last fetch", style="dim")
    if automation["stale"]:
        since = automation["days_since_success"]
        what = (
            "never updated by its mapping"
            if since is None
            else f"not updated by its mapping for {since} days (cadence {automation['cadence_days']} days)"
        )
        marks.append(f"{' · ' if marks.plain else ''}⚠ STALE: {what}", style="bold yellow")
    if marks.plain and prefix:
        return Text(f"{prefix} ").append_text(marks)
    return marks


def _ago(moment: str, now: datetime) -> str:
    """How long before `now` an ISO timestamp was: `just now`, `5m ago`, `2h ago`, `3 days ago`."""
    seconds = (now - datetime.fromisoformat(moment)).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def _head(marker: str, entry: Mapping[str, Any]) -> Text:
    """Marker, bar and percentage first, so a narrow terminal wraps the title, not the bar."""
    style = COLOUR_STYLES[entry["colour"]]
    head = Text(f"{marker} ", style=style)
    head.append_text(_bar(entry["progress"], entry["colour"]))
    head.append(f" {entry['progress']:>4.0%} ", style=style)
    return head


def _last(check_in: Mapping[str, Any] | None) -> str:
    if check_in is None:
        return "no check-in yet"
    author = check_in["author"]
    when = check_in["at"][:16].replace("T", " ").removesuffix(" 00:00")
    if author["kind"] == "connector":
        who = f"connector {author['connection']} (mapping {author['mapping']}, run {author['run_id']})"
    elif author["kind"] == "person":
        who = author.get("name") or author["employee_id"]
    else:
        who = "admin"
    return f"last check-in {when} by {who}"


def _bar(progress: float, colour: str) -> Text:
    filled = round(max(0.0, min(1.0, progress)) * _BAR_WIDTH)
    bar = Text("█" * filled, style=COLOUR_STYLES[colour])
    bar.append("░" * (_BAR_WIDTH - filled), style="dim")
    return bar


def _plain(value: float) -> str:
    """`1,021,200` or `33.3`: thousands separated, at most two decimals, never an exponent."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def _amount(value: float, kr: Mapping[str, Any]) -> str:
    measurement = kr["measurement"]
    if measurement == "binary":
        return "done" if value == 1 else "not done"
    number = _plain(value)
    if measurement == "currency":
        return f"{number} {kr['currency']}"
    if measurement == "percentage":
        return f"{number}%"
    return f"{number} {kr['unit']}".rstrip()


def _progress_line(what: str, entry: Mapping[str, Any], *, state: str | None = None) -> Text:
    style = COLOUR_STYLES[entry["colour"]]
    line = Text(f"{what}: ")
    line.append_text(_bar(entry["progress"], entry["colour"]))
    line.append(f" {entry['progress']:.0%} {entry['colour']}", style=style)
    line.append(f" (expected {entry['expected']:.0%} by now)", style="dim")
    if state:
        line.append(f" · state {state}")
    return line


def _author(engine: Engine, ref: str | None) -> Author:
    if not ref:
        return AdminAuthor()
    with reading(engine) as conn:
        found = resolve_people(conn, [ref]).get(ref_key(ref))
    if found is None:
        raise UnknownReference("check-in author (--as)", "person", ref)
    return PersonAuthor(person_id=found.employee_id)


def _refused(out: Console, exc: OkrError, *, json_output: bool) -> int:
    if json_output:
        out.print_json(json.dumps({"ok": False, "error": exc.attrs()}, default=str))
    else:
        Console(stderr=True).print(Text(f"error: {exc}", style="bold red"), soft_wrap=True)
    return EXIT_FAILED


def _objectives(objectives: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for objective in objectives:
        yield objective
        yield from _objectives(objective["children"])


def _key_results(objectives: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for objective in _objectives(objectives):
        yield from objective["key_results"]
