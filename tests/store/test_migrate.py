from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from hub.errors import StoreError
from hub.store.engine import ENV_VAR, create_store_engine
from hub.store.migrate import (
    MIGRATIONS_DIR,
    current_revision,
    ensure_schema,
    head_revision,
    open_store,
    upgrade,
    version_table_schema,
)
from hub.store.models import Base
from hub.store.testing import postgres_test_url, temporary_postgres_schema, with_search_path

HEAD = "0006"

STORE_TABLES = {
    "runs",
    "run_rejections",
    "people",
    "departments",
    "identities",
    "sync_cursors",
    "staged_people",
    "okr_cycles",
    "okr_objectives",
    "okr_key_results",
    "okr_key_result_owners",
    "okr_check_ins",
    "kr_metric_state",
    "review_cycles",
    "ratings",
    "calibration_adjustments",
    "review_cycle_events",
    "outbox",
    "job_state",
    "alembic_version",
}

EXTRA_REVISION = """
from alembic import op
import sqlalchemy as sa

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("extra_things", sa.Column("id", sa.Integer, primary_key=True))
    {tail}


def downgrade():
    op.drop_table("extra_things")
"""


def _scripts_with_next(tmp_path: Path, tail: str = "") -> Path:
    # A revision after the shipped head, as a newer okrhub would bring.
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "versions" / "9999_extra.py").write_text(EXTRA_REVISION.format(tail=tail, head=HEAD))
    return target


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = create_store_engine(store_url)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names(schema=version_table_schema(conn)))


def test_head_is_the_okrs_revision() -> None:
    assert head_revision() == HEAD


def test_empty_store_is_created_at_head(engine: Engine) -> None:
    assert current_revision(engine) is None
    ensure_schema(engine)
    assert current_revision(engine) == head_revision()
    assert _tables(engine) == STORE_TABLES
    ensure_schema(engine)  # at head: nothing to do
    assert current_revision(engine) == head_revision()


def test_models_match_the_migrations(store_engine: Engine) -> None:
    def skip_version_table(name, type_, parent_names):
        return not (type_ == "table" and name == "alembic_version")

    with store_engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": skip_version_table}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_older_store_is_refused_with_the_fix(store_engine: Engine, tmp_path: Path) -> None:
    newer_code = _scripts_with_next(tmp_path)
    with pytest.raises(StoreError) as caught:
        ensure_schema(store_engine, script_location=newer_code)
    assert str(caught.value) == f"store schema is at {HEAD}, this okrhub needs 9999: run `okrhub db upgrade`"
    assert "extra_things" not in _tables(store_engine)

    upgrade(store_engine, script_location=newer_code)
    assert current_revision(store_engine) == "9999"
    ensure_schema(store_engine, script_location=newer_code)


def test_newer_store_is_refused(store_engine: Engine, tmp_path: Path) -> None:
    upgrade(store_engine, script_location=_scripts_with_next(tmp_path))
    with pytest.raises(StoreError, match="store schema is at 9999, which this okrhub does not know"):
        ensure_schema(store_engine)
    with pytest.raises(StoreError, match="newer okrhub"):
        upgrade(store_engine)


def test_tables_without_a_revision_are_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE legacy_things (id INTEGER)"))
    with pytest.raises(StoreError, match=r"has tables \(legacy_things\) but no okrhub schema revision"):
        ensure_schema(engine)
    assert current_revision(engine) is None


def test_failed_migration_changes_nothing(store_engine: Engine, tmp_path: Path) -> None:
    broken = _scripts_with_next(tmp_path, tail='op.execute("INSERT INTO no_such_table VALUES (1)")')
    with pytest.raises(StoreError, match="to head failed and changed nothing"):
        upgrade(store_engine, script_location=broken)
    assert current_revision(store_engine) == HEAD
    assert "extra_things" not in _tables(store_engine)


def test_upgrade_on_an_open_connection(engine: Engine) -> None:
    with engine.connect() as conn:
        upgrade(conn)
    assert current_revision(engine) == head_revision()


def test_upgrade_joins_the_callers_transaction(engine: Engine) -> None:
    with engine.connect() as conn:
        transaction = conn.begin()
        upgrade(conn)
        assert current_revision(conn) == head_revision()
        transaction.rollback()
    assert current_revision(engine) is None
    assert _tables(engine) == set()


def test_upgrade_from_a_url(store_url: str) -> None:
    upgrade(store_url)
    engine = create_store_engine(store_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrating_leaves_logging_alone(engine: Engine) -> None:
    sentinel = logging.getLogger("okrhub.tests.sentinel")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ensure_schema(engine)
    assert not sentinel.disabled
    assert root.handlers == handlers
    assert root.level == level


def test_concurrent_first_starts_all_succeed(store_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            engine = create_store_engine(store_url)
            try:
                ensure_schema(engine)
            finally:
                engine.dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [str(e) for e in errors] == []


def test_open_store_prefers_the_environment(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, store_url)
    engine = open_store("sqlite:///this/is/ignored.db")
    try:
        assert current_revision(engine) == head_revision()
        assert engine.url.render_as_string(hide_password=False).split("?")[0] == store_url.split("?")[0]
    finally:
        engine.dispose()
    assert not Path("this/is/ignored.db").exists()


def test_open_store_refuses_an_older_store(store_url: str, tmp_path: Path) -> None:
    upgrade(store_url, script_location=_scripts_with_next(tmp_path))
    with pytest.raises(StoreError, match="does not know"):
        open_store(store_url)


@pytest.mark.postgres
def test_version_table_lives_in_the_url_schema(pg_url: str) -> None:
    # Another schema later on the search_path holds a version table of its own; it must not be
    # mistaken for ours, and ours must land in the first schema.
    with temporary_postgres_schema(postgres_test_url()) as other_url:
        other = create_store_engine(other_url)
        try:
            with other.begin() as conn:
                other_schema = conn.execute(text("SELECT current_schema()")).scalar_one()
                conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
                conn.execute(text("INSERT INTO alembic_version VALUES ('zzzz')"))
        finally:
            other.dispose()
        mine = create_store_engine(pg_url)
        try:
            with mine.connect() as conn:
                my_schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        finally:
            mine.dispose()

        engine = create_store_engine(with_search_path(pg_url, my_schema, other_schema))
        try:
            assert current_revision(engine) is None
            ensure_schema(engine)
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT table_schema FROM information_schema.tables "
                        "WHERE table_name = 'alembic_version' ORDER BY table_schema"
                    )
                ).scalars()
                assert my_schema in set(rows)
                assert (
                    conn.execute(text(f"SELECT version_num FROM {other_schema}.alembic_version")).scalar()
                    == "zzzz"
                )
                assert (
                    conn.execute(text(f"SELECT version_num FROM {my_schema}.alembic_version")).scalar()
                    == HEAD
                )
                assert conn.execute(text(f"SELECT count(*) FROM {my_schema}.runs")).scalar() == 0
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_missing_search_path_schema_is_explained(pg_url: str) -> None:
    engine = create_store_engine(with_search_path(pg_url, "no_such_schema_here"))
    try:
        with pytest.raises(StoreError, match=r"no schema of the store's search_path \(no_such_schema_here\)"):
            ensure_schema(engine)
    finally:
        engine.dispose()
