"""Bring the store's schema to the revision this okrhub needs, and refuse to run on any other.

Alembic is driven in code: the `Config` is built here with `script_location` pointing at the
`migrations/` folder inside the package, so no `alembic.ini` is needed and logging is never
reconfigured. On PostgreSQL the version table lives in the connection's current schema (the
first existing schema of the URL's `options=-csearch_path=...`), next to the tables.

Example:
    ```python
    engine = open_store(settings.store_url)  # resolve, connect, create or check the schema
    ...
    upgrade("postgresql://okrhub@db/okrhub")  # what `okrhub db upgrade` runs
    ```
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from hub.errors import StoreError
from hub.store.engine import (
    begin_write,
    create_store_engine,
    mask_url,
    resolve_database_url,
    unreachable_error,
)

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
"""The Alembic script folder shipped inside the package."""

_PG_MIGRATION_LOCK = 0x6F6B7268756231
"""Advisory lock key: two processes starting on an empty PostgreSQL store migrate one at a time."""


def alembic_config(
    *, connection: Connection | None = None, url: str | None = None, script_location: Path | None = None
) -> Config:
    """An Alembic `Config` built in code, for `alembic.command` functions.

    Args:
        connection: An open connection the migrations run on (`config.attributes["connection"]`).
        url: A URL for `env.py` to connect to when no connection is given.
        script_location: Another Alembic script folder (tests use one with extra revisions).

    Returns:
        The config; nothing is read from disk but the scripts.
    """
    config = Config()
    # ConfigParser interpolates `%`, and URLs carry `%3D` and friends.
    config.set_main_option("script_location", str(script_location or MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision(*, script_location: Path | None = None) -> str:
    """The revision this okrhub's code expects the store to be at."""
    head = ScriptDirectory.from_config(alembic_config(script_location=script_location)).get_current_head()
    if head is None:
        raise StoreError(f"no store migrations found in {script_location or MIGRATIONS_DIR}")
    return head


def version_table_schema(connection: Connection) -> str | None:
    """The schema the Alembic version table belongs in: PostgreSQL's current schema, else None.

    Raises:
        StoreError: On PostgreSQL, no schema of the connection's `search_path` exists.
    """
    if connection.dialect.name != "postgresql":
        return None
    schema = connection.execute(text("SELECT current_schema()")).scalar_one_or_none()
    if schema is None:
        path = connection.execute(text("SHOW search_path")).scalar_one()
        raise StoreError(
            f"no schema of the store's search_path ({path}) exists; create it "
            f"(`CREATE SCHEMA ...`) or fix `options=-csearch_path=...` in the store URL"
        )
    return str(schema)


def current_revision(engine: Engine | Connection) -> str | None:
    """The revision the store is at, or None when it has never been migrated.

    Raises:
        StoreError: The store is unreachable.
    """
    if isinstance(engine, Connection):
        return _current(engine)
    try:
        with engine.connect() as conn:
            return _current(conn)
    except SQLAlchemyError as exc:
        raise unreachable_error(engine.url, exc) from exc


def upgrade(
    engine_or_url: Engine | Connection | str, revision: str = "head", *, script_location: Path | None = None
) -> None:
    """Migrate the store up to `revision`, in one transaction.

    Args:
        engine_or_url: An engine, an open connection (migrated inside its transaction, which is
            begun and committed here if none is open), or a URL (an engine is made and disposed).
        revision: The target revision; the latest by default.
        script_location: Another Alembic script folder (tests).

    Raises:
        StoreError: The store is unreachable, or a migration failed (nothing was changed).
    """
    if isinstance(engine_or_url, str):
        engine = create_store_engine(engine_or_url)
        try:
            upgrade(engine, revision, script_location=script_location)
        finally:
            engine.dispose()
        return
    try:
        if isinstance(engine_or_url, Connection):
            conn = engine_or_url
            url = conn.engine.url
            if conn.in_transaction():
                _upgrade_on(conn, revision, script_location)
            else:
                with conn.begin():
                    _upgrade_on(conn, revision, script_location)
        else:
            url = engine_or_url.url
            with begin_write(engine_or_url) as conn:
                _upgrade_on(conn, revision, script_location)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"upgrading the store at `{mask_url(url)}` to {revision} failed and changed nothing: "
            f"{_first_line(exc)}"
        ) from exc


def ensure_schema(engine: Engine, *, script_location: Path | None = None) -> None:
    """Make sure the store is at the revision this okrhub needs; create it when empty.

    An empty database is migrated to the head revision on the spot. Anything else that is not
    at head is refused, since migrating a shared store is an admin's decision.

    Raises:
        StoreError: The store is at an older revision (run `okrhub db upgrade`), at a revision
            this okrhub does not know (a newer okrhub migrated it), holds tables but no
            revision (not an okrhub store), or is unreachable.
    """
    head = head_revision(script_location=script_location)
    try:
        with engine.connect() as conn:
            # Tables first: a concurrent first migration commits tables and revision together,
            # so seeing its tables guarantees seeing its revision on the next read.
            tables = _table_names(conn)
            current = _current(conn)
    except SQLAlchemyError as exc:
        raise unreachable_error(engine.url, exc) from exc

    where = mask_url(engine.url)
    if current == head:
        return
    if current is None:
        if tables:
            shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise StoreError(
                f"the store at `{where}` has tables ({shown}) but no okrhub schema revision: it is "
                f"not an okrhub store, or was made without migrations; point okrhub at an empty "
                f"database (or schema), or stamp it with alembic if it really is okrhub's"
            )
        logger.info("store at %s is empty: creating the schema (revision %s)", where, head)
        upgrade(engine, "head", script_location=script_location)
        return
    known = {script.revision for script in _scripts(script_location).walk_revisions()}
    if current in known:
        raise StoreError(f"store schema is at {current}, this okrhub needs {head}: run `okrhub db upgrade`")
    raise StoreError(
        f"store schema is at {current}, which this okrhub does not know (it needs {head}); the "
        f"store was migrated by a newer okrhub: upgrade okrhub, or use another store"
    )


def open_store(url: str | None = None, *, echo: bool = False) -> Engine:
    """Resolve the store URL, connect, and make sure the schema is current.

    Args:
        url: The config's store URL; `OKRHUB_DATABASE_URL` wins over it (see
            `resolve_database_url`), and local SQLite is used when both are absent.
        echo: Log every SQL statement.

    Returns:
        An engine on a store at the head revision; the caller disposes it.

    Raises:
        StoreError: See `create_store_engine` and `ensure_schema`.
    """
    engine = create_store_engine(resolve_database_url(url), echo=echo)
    try:
        ensure_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _scripts(script_location: Path | None) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(script_location=script_location))


def _current(conn: Connection) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table_schema": version_table_schema(conn)})
    return context.get_current_revision()


def _table_names(conn: Connection) -> list[str]:
    return inspect(conn).get_table_names(schema=version_table_schema(conn))


def _upgrade_on(conn: Connection, revision: str, script_location: Path | None) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    before = _current(conn)
    try:
        command.upgrade(alembic_config(connection=conn, script_location=script_location), revision)
    except CommandError as exc:
        raise StoreError(
            f"cannot upgrade the store to {revision}: {exc} (a store migrated by a newer okrhub "
            f"cannot be used by this one)"
        ) from exc
    after = _current(conn)
    if before != after:
        logger.info("store schema upgraded from %s to %s", before or "empty", after)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
