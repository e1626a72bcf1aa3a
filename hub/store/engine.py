"""Where the store lives and how to connect to it.

The store is SQLite for a single admin on a laptop and PostgreSQL for a deployment with workers.
`resolve_database_url` picks the URL (environment, then config, then a local SQLite file) and
`create_store_engine` builds an engine tuned for the backend and proves it can connect.

Example:
    ```python
    url = resolve_database_url(settings.store_url)
    engine = create_store_engine(url)
    with begin_write(engine) as conn:
        conn.execute(...)
    ```
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from hub.errors import StoreError

logger = logging.getLogger(__name__)

ENV_VAR = "OKRHUB_DATABASE_URL"
"""The environment variable whose URL wins over the config file."""

DEFAULT_SQLITE_PATH = Path(".okrhub/okrhub.db")
"""The SQLite file used when neither the environment nor the config names a store."""

DEFAULT_URL = f"sqlite:///{DEFAULT_SQLITE_PATH.as_posix()}"

BEGIN_IMMEDIATE = "okrhub_begin_immediate"
"""Execution option: on SQLite, open the transaction with `BEGIN IMMEDIATE` (take the write lock)."""

_SQLITE_PRAGMAS: tuple[str, ...] = (
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)
_WAL_ATTEMPTS = 100
_WAL_PAUSE_S = 0.05
_CREDENTIALS_IN_URL = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<password>[^@\s]*)(?P<at>@)")


def resolve_database_url(config_url: str | None, env: Mapping[str, str] | None = None) -> str:
    """The store URL to use: `OKRHUB_DATABASE_URL`, else the config's URL, else local SQLite.

    A bare `postgresql://` (or `postgres://`) URL is rewritten to `postgresql+psycopg://`, the
    driver okrhub ships with.

    Args:
        config_url: The URL from the config file, if it names one.
        env: The environment to read; `os.environ` when None.

    Returns:
        A SQLAlchemy URL string.
    """
    environ = os.environ if env is None else env
    url = environ.get(ENV_VAR) or config_url or DEFAULT_URL
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by `***`, safe to print or log."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return _CREDENTIALS_IN_URL.sub(r"\g<head>***\g<at>", url)


def create_store_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for the store at `url`, tuned for its backend and proven to connect.

    SQLite: the parent folder is created, and every connection runs in WAL mode with foreign
    keys on, a 30 s busy timeout and `synchronous=NORMAL`; SQLAlchemy (not the `sqlite3` module)
    emits `BEGIN`, so DDL is transactional. PostgreSQL: connections are pinged before use.

    Args:
        url: A SQLAlchemy URL (see `resolve_database_url`).
        echo: Log every SQL statement (for debugging).

    Returns:
        A connected-once engine; the caller disposes it.

    Raises:
        StoreError: The URL is malformed, its driver is missing, or the database is unreachable.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"store URL `{mask_url(url)}` is not a database URL; expected e.g. "
            f"`sqlite:///{DEFAULT_SQLITE_PATH.as_posix()}` or `postgresql://user@host/db` "
            f"(set {ENV_VAR} or the config's store URL)"
        ) from exc

    # orjson instead of the stdlib: JSON columns are written per row, 100,000 rows a sync.
    kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        raise StoreError(
            f"cannot use store URL `{mask_url(parsed)}`: {exc}; okrhub supports `sqlite:///PATH` "
            f"and `postgresql+psycopg://USER@HOST/DB`"
        ) from exc

    if engine.dialect.name == "sqlite":
        try:
            _prepare_sqlite(engine)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder of the SQLite store `{mask_url(parsed)}`: {exc}; check the "
                f"path and its permissions"
            ) from exc

    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        engine.dispose()
        raise unreachable_error(parsed, exc) from exc
    logger.debug("store engine ready for %s", mask_url(parsed))
    return engine


def unreachable_error(url: URL, exc: BaseException) -> StoreError:
    """A `StoreError` for a store that refused a connection, with what to check and no password."""
    detail = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()
    reason = detail[0] if detail else type(exc).__name__
    if url.password:
        reason = reason.replace(str(url.password), "***")
    if url.get_backend_name() == "sqlite":
        check = "check that the folder is writable and the file is a SQLite database"
    else:
        check = (
            "check that the server is running and reachable from here, the user and password, "
            "that the database exists, and any `search_path` schema in the URL"
        )
    return StoreError(
        f"cannot reach the store at `{mask_url(url)}`: {reason}; {check} "
        f"(the URL comes from {ENV_VAR}, else the config's store URL)"
    )


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that will write, committed when the block exits cleanly.

    On SQLite the transaction starts with `BEGIN IMMEDIATE`, so it waits for the write lock up
    front (honouring `busy_timeout`) instead of failing with "database is locked" when a read
    turns into a write while another process writes. Elsewhere it is a plain `engine.begin()`.

    Example:
        ```python
        with begin_write(engine) as conn:
            row = conn.execute(select(Run.status).where(Run.id == run_id)).one()
            conn.execute(update(Run).where(Run.id == run_id).values(status="failed"))
        ```
    """
    with engine.connect() as conn:
        conn.execution_options(**{BEGIN_IMMEDIATE: True})
        with conn.begin():
            yield conn


def _prepare_sqlite(engine: Engine) -> None:
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (it skips it before DDL and SELECT) so that
        # transactions, and the migrations inside them, are real.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
            _enable_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(BEGIN_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _enable_wal(cursor: Any) -> None:
    # WAL is a property of the file, set once. Switching needs an exclusive lock for which
    # SQLite does not call the busy handler, so processes opening a new store at the same
    # moment would fail with "database is locked"; retry briefly instead.
    for attempt in range(_WAL_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.fetchall()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _WAL_ATTEMPTS - 1:
                raise
            time.sleep(_WAL_PAUSE_S)
        else:
            return
