from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from hub.store.models import Department, Identity, Person, StagedPerson, SyncCursor


def _person(employee_id: str, **overrides: object) -> Person:
    values: dict[str, object] = {
        "employee_id": employee_id,
        "source_connection": "bamboohr_main",
        "email": f"{employee_id}@Example.com",
        "email_lower": f"{employee_id}@example.com".lower(),
        "status": "active",
        "content_hash": "0" * 64,
    }
    values.update(overrides)
    return Person(**values)


def test_person_defaults_and_types(store_engine: Engine) -> None:
    cest = timezone(timedelta(hours=2))
    with Session(store_engine) as session, session.begin():
        session.add(
            _person(
                "E-1",
                hire_date=date(2021, 4, 1),
                updated_at=datetime(2025, 6, 1, 9, 30, tzinfo=cest),
                attributes={"pronouns": "she/her"},
            )
        )
    with Session(store_engine) as session:
        person = session.scalars(select(Person).where(Person.employee_id == "E-1")).one()
        assert person.flags == []
        assert person.attributes == {"pronouns": "she/her"}
        assert person.hire_date == date(2021, 4, 1)
        assert person.updated_at == datetime(2025, 6, 1, 7, 30, tzinfo=UTC)
        assert person.updated_at.utcoffset() == timedelta(0)
        assert person.first_seen_at.tzinfo is not None
        assert person.deactivated_at is None


def test_server_defaults_serve_plain_sql_inserts(store_engine: Engine) -> None:
    # The org sync copies staged rows into `people` with INSERT ... SELECT; defaults must hold.
    with store_engine.begin() as conn:
        conn.execute(
            insert(Person).values(
                employee_id="E-9", source_connection="hr", status="active", content_hash="f" * 64
            )
        )
    with Session(store_engine) as session:
        person = session.scalars(select(Person)).one()
        assert person.flags == []
        assert person.attributes == {}
        assert person.first_seen_at.tzinfo is not None
        assert abs(person.first_seen_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_naive_datetimes_are_refused(store_engine: Engine) -> None:
    with Session(store_engine) as session:
        session.add(_person("E-1", updated_at=datetime(2025, 1, 1)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()


def test_employee_id_is_unique(store_engine: Engine) -> None:
    with Session(store_engine) as session:
        session.add_all([_person("E-1"), _person("E-1")])
        with pytest.raises(IntegrityError):
            session.flush()


def test_people_status_is_checked(store_engine: Engine) -> None:
    with Session(store_engine) as session:
        session.add(_person("E-1", status="on_leave"))
        with pytest.raises(IntegrityError):
            session.flush()


class TestIdentities:
    @pytest.fixture
    def people(self, store_engine: Engine) -> tuple[int, int]:
        with Session(store_engine) as session, session.begin():
            ana, bo = _person("E-1"), _person("E-2")
            session.add_all([ana, bo])
            session.flush()
            session.add(Identity(person_id=ana.id, system="salesforce", external_id="005A"))
            return ana.id, bo.id

    def test_one_person_per_external_id(self, store_engine: Engine, people: tuple[int, int]) -> None:
        with Session(store_engine) as session:
            session.add(Identity(person_id=people[1], system="salesforce", external_id="005A"))
            with pytest.raises(IntegrityError):
                session.flush()

    def test_one_id_per_person_and_system(self, store_engine: Engine, people: tuple[int, int]) -> None:
        with Session(store_engine) as session:
            session.add(Identity(person_id=people[0], system="salesforce", external_id="005B"))
            with pytest.raises(IntegrityError):
                session.flush()

    def test_same_id_in_another_system_is_fine(self, store_engine: Engine, people: tuple[int, int]) -> None:
        with Session(store_engine) as session, session.begin():
            session.add(Identity(person_id=people[1], system="jira", external_id="005A"))

    def test_identities_go_with_their_person(self, store_engine: Engine, people: tuple[int, int]) -> None:
        with Session(store_engine) as session, session.begin():
            session.execute(delete(Person).where(Person.id == people[0]))
        with Session(store_engine) as session:
            assert session.scalars(select(Identity)).all() == []

    def test_identity_needs_a_person(self, store_engine: Engine, people: tuple[int, int]) -> None:
        with Session(store_engine) as session:
            session.add(Identity(person_id=424242, system="jira", external_id="x"))
            with pytest.raises(IntegrityError):
                session.flush()


def test_other_tables_round_trip(store_engine: Engine) -> None:
    now = datetime(2025, 6, 1, 7, 0, tzinfo=UTC)
    with Session(store_engine) as session, session.begin():
        session.add(Department(key="D-1", name="Sales"))
        session.add(SyncCursor(connection="hr", stream="people", cursor="2025-06-01T07:00:00Z", run_id=1))
        session.add(
            StagedPerson(
                run_id=1, employee_id="E-1", content_hash="a" * 64, status="active", payload={"email": None}
            )
        )
    with Session(store_engine) as session:
        assert session.scalars(select(Department)).one().active is True
        cursor = session.get(SyncCursor, ("hr", "people"))
        assert cursor is not None
        assert cursor.last_full_at is None
        cursor.last_full_at = now
        session.commit()
        assert session.get(SyncCursor, ("hr", "people")).last_full_at == now  # type: ignore[union-attr]
        assert session.get(StagedPerson, (1, "E-1")).payload == {"email": None}  # type: ignore[union-attr]
