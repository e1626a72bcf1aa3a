"""What the hub job hands the compiler: the key results a mapping's `targets` selected, with owners.

The job resolves each mapping's selector against the OKR store (the compiler never reads the
store) and passes, per mapping id, the key results found with their cycle and owner identity.

Example:
    ```python
    owner = OwnerIdentity(employee_id="1042", email="ana@acme.test", ids={"salesforce": "005A00000012345AAA"})
    targets = {"closed_won_by_owner": [TargetKR(key="kr-ana-q4", cycle_start=date(2026, 10, 1),
                                                 cycle_end=date(2026, 12, 31), owner=owner)]}
    plan = compile_plan(mapping_set, targets, now=datetime(2026, 11, 5, 6, 0, tzinfo=UTC))
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerIdentity:
    """The owner of a key result as the metric systems know them.

    `ids` maps an identity system (`salesforce`, `jira`, ...: the keys of `org_sync.identities`
    in hub.yaml) to the person's id there; `{owner.salesforce_id}` reads `ids["salesforce"]`.
    """

    employee_id: str
    email: str | None = None
    ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetKR:
    """One key result a mapping updates: its key, its cycle's dates and its owner (None: no owner)."""

    key: str
    cycle_start: date
    cycle_end: date
    owner: OwnerIdentity | None = None
