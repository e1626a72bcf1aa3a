"""Fixtures shared across test folders: a real store on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hub.store.migrate import open_store
from hub.store.testing import postgres_test_url, temporary_postgres_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated-on-first-use store URL: a SQLite file, or a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'okrhub.db'}"
    else:
        with temporary_postgres_schema(postgres_test_url()) as url:
            yield url


@pytest.fixture
def store_engine(store_url: str) -> Iterator[Engine]:
    """An engine on a migrated, empty store (both backends)."""
    engine = open_store(store_url)
    try:
        yield engine
    finally:
        engine.dispose()
