from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mappings

PACKAGE = Path(mappings.__file__).resolve().parent
NETWORK_OR_STORE = {
    "httpx",
    "requests",
    "socket",
    "sqlalchemy",
    "hub.store",
    "hub.http",
    "connectors",
    "urllib",
}


def test_all_is_sorted_and_every_name_exists():
    assert mappings.__all__ == sorted(mappings.__all__)
    for name in mappings.__all__:
        assert hasattr(mappings, name), name


def test_the_public_surface():
    assert set(mappings.__all__) == {
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
    }


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_the_package_is_pure(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    for name in names:
        assert not any(name == bad or name.startswith(f"{bad}.") for bad in NETWORK_OR_STORE), (
            f"{path.name}: {name}"
        )
    futures = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    assert futures, f"{path.name} lacks `from __future__ import annotations`"
