"""The YAML mapping language that binds metric queries to key results, and its compiler.

An admin writes mappings (`config/mappings/*.yaml`); `load_mappings` checks them with file and
line for every mistake; the hub job resolves each mapping's targets to key results and
`compile_plan` turns everything into few, coalesced `QueryRequest`s plus one `Binding` per key
result; `evaluate` reads each key result's value out of the connectors' results. The package is
pure: no network, no store.

Example:
    ```python
    mapping_set = load_mappings(Path("config/mappings"), connections={"salesforce": "salesforce"})
    plan = compile_plan(mapping_set, {"closed_won_by_owner": krs}, now=datetime.now(UTC))
    results = {r.key: r for r in connector.run_queries(plan.requests_for("salesforce"))}
    values = {b.kr_key: evaluate(b, results) for b in plan.bindings}
    ```
"""

from __future__ import annotations

from mappings.compiler import Binding, InputRef, PlanProblem, QueryPlan, compile_plan
from mappings.evaluate import BoundValue, evaluate, is_suspect
from mappings.loader import load_mappings, load_mappings_text
from mappings.mapping_set import MappingSet, MetricMapping
from mappings.schema import mappings_json_schema
from mappings.targets import OwnerIdentity, TargetKR
from mappings.windows import WindowSpec, resolve_window

__all__ = [
    "Binding",
    "BoundValue",
    "InputRef",
    "MappingSet",
    "MetricMapping",
    "OwnerIdentity",
    "PlanProblem",
    "QueryPlan",
    "TargetKR",
    "WindowSpec",
    "compile_plan",
    "evaluate",
    "is_suspect",
    "load_mappings",
    "load_mappings_text",
    "mappings_json_schema",
    "resolve_window",
]
