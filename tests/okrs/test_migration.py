"""Migration 0002 adds the OKR tables to a store at 0001 and leaves the org data alone."""

from __future__ import annotations

from datetime import date

from alembic import command
from sqlalchemy import insert, inspect, select

from hub.okrs.importing import import_okrs
from hub.okrs.source import parse_yaml_document
from hub.store.engine import create_store_engine
from hub.store.migrate import (
    alembic_config,
    current_revision,
    ensure_schema,
    head_revision,
    upgrade,
    version_table_schema,
)
from hub.store.models import Department, Identity, Person, Run

from .conftest import BASE

OKR_TABLES = {"okr_cycles", "okr_objectives", "okr_key_results", "okr_key_result_owners", "okr_check_ins"}


def test_upgrade_from_0001_keeps_the_org_and_adds_the_okr_tables(store_url: str) -> None:
    engine = create_store_engine(store_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(
                insert(Person),
                [
                    {
                        "employee_id": employee_id,
                        "source_connection": "hr",
                        "display_name": name,
                        "email": email,
                        "email_lower": email,
                        "status": "active",
                        "content_hash": "a" * 64,
                        "hire_date": date(2020, 1, 1),
                        "attributes": {"division": "Sales"},
                    }
                    for employee_id, name, email in (
                        ("1001", "Omar", "omar@example.com"),
                        ("1002", "Ana", "ana@example.com"),
                        ("1003", "Ben", "ben@example.com"),
                    )
                ],
            )
            person_id = conn.scalar(select(Person.id).where(Person.employee_id == "1002"))
            conn.execute(insert(Identity).values(person_id=person_id, system="jira", external_id="abc"))
            conn.execute(
                insert(Department), [{"key": "D1", "name": "Sales"}, {"key": "D2", "name": "Engineering"}]
            )
            conn.execute(insert(Run).values(job="org_sync", status="succeeded", counts={"created": 3}))
        with engine.connect() as conn:
            before = {
                "people": conn.execute(select(Person).order_by(Person.id)).all(),
                "identities": conn.execute(select(Identity)).all(),
                "departments": conn.execute(select(Department).order_by(Department.id)).all(),
                "runs": conn.execute(select(Run)).all(),
            }
            assert not OKR_TABLES & set(inspect(conn).get_table_names(schema=version_table_schema(conn)))

        upgrade(engine)
        assert current_revision(engine) == head_revision()
        ensure_schema(engine)
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names(schema=version_table_schema(conn))) >= OKR_TABLES
            assert conn.execute(select(Person).order_by(Person.id)).all() == before["people"]
            assert conn.execute(select(Identity)).all() == before["identities"]
            assert conn.execute(select(Department).order_by(Department.id)).all() == before["departments"]
            assert conn.execute(select(Run)).all() == before["runs"]

        result = import_okrs(engine, parse_yaml_document(BASE, source="okrs.yaml"))
        assert result.counts["key_results"]["created"] == 3
    finally:
        engine.dispose()


def test_downgrade_to_0001_removes_only_the_okr_tables(store_url: str) -> None:
    engine = create_store_engine(store_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            command.downgrade(alembic_config(connection=conn), "0001")
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names(schema=version_table_schema(conn)))
        assert not OKR_TABLES & tables
        assert {"people", "departments", "runs"} <= tables
        assert current_revision(engine) == "0001"
    finally:
        engine.dispose()
