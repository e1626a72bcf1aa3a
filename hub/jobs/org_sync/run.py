"""Run one org sync end to end: read, stage, check, guard, apply, and record it in the ledger.

The ledger row is written in its own transactions (before and after), so it survives a run
that rolls back. The data is written in one transaction: a guard, an error, a dry run or a
crash leaves the store as it was and the cursor where it was.

Example:
    ```python
    result = run_org_sync(engine, connection="hr", source=connector, settings=config.org_sync,
                          stats=stats, options=OrgSyncOptions(dry_run=True))
    print(result.counts, result.preview.deactivated)
    ```
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from hub.config.models import OrgSyncSettings
from hub.contracts import OrgSource
from hub.errors import GuardTripped, OkrHubError
from hub.http.stats import CallStats
from hub.jobs.org_sync.apply import PEOPLE_STREAM, apply_plan
from hub.jobs.org_sync.checks import identity_conflicts
from hub.jobs.org_sync.plan import OrgPlan, build_plan, check_guards
from hub.jobs.org_sync.preview import OrgPreview, build_preview
from hub.jobs.org_sync.records import load_existing
from hub.jobs.org_sync.stage import Stager
from hub.store.engine import begin_write
from hub.store.ledger import Rejection, RunLedger
from hub.store.models import RunStatus, SyncCursor

logger = logging.getLogger(__name__)

JOB = "org_sync"


@dataclass(frozen=True, kw_only=True)
class OrgSyncOptions:
    """How to run: `full` forces a full read, `force` lifts the ratio guards, `dry_run` writes nothing."""

    dry_run: bool = False
    full: bool = False
    force: bool = False
    trigger: str = "cli"
    preview_limit: int = 50


@dataclass
class OrgSyncResult:
    """What a run did, as the CLI and the workers report it."""

    run_id: int
    status: str
    mode: str
    dry_run: bool
    counts: dict[str, int]
    api_calls: int
    retries: int
    duration_seconds: float
    preview: OrgPreview = field(default_factory=OrgPreview)
    error: OkrHubError | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "api_calls": self.api_calls,
            "retries": self.retries,
            "duration_seconds": round(self.duration_seconds, 3),
            "changes": self.preview.to_dict(),
            "error": self.error.attrs() if self.error else None,
        }


class _DryRun(Exception):
    pass


def choose_mode(
    engine: Engine,
    *,
    connection: str,
    source: OrgSource,
    settings: OrgSyncSettings,
    full: bool,
    now: datetime,
) -> tuple[str, str | None]:
    """`("full", None)` or `("incremental", cursor)` for this run."""
    if full or not source.supports_incremental:
        return "full", None
    with engine.connect() as conn:
        row = conn.execute(
            select(SyncCursor.cursor, SyncCursor.last_full_at).where(
                SyncCursor.connection == connection, SyncCursor.stream == PEOPLE_STREAM
            )
        ).first()
    if row is None or row.cursor is None or row.last_full_at is None:
        return "full", None
    if settings.full_sync_every_days is not None and now - row.last_full_at > timedelta(
        days=settings.full_sync_every_days
    ):
        return "full", None
    return "incremental", row.cursor


def run_org_sync(
    engine: Engine,
    *,
    connection: str,
    source: OrgSource,
    settings: OrgSyncSettings,
    stats: CallStats,
    options: OrgSyncOptions = OrgSyncOptions(),
    on_progress: Callable[[int], None] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> OrgSyncResult:
    """Sync people from `source` into the store and record the run; never raises an `OkrHubError`."""
    ledger = RunLedger(engine)
    started = clock()
    mode, since = choose_mode(
        engine, connection=connection, source=source, settings=settings, full=options.full, now=started
    )
    run_id = ledger.start(job=JOB, connection=connection, dry_run=options.dry_run, trigger=options.trigger)
    fields = source.default_fields().merged(
        fields=settings.fields, attributes=settings.attributes, identities=settings.identities
    )
    plan: OrgPlan | None = None
    preview = OrgPreview()
    counts: dict[str, int] = {}
    error: OkrHubError | None = None
    status = RunStatus.SUCCEEDED.value
    try:
        with begin_write(engine) as conn:
            existing = load_existing(conn)
            stager = Stager(
                conn, run_id=run_id, existing=existing, hcm_system=source.type_name, on_progress=on_progress
            )
            stream = source.read_org(fields, since=since, unchanged=stager.is_unchanged)
            mode = "full" if stream.is_full else "incremental"
            stage = stager.consume(stream)
            leaving = set(stage.removed) | (
                {
                    e
                    for e, ex in existing.items()
                    if ex.source_connection == connection and e not in stage.seen
                }
                if mode == "full"
                else set()
            )
            identities = identity_conflicts(conn, stage.changes, leaving=leaving)
            plan = build_plan(
                mode=mode,
                stage=stage,
                existing=existing,
                connection=connection,
                conflicts=identities.rejected,
                transfers=identities.transfers,
            )
            counts = dict(plan.counts)
            preview = build_preview(conn, plan, run_id=run_id, limit=options.preview_limit)
            check_guards(
                plan,
                max_deactivate_ratio=settings.max_deactivate_ratio,
                max_manager_change_ratio=settings.max_manager_change_ratio,
                force=options.force,
            )
            if options.dry_run:
                raise _DryRun  # noqa: TRY301 - leaves the transaction by rolling it back
            counts.update(
                apply_plan(
                    conn,
                    plan,
                    run_id=run_id,
                    connection=connection,
                    hcm_system=source.type_name,
                    cursor=stream.cursor,
                    now=clock(),
                )
            )
    except _DryRun:
        pass
    except GuardTripped as exc:
        error, status = exc, RunStatus.GUARDED.value
        logger.warning("org sync %d stopped by a guard: %s", run_id, exc)
    except OkrHubError as exc:
        error, status = exc, RunStatus.FAILED.value
        logger.error("org sync %d failed: %s", run_id, exc)  # noqa: TRY400 - the ledger keeps the detail
    except BaseException as exc:
        ledger.finish(
            run_id,
            status=RunStatus.FAILED.value,
            counts=counts,
            api_calls=stats.api_calls,
            retries=stats.retries,
            error={"type": type(exc).__name__, "message": str(exc) or repr(exc)},
            summary=f"crashed: {type(exc).__name__}; nothing was written",
        )
        raise
    rejections = _rejections(plan)
    summary = _summary(mode, counts, options.dry_run, error)
    ledger.finish(
        run_id,
        status=status,
        counts=counts,
        api_calls=stats.api_calls,
        retries=stats.retries,
        error=error.attrs() if error else None,
        summary=summary,
        rejections=rejections,
    )
    return OrgSyncResult(
        run_id=run_id,
        status=status,
        mode=mode,
        dry_run=options.dry_run,
        counts=counts,
        api_calls=stats.api_calls,
        retries=stats.retries,
        duration_seconds=(clock() - started).total_seconds(),
        preview=preview,
        error=error,
    )


def _rejections(plan: OrgPlan | None) -> list[Rejection]:
    if plan is None:
        return []
    rejections = [Rejection.from_error(r) for r in plan.rejected]
    for cycle in plan.cycles:
        loop = " → ".join([*cycle, cycle[0]])
        rejections.extend(
            Rejection(
                record_key=member,
                reason=f"manager cycle {loop}: synced without a manager",
                detail={"severity": "warning", "kind": "manager_cycle", "cycle": cycle},
            )
            for member in cycle
        )
    return rejections


def _summary(mode: str, counts: dict[str, int], dry_run: bool, error: OkrHubError | None) -> str:
    shown = ("created", "updated", "reactivated", "deactivated", "rejected")
    parts = ", ".join(f"{counts.get(name, 0)} {name}" for name in shown)
    prefix = "dry run, " if dry_run else ""
    if error is not None:
        return f"{prefix}{mode} sync stopped: {error.message.splitlines()[0]}"
    return f"{prefix}{mode} sync of {counts.get('read', 0)} people: {parts}"
