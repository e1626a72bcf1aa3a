"""The provenance kept with an automated check-in: the query as rendered, and the raw result.

A fan-out's evidence holds the grouped query with every owner's id (2,000 owners make a SOQL of
40,000 characters) and is shared by every key result of the group. `RawResults` serialises each
request's evidence once (whole, and shortened) and composes each key result's raw result from
those texts, so 10,000 key results cost 10,000 small strings, not 10,000 dumps of 40,000
characters. The text is exactly what `json.dumps` gives for the same data.

Example:
    ```python
    raw = RawResults(results, limit=4000)
    for binding in plan.bindings:
        author = ConnectorAuthor(..., query=query_text(binding), raw_result=raw.for_binding(binding))
    ```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from hub.metrics import MetricResult
from mappings.compiler import Binding

EVIDENCE_TEXT_LIMIT = 400
EVIDENCE_LIST_LIMIT = 5
"""A too-long raw result keeps this much of each evidence text and list (a fan-out's IN list)."""
OMITTED = json.dumps({"omitted": "the connector's evidence is too long to keep with a check-in"})
"""The evidence of a raw result still too long with its evidence shortened."""

_Stage = Literal["whole", "shortened", "omitted"]


def query_text(binding: Binding) -> str:
    """The query as it reads for this key result alone; named queries as a JSON object."""
    if len(binding.queries) > 1:
        return json.dumps(dict(binding.queries))
    return next(iter(binding.queries.values()))


class RawResults:
    """Each key result's raw result: every input's group, value, row count and evidence, as JSON.

    The JSON is at most `limit` characters and always parses and shows the key result's own
    value: long texts and lists in the evidence are shortened first, and the evidence is left
    out only if that is still too long.
    """

    def __init__(self, results: Mapping[str, MetricResult], *, limit: int) -> None:
        """Compose raw results from `results` (by request key), each at most `limit` characters."""
        self._results = results
        self._limit = limit
        self._evidence: dict[tuple[str, _Stage], str] = {}

    def for_binding(self, binding: Binding) -> str:
        """The raw result of one key result."""
        text = self._compose(binding, "whole")
        if len(text) <= self._limit:
            return text
        text = self._compose(binding, "shortened")
        if len(text) <= self._limit:
            return text
        return self._compose(binding, "omitted")

    def _compose(self, binding: Binding, stage: _Stage) -> str:
        # The separators are json.dumps's defaults, so the text equals json.dumps of the dict.
        parts: list[str] = []
        for name, ref in binding.inputs.items():
            result = self._results.get(ref.request_key)
            value = None
            if result is not None:
                value = result.groups.get(ref.group) if ref.group is not None else result.value
            entry = (
                f'"group": {json.dumps(ref.group)}, "value": {json.dumps(value, default=str)}, '
                f'"rows": {json.dumps(result.rows if result is not None else 0, default=str)}, '
                f'"evidence": {self._evidence_text(ref.request_key, result, stage)}'
            )
            parts.append(f"{json.dumps(name)}: {{{entry}}}")
        return "{" + ", ".join(parts) + "}"

    def _evidence_text(self, key: str, result: MetricResult | None, stage: _Stage) -> str:
        if stage == "omitted":
            return OMITTED
        if result is None:
            return "{}"
        cached = self._evidence.get((key, stage))
        if cached is None:
            evidence: Any = dict(result.evidence)
            if stage == "shortened":
                evidence = shortened(evidence)
            cached = self._evidence[(key, stage)] = json.dumps(evidence, default=str)
        return cached


def shortened(value: Any) -> Any:
    """`value` with texts over 400 characters and lists over 5 items cut, saying how much was cut."""
    if isinstance(value, str) and len(value) > EVIDENCE_TEXT_LIMIT:
        return f"{value[:EVIDENCE_TEXT_LIMIT]}… ({len(value) - EVIDENCE_TEXT_LIMIT} more characters)"
    if isinstance(value, Mapping):
        return {str(key): shortened(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        kept = [shortened(item) for item in value[:EVIDENCE_LIST_LIMIT]]
        if len(value) > EVIDENCE_LIST_LIMIT:
            kept.append(f"… {len(value) - EVIDENCE_LIST_LIMIT} more")
        return kept
    return value
