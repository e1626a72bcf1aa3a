"""Alembic environment for the okrhub store.

Run through `hub.store.migrate`, which builds the Alembic `Config` in code and passes an open
connection in `config.attributes["connection"]`. Logging is left alone: no `fileConfig`.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from hub.store.engine import begin_write, create_store_engine
from hub.store.migrate import version_table_schema
from hub.store.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Revisions must not import app code: write our UTC type as the plain column type it wraps.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    # The version table lives in an explicit schema, so autogenerate would see it as a stray.
    return not (type_ == "table" and name == "alembic_version")


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=version_table_schema(connection),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
        # SQLAlchemy emits BEGIN on SQLite too (see hub.store.engine), so DDL is transactional.
        transactional_ddl=True,
    )


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_item=render_item,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("hub.store.migrate passes a connection or sqlalchemy.url; got neither")
    engine = create_store_engine(url)
    try:
        with begin_write(engine) as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
