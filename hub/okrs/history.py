"""The check-ins an import file carries: which are new, which the store has, which contradict it.

A check-in is identified by its key result and its time. One the store already has is counted
unchanged when it says the same (value, author, note, confidence) and refused otherwise: history
is append-only. A new one goes through `okr_core.record_check_in`, in time order, on top of the
key result as the file defines it, so a refusal (cycle not started, hard deadline passed, closed
key result) is reported at the check-in's line and the final state is what the store will hold.

Example:
    ```python
    final, planned, unchanged = plan_check_ins(conn, problems, tree, entries, definitions, people, ids)
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import Connection, select

from hub.config.yaml_source import Loc
from hub.okrs.document import CheckInEntry, KeyResultEntry
from hub.okrs.people import PersonRef, ref_key
from hub.okrs.problems import Problems
from hub.okrs.records import AdminAuthor, Author, domain_author
from hub.okrs.rows import author_from_row
from hub.store.bulk import chunked
from hub.store.models import OkrCheckIn
from okr_core.checkins import CheckIn, ConnectorAuthor, PersonAuthor, record_check_in
from okr_core.key_results import KeyResult
from okr_core.tree import AlignmentTree

_Stored = tuple[float, Author, str, int | None]


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedCheckIn:
    """A check-in from the file that the store does not have yet."""

    check_in: CheckIn
    author: Author


def plan_check_ins(
    conn: Connection,
    problems: Problems,
    tree: AlignmentTree,
    entries: Mapping[str, tuple[Loc, KeyResultEntry]],
    definitions: Mapping[str, KeyResult],
    people: Mapping[str, PersonRef],
    key_result_ids: Mapping[str, int],
) -> tuple[dict[str, KeyResult], list[PlannedCheckIn], int]:
    """Check the file's check-ins against the store and the domain.

    Args:
        conn: The store.
        problems: Where refusals go.
        tree: The merged tree (the file over the store), for each key result's cycle.
        entries: Each key result's location and entry in the file, by key.
        definitions: Each key result as the file defines it (with the stored state), by key.
        people: The people the file names, by `ref_key`.
        key_result_ids: Row ids of the stored key results, by key.

    Returns:
        The key results after the new check-ins, the new check-ins, and how many the store had.
    """
    final = dict(definitions)
    existing = _stored(
        conn, {key_result_ids[k]: k for k, (_, e) in entries.items() if e.check_ins and k in key_result_ids}
    )
    planned: list[PlannedCheckIn] = []
    unchanged = 0
    for key, (loc, entry) in entries.items():
        if key not in final or not entry.check_ins:
            continue
        cycle = tree.cycles[final[key].cycle_id]
        seen: dict[datetime, int] = {}
        for index, item in sorted(enumerate(entry.check_ins), key=lambda pair: aware(pair[1].at)):
            item_loc = (*loc, "check_ins", index)
            at = aware(item.at)
            author: Author = (
                AdminAuthor()
                if item.by is None
                else PersonAuthor(person_id=people[ref_key(item.by)].employee_id)
            )
            if at in seen:
                problems.add(
                    f"two check-ins at {at.isoformat()} (the other is item {seen[at]})", item_loc, "at"
                )
                continue
            seen[at] = index
            stored = existing.get((key, at))
            if stored is not None:
                if stored == (float(item.value), author, item.note, item.confidence):
                    unchanged += 1
                else:
                    problems.add(
                        f"a check-in at {at.isoformat()} is already stored with value {stored[0]:g} by "
                        f"{_who(stored[1])}; check-in history is never rewritten, give this one another time",
                        item_loc,
                    )
                continue
            check_in = problems.domain(item_loc, partial(_check_in, key, item, at, author))
            if check_in is None:
                continue
            updated = problems.domain(item_loc, partial(record_check_in, final[key], check_in, cycle=cycle))
            if updated is not None:
                final[key] = updated
                planned.append(PlannedCheckIn(check_in=check_in, author=author))
    return final, planned, unchanged


def aware(moment: datetime) -> datetime:
    """`moment` in UTC; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment.astimezone(UTC)


def _stored(conn: Connection, ids: Mapping[int, str]) -> dict[tuple[str, datetime], _Stored]:
    found: dict[tuple[str, datetime], _Stored] = {}
    for batch in chunked(sorted(ids)):
        for row in conn.execute(select(OkrCheckIn).where(OkrCheckIn.key_result_id.in_(batch))):
            found[(ids[row.key_result_id], row.at)] = (
                row.value,
                author_from_row(row),
                row.note,
                row.confidence,
            )
    return found


def _who(author: Author) -> str:
    if isinstance(author, PersonAuthor):
        return author.person_id
    if isinstance(author, ConnectorAuthor):
        return f"connection {author.connection}"
    return "admin"


def _check_in(key: str, item: CheckInEntry, at: datetime, author: Author) -> CheckIn:
    return CheckIn(
        id=f"{key}@{at.isoformat()}",
        key_result_id=key,
        value=item.value,
        at=at,
        author=domain_author(author),
        note=item.note,
        confidence=item.confidence,
    )
