"""`okrhub sync metrics` and `okrhub mappings plan|validate|preview`.

The CLI opens one runtime per command; each command here closes the store's pooled connections
when it ends (the engine stays usable), so none is left for the garbage collector to find open.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub.cli.common import EXIT_FAILED, EXIT_OK
from hub.errors import ConfigError
from hub.http.stats import CallStats
from hub.jobs.kr_updates import KrUpdateOptions, KrUpdateResult, run_kr_updates
from hub.jobs.kr_updates.run import Outcome, fetch_results
from hub.jobs.kr_updates.targets import resolve_targets
from hub.okrs.repository import load_okrs
from hub.runtime import Runtime
from mappings.compiler import QueryPlan, compile_plan
from mappings.mapping_set import MappingSet

ACTION_STYLE = {
    "checked_in": "green",
    "would_check_in": "cyan",
    "unchanged": "dim",
    "held": "yellow",
    "no_data": "dim",
    "refused": "yellow",
    "failed": "bold red",
}


def sync_metrics_command(
    runtime: Runtime,
    mappings: MappingSet,
    options: KrUpdateOptions,
    *,
    json_output: bool,
    console: Console | None = None,
) -> int:
    """Run the mappings once and report every key result's outcome; exit 1 if any failed.

    Raises:
        ConfigError: `options.mapping` names no mapping (a typo would otherwise run nothing and
            report success).
    """
    out = console or Console()
    with _pool_closed_after(runtime):
        if options.mapping is not None and options.mapping not in mappings.ids:
            known = ", ".join(sorted(mappings.ids)) or "none"
            raise ConfigError(f"no mapping `{options.mapping}`; mappings: {known}")
        result = run_kr_updates(runtime, mappings, options=options)
    if json_output:
        out.print_json(json.dumps(result.to_dict(), default=str))
    else:
        render_outcomes(out, result)
    return EXIT_FAILED if result.status != "succeeded" or result.counts.get("failed") else EXIT_OK


def render_outcomes(out: Console, result: KrUpdateResult) -> None:
    """A table of key results and what happened to each, then the run's cost."""
    title = f"metric update run {result.run_id}{' · DRY RUN, nothing written' if result.dry_run else ''}"
    table = Table(title=title, title_justify="left")
    for column in ("key result", "mapping", "outcome", "before", "value", "why"):
        table.add_column(column)
    for outcome in sorted(result.outcomes, key=lambda o: (o.action != "failed", o.mapping_id, o.kr_key)):
        table.add_row(
            outcome.kr_key,
            outcome.mapping_id,
            Text(outcome.action.replace("_", " "), style=ACTION_STYLE.get(outcome.action, "")),
            _number(outcome.previous),
            _number(outcome.value),
            Text(outcome.reason or ""),
        )
    out.print(table)
    counts = ", ".join(f"{n} {a.replace('_', ' ')}" for a, n in sorted(result.counts.items()))
    out.print(
        f"{counts or 'no key results mapped'}. API calls: {result.api_calls} "
        f"({result.retries} retries); the plan needed {result.planned_calls} where one query per key "
        f"result would need {result.naive_calls}. See `okrhub runs show {result.run_id}`."
    )


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.6g}"


def build_plan(runtime: Runtime, mappings: MappingSet) -> tuple[QueryPlan, list[Outcome]]:
    """The plan as of now (each mapping's dates in its schedule's time zone), and the key results left out."""
    with runtime.engine.connect() as conn:
        stored = load_okrs(conn)
        targets, problems = resolve_targets(conn, mappings, stored)
    plan = compile_plan(mappings, targets, now=datetime.now(UTC))
    left_out = [
        Outcome(kr_key=p.kr_key, mapping_id=p.mapping_id, action="failed", reason=p.reason)
        for p in [*problems, *plan.problems]
    ]
    return plan, left_out


def mappings_plan_command(
    runtime: Runtime, mappings: MappingSet, *, json_output: bool, console: Console | None = None
) -> int:
    """Print the query plan: requests per connection, and calls before and after coalescing."""
    out = console or Console()
    with _pool_closed_after(runtime):
        plan, left_out = build_plan(runtime, mappings)
    data: dict[str, Any] = {
        "naive_calls": plan.naive_calls,
        "planned_calls": plan.planned_calls,
        "bindings": len(plan.bindings),
        "requests": {
            connection: [{"key": r.key, "query": _query_text(r.query)} for r in requests]
            for connection, requests in plan.requests.items()
        },
        "problems": [{"kr_key": o.kr_key, "mapping": o.mapping_id, "reason": o.reason} for o in left_out],
    }
    if json_output:
        out.print_json(json.dumps(data, default=str))
        return EXIT_OK
    table = Table(title="query plan", title_justify="left")
    table.add_column("connection")
    table.add_column("request")
    table.add_column("query")
    for connection, requests in plan.requests.items():
        for request in requests:
            table.add_row(connection, request.key[:10], Text(_shorten(_query_text(request.query))))
    out.print(table)
    out.print(
        f"{len(plan.bindings)} key results from {plan.planned_calls} API calls "
        f"(one query per key result would take {plan.naive_calls})."
    )
    _problems(out, left_out)
    return EXIT_OK


def mappings_validate_command(
    runtime: Runtime,
    mappings: MappingSet,
    *,
    preview: bool,
    json_output: bool,
    console: Console | None = None,
) -> int:
    """Check what loading cannot: key results and owners exist, and (with `preview`) each query runs."""
    out = console or Console()
    with _pool_closed_after(runtime):
        plan, left_out = build_plan(runtime, mappings)
    rejected: list[Outcome] = []
    if preview:
        results = fetch_results(runtime, plan, CallStats(), {})
        for binding in plan.bindings:
            for name, ref in binding.inputs.items():
                result = results.get(ref.request_key)
                if result is not None and result.error is not None:
                    rejected.append(
                        Outcome(
                            kr_key=binding.kr_key,
                            mapping_id=binding.mapping_id,
                            action="failed",
                            reason=f"query `{name}`: {result.error}",
                        )
                    )
    problems = [*left_out, *rejected]
    if json_output:
        out.print_json(
            json.dumps(
                {
                    "ok": not problems,
                    "mappings": len(mappings.mappings),
                    "problems": [
                        {"kr_key": o.kr_key, "mapping": o.mapping_id, "reason": o.reason} for o in problems
                    ],
                }
            )
        )
    elif problems:
        _problems(out, problems)
    else:
        out.print(
            Text(
                f"mappings OK: {len(mappings.mappings)} mappings feed {len(plan.bindings)} key results",
                style="green",
            )
        )
    return EXIT_FAILED if problems else EXIT_OK


@contextmanager
def _pool_closed_after(runtime: Runtime) -> Iterator[None]:
    """Close the store's pooled connections when the block ends, however it ends."""
    try:
        yield
    finally:
        runtime.engine.dispose()


def _problems(out: Console, problems: list[Outcome]) -> None:
    if not problems:
        return
    table = Table(title=f"problems ({len(problems)})", title_justify="left")
    table.add_column("mapping")
    table.add_column("key result")
    table.add_column("reason")
    for problem in problems:
        table.add_row(problem.mapping_id, problem.kr_key, Text(problem.reason or "", style="yellow"))
    out.print(table)


def _query_text(query: object) -> str:
    for attribute in ("soql", "jql"):
        if hasattr(query, attribute):
            return str(getattr(query, attribute))
    return json.dumps(
        {k: getattr(query, k) for k in ("property_id", "metric", "group_by") if hasattr(query, k)},
        default=str,
    )


def _shorten(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
