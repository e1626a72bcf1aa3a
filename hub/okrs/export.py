"""Export the stored OKRs as the same YAML or CSV an import reads, so a file round-trips unchanged.

People are written by employee id, departments and teams as `department:KEY` / `team:KEY`, and
defaults are left out. YAML carries the check-in history of people and of the admin author;
connector check-ins stay in the store (their provenance is not something a file can vouch for,
and the next connector run brings the value back anyway). CSV carries no history at all.

Example:
    ```python
    text = render_yaml(export_document(engine, cycle="2026-Q4"))
    Path("okrs.yaml").write_text(text)
    ```
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from sqlalchemy import Connection, Engine, select

from hub.okrs.csv_format import write_csv
from hub.okrs.document import (
    CheckInEntry,
    CycleEntry,
    KeyResultEntry,
    ObjectiveEntry,
    OkrDocument,
    RangeEntry,
    TargetEntry,
)
from hub.okrs.records import AdminAuthor, CheckInRecord
from hub.okrs.repository import cycle_scope, load_okrs, reading
from hub.okrs.rows import check_in_from_row
from hub.store.bulk import chunked
from hub.store.models import OkrCheckIn, OkrKeyResult
from okr_core.checkins import PersonAuthor
from okr_core.key_results import KeyResult, MeasurementType
from okr_core.objectives import Objective, OwnerKind
from okr_core.tree import AlignmentTree

HEADER = "OKRs exported by `okrhub okrs export`; import with `okrhub okrs import FILE`."


def export_document(source: Engine | Connection, *, cycle: str | None = None) -> OkrDocument:
    """The stored OKRs (or those of `cycle` and its sub-cycles) as an import document.

    Raises:
        UnknownReference: `cycle` is not a stored cycle.
    """
    with reading(source) as conn:
        stored = load_okrs(conn, cycle=cycle)
        tree = stored.tree
        scope = cycle_scope(tree, cycle)
        key_results = [kr for kr in tree.key_results.values() if kr.cycle_id in scope]
        history = _history(conn, [stored.key_result_ids[kr.id] for kr in key_results])
    cycles = []
    for c in tree.cycles.values():
        if c.id not in scope and not _is_ancestor(tree, c.id, scope):
            continue
        objectives = [
            _objective(o, tree, history)
            for o in tree.objectives.values()
            if o.cycle_id == c.id and c.id in scope
        ]
        cycles.append(
            CycleEntry(
                key=c.id,
                name=c.name,
                kind=c.kind,
                start=c.start,
                end=c.end,
                parent=c.parent_id,
                state=c.state,
                cadence=c.cadence,
                objectives=objectives,
            )
        )
    return OkrDocument(cycles=cycles)


def render(document: OkrDocument, format_name: str) -> str:
    """The document as `yaml` or `csv` text."""
    return write_csv(document) if format_name == "csv" else render_yaml(document)


def render_yaml(document: OkrDocument) -> str:
    """The document as YAML, defaults left out, dates unquoted."""
    data = _plain(document.model_dump(exclude_defaults=True))
    data.setdefault("version", 1)
    root = CommentedMap(version=data.pop("version"), **data)
    root.yaml_set_start_comment(HEADER)
    out = io.StringIO()
    yaml = YAML()
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.dump(root, out)
    return out.getvalue()


def _objective(
    objective: Objective, tree: AlignmentTree, history: dict[str, list[CheckInRecord]]
) -> ObjectiveEntry:
    owner = objective.owner
    target = objective.target
    return ObjectiveEntry(
        key=objective.id,
        title=objective.title,
        level=objective.level,
        owner=owner.id if owner.kind is OwnerKind.PERSON else f"{owner.kind.value}:{owner.id}",
        kind=objective.kind,
        parent=objective.parent_id,
        progress_source=objective.progress_source,
        target=None
        if target is None
        else TargetEntry(unit=target.unit, value=target.value, auto=target.auto, start=target.start),
        key_results=[_key_result(kr, history) for kr in tree.key_results_of(objective.id)],
    )


def _key_result(kr: KeyResult, history: dict[str, list[CheckInRecord]]) -> KeyResultEntry:
    band = kr.range
    binary_default = kr.measurement is MeasurementType.BINARY and kr.target == 1
    return KeyResultEntry(
        key=kr.id,
        title=kr.title,
        target=None if binary_default else kr.target,
        initial=kr.initial,
        critical=kr.critical,
        measurement=kr.measurement,
        progress_type=kr.progress_type,
        unit=kr.unit,
        currency=kr.currency,
        range=None
        if band is None
        else RangeEntry(
            red_low=band.red_low,
            yellow_low=band.yellow_low,
            yellow_high=band.yellow_high,
            red_high=band.red_high,
        ),
        weight=kr.weight,
        owners=list(kr.owners),
        deadline=kr.deadline,
        hard_deadline=kr.hard_deadline,
        cadence=kr.cadence,
        tags=list(kr.tags),
        check_ins=[
            CheckInEntry(
                at=record.at,
                value=record.value,
                by=record.author.person_id if isinstance(record.author, PersonAuthor) else None,
                note=record.note,
                confidence=record.confidence,
            )
            for record in history.get(kr.id, [])
            if isinstance(record.author, PersonAuthor | AdminAuthor)
        ],
    )


def _history(conn: Connection, kr_ids: list[int]) -> dict[str, list[CheckInRecord]]:
    found: dict[str, list[CheckInRecord]] = defaultdict(list)
    for batch in chunked(kr_ids):
        rows = conn.execute(
            select(OkrCheckIn, OkrKeyResult.key.label("kr_key"))
            .join(OkrKeyResult, OkrKeyResult.id == OkrCheckIn.key_result_id)
            .where(OkrCheckIn.key_result_id.in_(batch))
            .order_by(OkrCheckIn.at, OkrCheckIn.id)
        )
        for row in rows:
            found[row.kr_key].append(check_in_from_row(row, row.kr_key))
    return found


def _is_ancestor(tree: AlignmentTree, cycle_id: str, scope: frozenset[str]) -> bool:
    return any(_ancestors(tree, member) & {cycle_id} for member in scope)


def _ancestors(tree: AlignmentTree, cycle_id: str) -> set[str]:
    found: set[str] = set()
    parent = tree.cycles[cycle_id].parent_id
    while parent is not None and parent not in found:
        found.add(parent)
        parent = tree.cycles[parent].parent_id
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)
        if aware.time() == time(0):
            return date(aware.year, aware.month, aware.day)
        return aware.isoformat()
    return value
