"""Store fixtures: every store test runs on SQLite and on PostgreSQL (a fresh schema each)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hub.store.engine import ENV_VAR, create_store_engine
from hub.store.migrate import ensure_schema
from hub.store.testing import postgres_test_url, temporary_postgres_schema


@pytest.fixture(autouse=True)
def _no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own OKRHUB_DATABASE_URL must never redirect a test.
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'okrhub.db'}"
        return
    with temporary_postgres_schema(postgres_test_url()) as url:
        yield url


@pytest.fixture
def store_engine(store_url: str) -> Iterator[Engine]:
    """An engine on a store migrated to head."""
    engine = create_store_engine(store_url)
    try:
        ensure_schema(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL-only empty schema, for tests of PostgreSQL behaviour."""
    with temporary_postgres_schema(postgres_test_url()) as url:
        yield url
