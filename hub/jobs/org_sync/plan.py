"""The plan of an org sync: what would change, decided before anything is written, and its guards."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.errors import GuardTripped, RecordRejected
from hub.jobs.org_sync.checks import OrgGraph
from hub.jobs.org_sync.records import Existing
from hub.jobs.org_sync.stage import StagedChange, StageResult


@dataclass
class OrgPlan:
    """Every change a run would make, with the counts the guards and the ledger read."""

    mode: str  # "full" | "incremental"
    stage: StageResult
    changes: dict[str, StagedChange]
    rejected: list[RecordRejected]
    deactivate: list[str]
    cycles: list[list[str]]
    flags: dict[str, tuple[str, ...]]
    flag_updates: dict[str, tuple[str, ...]]
    transfers: set[tuple[str, str]]
    active_before: int
    manager_changes: int
    leavers: int
    """Active people the source now marks inactive or terminated (they leave without being missing)."""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def in_cycle(self) -> set[str]:
        """Everyone who is part of a manager cycle."""
        return {member for cycle in self.cycles for member in cycle}


def build_plan(
    *,
    mode: str,
    stage: StageResult,
    existing: dict[str, Existing],
    connection: str,
    conflicts: list[RecordRejected],
    transfers: set[tuple[str, str]] | None = None,
) -> OrgPlan:
    """Turn what the stream held into a plan: deactivations, cycles, flags and counts."""
    conflicted = {r.record_key for r in conflicts}
    changes = {emp: change for emp, change in stage.changes.items() if emp not in conflicted}
    ours = {emp: ex for emp, ex in existing.items() if ex.source_connection == connection}
    active_before = sum(1 for ex in ours.values() if ex.status == "active")
    deactivate: list[str] = []
    if mode == "full":
        deactivate = [emp for emp, ex in ours.items() if ex.status == "active" and emp not in stage.seen]
    removed_active = [emp for emp in stage.removed if emp in ours and ours[emp].status == "active"]
    deactivate.extend(emp for emp in removed_active if emp not in deactivate)
    graph = OrgGraph(existing, changes, frozenset(deactivate))
    cycles = graph.cycles(changes)
    in_cycle = {member for cycle in cycles for member in cycle}
    flags = {emp: graph.flags(emp, in_cycle) for emp in changes}
    flag_updates: dict[str, tuple[str, ...]] = {}
    for emp in (graph.affected() | in_cycle) - set(changes):
        before = existing.get(emp)
        if before is None:
            continue
        now = graph.flags(emp, in_cycle)
        if now != before.flags and not (emp in deactivate and not now):
            flag_updates[emp] = now
    leavers = sum(
        1
        for emp, change in changes.items()
        if change.status != "active" and emp in ours and ours[emp].status == "active"
    )
    manager_changes = sum(
        1
        for emp, change in changes.items()
        if emp in ours and ours[emp].status == "active" and ours[emp].manager_id != change.manager_id
    )
    kinds = [change.kind for change in changes.values()]
    all_flags = [*flags.values(), *(f for emp, f in flag_updates.items())]
    unchanged_flags = [
        ex.flags for emp, ex in existing.items() if emp not in changes and emp not in flag_updates
    ]
    counts = {
        "read": len(stage.seen),
        "created": kinds.count("created"),
        "updated": kinds.count("updated"),
        "reactivated": kinds.count("reactivated"),
        "unchanged": stage.unchanged,
        "deactivated": len(deactivate),
        "terminated": leavers,
        "rejected": len(stage.rejections) + len(conflicts),
        "manager_cycles": len(cycles),
        "manager_missing": sum("manager_missing" in f for f in (*all_flags, *unchanged_flags)),
        "manager_inactive": sum("manager_inactive" in f for f in (*all_flags, *unchanged_flags)),
        "departments_read": len(stage.departments),
    }
    return OrgPlan(
        mode=mode,
        stage=stage,
        changes=changes,
        rejected=[*stage.rejections, *conflicts],
        deactivate=deactivate,
        cycles=cycles,
        flags=flags,
        flag_updates=flag_updates,
        transfers=transfers or set(),
        active_before=active_before,
        manager_changes=manager_changes,
        leavers=leavers,
        counts=counts,
    )


def check_guards(
    plan: OrgPlan, *, max_deactivate_ratio: float, max_manager_change_ratio: float, force: bool
) -> None:
    """Stop a plan that would do damage; `force` lifts the ratio guards but never the empty-source one."""
    if plan.mode == "full" and not plan.stage.seen and plan.active_before > 0:
        raise GuardTripped(
            f"the source returned no people at all, and {plan.active_before} are active in the store; "
            "an empty or truncated response never deactivates anyone, even with --force. "
            "Check the connection's permissions and the report's filters.",
            guard="empty_source",
            observed=0.0,
            limit=float(plan.active_before),
        )
    if force or plan.active_before == 0:
        return
    leaving = len(plan.deactivate) + plan.leavers
    ratio = leaving / plan.active_before
    if ratio > max_deactivate_ratio:
        raise GuardTripped(
            f"this sync would deactivate {leaving} of {plan.active_before} active people "
            f"({len(plan.deactivate)} missing from the source, {plan.leavers} marked inactive or terminated; "
            f"{ratio:.1%}), more than max_deactivate_ratio {max_deactivate_ratio:.0%}; nothing was written. "
            "Look at the dry run (`okrhub sync org --dry-run`), then rerun with --force if it is right.",
            guard="max_deactivate_ratio",
            observed=round(ratio, 4),
            limit=max_deactivate_ratio,
        )
    manager_ratio = plan.manager_changes / plan.active_before
    if manager_ratio > max_manager_change_ratio:
        raise GuardTripped(
            f"this sync would change the manager of {plan.manager_changes} of {plan.active_before} "
            f"active people ({manager_ratio:.1%}), "
            f"more than max_manager_change_ratio {max_manager_change_ratio:.0%}; "
            "nothing was written. Look at the dry run, then rerun with --force if it is right.",
            guard="max_manager_change_ratio",
            observed=round(manager_ratio, 4),
            limit=max_manager_change_ratio,
        )
