"""okr_core is pure domain code: it imports only the standard library and itself, and no I/O."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "okr_core"
PROJECT_PACKAGES = {
    "hub",
    "connectors",
    "mappings",
    "workers",
    "sandbox",
    "config",
    "tests",
    "bench",
    "scripts",
}
IO_MODULES = {
    *("asyncio", "http", "io", "os", "pathlib", "shutil", "socket", "sqlite3", "subprocess", "tempfile"),
    *("urllib", "logging.handlers", "pickle", "shelve"),
}
MODULES = sorted(PACKAGE.rglob("*.py"))


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports (okr_core.x), not relative ones"
            assert node.module is not None
            names.append(node.module)
    return names


def test_the_package_has_modules():
    assert len(MODULES) >= 10


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_okr_core_imports_only_the_standard_library_and_itself(path):
    for name in imported_modules(path):
        top = name.split(".")[0]
        assert top not in PROJECT_PACKAGES, f"{path.name} imports `{name}`: okr_core must not depend on {top}"
        assert top == "okr_core" or top in sys.stdlib_module_names or top == "__future__", (
            f"{path.name} imports third-party `{name}`; okr_core is pure standard-library Python"
        )
        assert name not in IO_MODULES, f"{path.name} imports I/O module `{name}`"
        assert top not in IO_MODULES, f"{path.name} imports I/O module `{name}`"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_every_module_uses_postponed_annotations(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    futures = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    assert any(alias.name == "annotations" for node in futures for alias in node.names), path.name
