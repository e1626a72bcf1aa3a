"""Helpers for tests that need a real store: a throwaway PostgreSQL schema per test.

Tests isolate themselves on one shared PostgreSQL database by working in a fresh schema, named
in the URL's `options=-csearch_path=...`, which is dropped afterwards.

Example:
    ```python
    @pytest.fixture
    def pg_url() -> Iterator[str]:
        with temporary_postgres_schema(postgres_test_url()) as url:
            yield url  # postgresql+psycopg://...?options=-csearch_path%3Dt_1a2b3c...
    ```
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import make_url, text

from hub.errors import StoreError
from hub.store.engine import create_store_engine, mask_url, resolve_database_url

POSTGRES_TEST_URL_ENV = "OKRHUB_TEST_POSTGRES_URL"
"""Environment variable naming the PostgreSQL database tests may create schemas in."""

DEFAULT_POSTGRES_TEST_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
"""The database CI starts (trust auth), used when `OKRHUB_TEST_POSTGRES_URL` is not set."""


def postgres_test_url(env: Mapping[str, str] | None = None) -> str:
    """The PostgreSQL URL for tests: `OKRHUB_TEST_POSTGRES_URL`, else the CI default."""
    environ = os.environ if env is None else env
    return resolve_database_url(environ.get(POSTGRES_TEST_URL_ENV) or DEFAULT_POSTGRES_TEST_URL, env={})


def with_search_path(url: str, *schemas: str) -> str:
    """`url` with its PostgreSQL `search_path` set to `schemas` (other `options` are kept)."""
    parsed = make_url(url)
    existing = parsed.query.get("options")
    kept = " ".join(
        part
        for part in (existing if isinstance(existing, str) else " ".join(existing or ())).split()
        if not part.startswith("-csearch_path=")
    )
    option = f"-csearch_path={','.join(schemas)}"
    options = f"{kept} {option}" if kept else option
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


@contextmanager
def temporary_postgres_schema(base_url: str) -> Iterator[str]:
    """Create an empty schema `t_<random>`, yield a URL scoped to it, then drop it with CASCADE.

    Dispose every engine made from the yielded URL before the block ends: the drop waits (up
    to 10 s) for open transactions in the schema.

    Raises:
        StoreError: PostgreSQL is unreachable at `base_url` (tests must fail, not skip).
    """
    schema = f"t_{secrets.token_hex(8)}"
    try:
        admin = create_store_engine(resolve_database_url(base_url, env={}))
    except StoreError as exc:
        raise StoreError(
            f"PostgreSQL for tests is not reachable at `{mask_url(base_url)}` ({exc}); start it "
            f"(CI does) or point {POSTGRES_TEST_URL_ENV} at one"
        ) from exc
    quoted = admin.dialect.identifier_preparer.quote(schema)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {quoted}"))
        try:
            yield with_search_path(admin.url.render_as_string(hide_password=False), schema)
        finally:
            with admin.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                conn.execute(text(f"DROP SCHEMA IF EXISTS {quoted} CASCADE"))
    finally:
        admin.dispose()
