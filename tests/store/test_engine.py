from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from hub.errors import StoreError
from hub.store.engine import (
    DEFAULT_SQLITE_PATH,
    create_store_engine,
    mask_url,
    resolve_database_url,
)
from hub.store.testing import with_search_path


class TestResolveDatabaseUrl:
    def test_environment_wins_over_config(self) -> None:
        env = {"OKRHUB_DATABASE_URL": "sqlite:////srv/okrhub.db"}
        assert resolve_database_url("sqlite:///config.db", env=env) == "sqlite:////srv/okrhub.db"

    def test_config_used_without_environment(self) -> None:
        assert resolve_database_url("sqlite:///config.db", env={}) == "sqlite:///config.db"

    def test_empty_environment_value_is_ignored(self) -> None:
        env = {"OKRHUB_DATABASE_URL": ""}
        assert resolve_database_url("sqlite:///config.db", env=env) == "sqlite:///config.db"

    def test_default_is_local_sqlite(self) -> None:
        assert resolve_database_url(None, env={}) == "sqlite:///.okrhub/okrhub.db"
        assert Path(".okrhub/okrhub.db") == DEFAULT_SQLITE_PATH

    @pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
    def test_bare_postgres_gets_psycopg_driver(self, scheme: str) -> None:
        url = resolve_database_url(f"{scheme}://okr:pw@db:5432/okrhub", env={})
        assert url == "postgresql+psycopg://okr:pw@db:5432/okrhub"

    def test_explicit_driver_is_kept(self) -> None:
        env = {"OKRHUB_DATABASE_URL": "postgresql+psycopg://db/okrhub"}
        assert resolve_database_url(None, env=env) == "postgresql+psycopg://db/okrhub"

    def test_reads_os_environ_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OKRHUB_DATABASE_URL", "postgresql://from-env/db")
        assert resolve_database_url("sqlite:///config.db") == "postgresql+psycopg://from-env/db"


class TestMasking:
    def test_password_is_masked(self) -> None:
        assert (
            mask_url("postgresql+psycopg://okr:hunter22@db/okrhub")
            == "postgresql+psycopg://okr:***@db/okrhub"
        )

    def test_unparseable_url_is_masked_too(self) -> None:
        masked = mask_url("post gres://okr:hunter22@db/okrhub")
        assert "hunter22" not in masked


class TestCreateStoreEngine:
    def test_sqlite_creates_folder_and_sets_pragmas(self, tmp_path: Path) -> None:
        path = tmp_path / "deep" / "er" / "okrhub.db"
        engine = create_store_engine(f"sqlite:///{path}")
        try:
            assert path.parent.is_dir()
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        finally:
            engine.dispose()

    def test_sqlite_ddl_is_transactional(self, tmp_path: Path) -> None:
        engine = create_store_engine(f"sqlite:///{tmp_path / 'x.db'}")
        try:
            with engine.connect() as conn:
                conn.execute(text("CREATE TABLE t (x INTEGER)"))
                conn.rollback()
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0
        finally:
            engine.dispose()

    def test_sqlite_folder_that_cannot_exist(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        with pytest.raises(StoreError, match="cannot create the folder"):
            create_store_engine(f"sqlite:///{blocker / 'okrhub.db'}")

    def test_unreachable_postgres_names_url_without_password(self) -> None:
        url = "postgresql+psycopg://okr:s3cr3t-pw@127.0.0.1:1/okrhub?connect_timeout=3"
        with pytest.raises(StoreError) as caught:
            create_store_engine(url)
        message = str(caught.value)
        assert "s3cr3t-pw" not in message
        assert "postgresql+psycopg://okr:***@127.0.0.1:1/okrhub" in message
        assert "check that the server is running" in message
        assert "OKRHUB_DATABASE_URL" in message

    def test_unknown_driver_is_a_store_error(self) -> None:
        with pytest.raises(StoreError, match=r"cannot use store URL `mysqlx://okr:\*\*\*@db/x`") as caught:
            create_store_engine("mysqlx://okr:topsecret@db/x")
        assert "topsecret" not in str(caught.value)

    def test_malformed_url_is_a_store_error(self) -> None:
        with pytest.raises(StoreError, match="is not a database URL"):
            create_store_engine("not a url at all")

    @pytest.mark.postgres
    def test_postgres_pings_and_uses_search_path(self, pg_url: str) -> None:
        engine = create_store_engine(pg_url)
        try:
            assert engine.pool._pre_ping
            with engine.connect() as conn:
                schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            assert schema.startswith("t_")
            assert f"search_path%3D{schema}" in pg_url
        finally:
            engine.dispose()


def test_with_search_path_keeps_other_options() -> None:
    url = with_search_path("postgresql+psycopg://u@h/db?options=-cstatement_timeout%3D5000", "a", "b")
    assert make_url(url).query["options"] == "-cstatement_timeout=5000 -csearch_path=a,b"
