"""Read one key result's value out of the plan's results: group lookup, expression, `on_no_data`.

Example:
    ```python
    results = {r.key: r for r in connector.run_queries(plan.requests_for("salesforce"))}
    bound = evaluate(binding, results)
    if bound.action == "check_in":
        store.check_in(binding.kr_key, bound.value, source=binding.mapping_id)

    groups = GroupLookup()                # many bindings: fold each result's group keys once
    values = [evaluate(b, results, groups=groups) for b in plan.bindings]
    ```
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from hub.metrics import MetricResult
from mappings.compiler import Binding
from mappings.expressions import evaluate_expression

Status = Literal["ok", "no_data", "error"]
"""`ok`: a value; `no_data`: the queries found nothing (or divided by zero); `error`: a query failed."""
Action = Literal["check_in", "skip", "hold"]
"""What the job does: check the value in, do nothing, or record it as held (suspect)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BoundValue:
    """A key result's value from one run, with the inputs it came from.

    With `on_no_data: zero`, no data becomes `value=0.0`, `status="ok"`; with `skip` it stays
    `no_data` and `action="skip"`; with `hold`, `action="hold"`. An error always means `skip`.
    """

    value: float | None
    status: Status
    error: str | None = None
    inputs: dict[str, float | None] = field(default_factory=dict)
    action: Action = "check_in"


class GroupLookup:
    """A group's value in a result: the exact key, else a key equal but for case.

    Vendors may answer a group key in another case (an email as stored in GA4 or Salesforce).
    Each result's keys are case-folded once, on its first miss, so a run evaluating 2,000
    owners of one result costs 2,000 lookups, not 2,000 scans of 2,000 keys.
    """

    def __init__(self) -> None:
        """An empty lookup; share one across the bindings of a run."""
        self._folded: dict[int, tuple[MetricResult, dict[str, float | None]]] = {}

    def __call__(self, result: MetricResult, group: str | None) -> float | None:
        """The value of `group` in `result` (its single value when `group` is None), or None."""
        if group is None:
            return result.value
        if group in result.groups:
            return result.groups[group]
        entry = self._folded.get(id(result))
        if entry is None or entry[0] is not result:
            folded: dict[str, float | None] = {}
            for key, value in result.groups.items():
                folded.setdefault(key.casefold(), value)
            entry = self._folded[id(result)] = (result, folded)
        return entry[1].get(group.casefold())


def evaluate(
    binding: Binding, results: Mapping[str, MetricResult], *, groups: GroupLookup | None = None
) -> BoundValue:
    """The value of `binding` given the results of the plan's requests (by request key).

    Args:
        binding: One key result's binding from `compile_plan`.
        results: Every result the connectors returned, by request key.
        groups: A lookup shared by the run's bindings (a new one when None).

    Returns:
        The value, its status, its inputs and what the job should do with it.
    """
    lookup = groups or GroupLookup()
    inputs: dict[str, float | None] = {}
    errors: list[str] = []
    for name, ref in binding.inputs.items():
        result = results.get(ref.request_key)
        if result is None:
            errors.append(f"query `{name}` has no result (request {ref.request_key} was not run)")
        elif result.error is not None:
            errors.append(f"query `{name}` failed: {result.error}")
        else:
            inputs[name] = lookup(result, ref.group)
    if errors:
        return BoundValue(value=None, status="error", error="; ".join(errors), inputs=inputs, action="skip")
    if binding.expression is None:
        value = next(iter(inputs.values()), None)
    else:
        value = evaluate_expression(binding.expression, inputs)
    if value is None or not math.isfinite(value):
        if binding.on_no_data == "zero":
            return BoundValue(value=0.0, status="ok", inputs=inputs)
        action: Action = "hold" if binding.on_no_data == "hold" else "skip"
        return BoundValue(value=None, status="no_data", inputs=inputs, action=action)
    return BoundValue(value=float(value), status="ok", inputs=inputs)


def is_suspect(binding: Binding, previous: float | None, value: float) -> bool:
    """True when `value` moved from `previous` by more than the mapping's `max_change_factor`.

    Without a factor or a previous value nothing is suspect; from 0 to anything is not (no base
    to compare); to 0 from anything else is.
    """
    factor = binding.max_change_factor
    if factor is None or previous is None or previous == 0:
        return False
    if value == 0:
        return True
    ratio = abs(value) / abs(previous)
    return ratio > factor or ratio < 1 / factor or (value > 0) != (previous > 0)
