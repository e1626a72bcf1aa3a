"""Run the metric mappings: plan, query every source once, and check in what changed.

One run: resolve each mapping's key results, compile the coalesced plan, send each
connection's requests in one batch, evaluate every key result's value, hold what looks wrong,
and write a check-in (with its provenance) only where the value changed. A failing connection
or mapping is recorded and the others go on; every run leaves a ledger row. Judging and writing
the values is `apply`'s job (in bulk, in one transaction); the provenance is `provenance`'s.

Example:
    ```python
    result = run_kr_updates(runtime, mappings, options=KrUpdateOptions(dry_run=True))
    for outcome in result.outcomes:
        print(outcome.kr_key, outcome.action, outcome.value)
    ```
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from hub.contracts import Capability
from hub.errors import ConfigError, OkrHubError
from hub.http.stats import CallStats
from hub.jobs.kr_updates.apply import Outcome as Outcome  # callers import it from here
from hub.jobs.kr_updates.apply import RunContext, apply_values
from hub.jobs.kr_updates.provenance import RawResults
from hub.jobs.kr_updates.state import load_states
from hub.jobs.kr_updates.targets import resolve_targets
from hub.metrics import MetricResult
from hub.okrs.repository import load_okrs
from hub.runtime import Runtime
from hub.store.engine import begin_write
from hub.store.ledger import Rejection, RunLedger
from hub.store.models import RunStatus, RunTrigger
from mappings.compiler import Binding, QueryPlan, compile_plan
from mappings.mapping_set import MappingSet

logger = logging.getLogger(__name__)

JOB = "kr_updates"
RAW_RESULT_LIMIT = 4000
"""Characters of raw result kept with each check-in: enough to trust a number, not a data dump."""


@dataclass(frozen=True, kw_only=True)
class KrUpdateOptions:
    """`mapping` limits the run to one mapping; `dry_run` writes nothing; `accept` publishes held values.

    `trigger` says what started the run (`cli`, `schedule` or `worker`); another value is refused
    here, before a run starts, so the run itself never fails on it.
    """

    mapping: str | None = None
    dry_run: bool = False
    accept: bool = False
    trigger: str = "cli"

    def __post_init__(self) -> None:
        """Refuse an unknown trigger (the run ledger would refuse it after the run had begun).

        Raises:
            ConfigError: `trigger` is not one of the ledger's triggers.
        """
        known = [member.value for member in RunTrigger]
        if self.trigger not in known:
            raise ConfigError(
                f"unknown trigger {self.trigger!r}; use one of: {', '.join(known)}", field="trigger"
            )


@dataclass
class KrUpdateResult:
    """A run of the metric mappings, as the CLI and the workers report it."""

    run_id: int
    status: str
    dry_run: bool
    outcomes: list[Outcome]
    naive_calls: int
    planned_calls: int
    api_calls: int
    retries: int
    usage: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Outcomes by action, plus the plan's problems."""
        return _count(self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "naive_calls": self.naive_calls,
            "planned_calls": self.planned_calls,
            "api_calls": self.api_calls,
            "retries": self.retries,
            "usage": self.usage,
            "outcomes": [asdict(o) for o in self.outcomes],
        }


def fetch_results(
    runtime: Runtime, plan: QueryPlan, stats: CallStats, usage: dict[str, Any]
) -> dict[str, MetricResult]:
    """Send each connection's requests in one batch; a failed connection fails its requests only."""
    results: dict[str, MetricResult] = {}
    for connection, requests in plan.requests.items():
        try:
            with runtime.connector(connection, stats, capability=Capability.METRIC_SOURCE) as source:
                for result in source.run_queries(requests):
                    results[result.key] = result
                usage[connection] = dict(source.usage())
        except OkrHubError as exc:
            logger.error("connection `%s` failed: %s", connection, exc)  # noqa: TRY400 - kept in the ledger
            for request in requests:
                results.setdefault(request.key, MetricResult(key=request.key, error=exc))
    return results


def _raw_result(binding: Binding, results: Mapping[str, MetricResult]) -> str:
    """One key result's raw result, at most `RAW_RESULT_LIMIT` characters (see `provenance.RawResults`).

    A run shares one `RawResults`, so each request's evidence is serialised once, not once per
    key result.
    """
    return RawResults(results, limit=RAW_RESULT_LIMIT).for_binding(binding)


def run_kr_updates(
    runtime: Runtime,
    mappings: MappingSet,
    *,
    options: KrUpdateOptions = KrUpdateOptions(),
    today: date | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> KrUpdateResult:
    """Run every mapping (or `options.mapping`) once and record the run.

    Args:
        runtime: The config, store and connectors.
        mappings: The loaded mappings.
        options: Which mapping, dry run, accept held values, and what started the run.
        today: Resolve every window against this date (tests); by default each mapping's window
            is resolved against the date `clock()` falls on in its schedule's time zone.
        clock: The current time, aware; check-ins are dated with it.

    Returns:
        The run and every key result's outcome. A failing connection, mapping or key result is
        an outcome, and a failure of the whole run a `failed` status: no `OkrHubError` escapes
        once the run is in the ledger.

    Raises:
        StoreError: The store cannot be written, so not even the run's ledger row exists.
    """
    engine = runtime.engine
    ledger = RunLedger(engine)
    now = clock()
    run_id = ledger.start(job=JOB, connection=None, dry_run=options.dry_run, trigger=options.trigger)
    stats = CallStats()
    usage: dict[str, Any] = {}
    outcomes: list[Outcome] = []
    if options.mapping is not None:
        mappings = MappingSet(tuple(m for m in mappings if m.id == options.mapping))
    try:
        with engine.connect() as conn:
            stored = load_okrs(conn)
            targets, problems = resolve_targets(conn, mappings, stored)
        plan = compile_plan(mappings, targets, now=now, today=today)
        problems = [*problems, *plan.problems]
        outcomes.extend(
            Outcome(kr_key=p.kr_key, mapping_id=p.mapping_id, action="failed", reason=p.reason)
            for p in problems
        )
        results = fetch_results(runtime, plan, stats, usage)
        states = load_states(engine, [(b.kr_key, b.mapping_id) for b in plan.bindings])
        context = RunContext(
            run_id=run_id,
            now=now,
            dry_run=options.dry_run,
            accept=options.accept,
            raw=RawResults(results, limit=RAW_RESULT_LIMIT),
        )
        with begin_write(engine) as conn:
            outcomes += apply_values(
                conn, plan.bindings, results, states, known=stored.tree.key_results, run=context
            )
    except OkrHubError as exc:
        ledger.finish(
            run_id,
            status=RunStatus.FAILED.value,
            counts=_count(outcomes),
            api_calls=stats.api_calls,
            retries=stats.retries,
            error=exc.attrs(),
            summary=f"metric update failed: {exc.message.splitlines()[0]}",
        )
        return KrUpdateResult(
            run_id,
            RunStatus.FAILED.value,
            options.dry_run,
            outcomes,
            0,
            0,
            stats.api_calls,
            stats.retries,
            usage,
        )
    except BaseException as exc:
        ledger.finish(
            run_id,
            status=RunStatus.FAILED.value,
            counts=_count(outcomes),
            api_calls=stats.api_calls,
            retries=stats.retries,
            error={"type": type(exc).__name__, "message": str(exc) or repr(exc)},
            summary=f"crashed: {type(exc).__name__}",
        )
        raise
    counts = _count(outcomes)
    counts.update({"naive_calls": plan.naive_calls, "planned_calls": plan.planned_calls})
    failed = [o for o in outcomes if o.action in ("failed", "held", "refused")]
    ledger.finish(
        run_id,
        status=RunStatus.SUCCEEDED.value,
        counts=counts,
        api_calls=stats.api_calls,
        retries=stats.retries,
        summary=_summary(counts, options.dry_run),
        rejections=[
            Rejection(
                record_key=o.kr_key,
                reason=f"{o.mapping_id}: {o.reason}",
                detail={"mapping": o.mapping_id, "action": o.action, "value": o.value},
            )
            for o in failed
        ],
    )
    return KrUpdateResult(
        run_id=run_id,
        status=RunStatus.SUCCEEDED.value,
        dry_run=options.dry_run,
        outcomes=outcomes,
        naive_calls=plan.naive_calls,
        planned_calls=plan.planned_calls,
        api_calls=stats.api_calls,
        retries=stats.retries,
        usage=usage,
    )


def _count(outcomes: list[Outcome]) -> dict[str, int]:
    return dict(Counter(outcome.action for outcome in outcomes))


def _summary(counts: Mapping[str, int], dry_run: bool) -> str:
    shown = ("checked_in", "would_check_in", "unchanged", "held", "no_data", "refused", "failed")
    parts = ", ".join(f"{counts[name]} {name.replace('_', ' ')}" for name in shown if counts.get(name))
    prefix = "dry run: " if dry_run else ""
    calls = f"{counts.get('planned_calls', 0)} calls planned (naive {counts.get('naive_calls', 0)})"
    return f"{prefix}{parts or 'nothing to do'}; {calls}"
