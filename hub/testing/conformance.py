"""The connector conformance kit: the same tests for every connector, against its emulator.

A connector's test package defines a `harness` fixture (a `hub.testing.harness.Harness`) and
one line:

    ```python
    TestConformance = make_connector_tests()
    ```

The generated tests prove what the hub relies on: `check()` passes with good credentials and
fails with an actionable `AuthError` with bad ones; a full read returns every record; an
incremental read from the cursor returns exactly what changed; 429 is retried; 401 becomes
`AuthError`; no secret appears in logs or error text.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from hub.contracts import DepartmentRecord, OrgSource, PersonRecord, PersonRemoved, PersonUnchanged
from hub.errors import AuthError, OkrHubError
from hub.http.stats import CallStats
from hub.testing.harness import Harness


def _people(connector: OrgSource, since: str | None) -> tuple[dict[str, PersonRecord], list[str], Any]:
    stream = connector.read_org(connector.default_fields(), since=since)
    people: dict[str, PersonRecord] = {}
    removed: list[str] = []
    for item in stream:
        if isinstance(item, PersonRecord):
            people[item.employee_id] = item
        elif isinstance(item, PersonRemoved):
            removed.append(item.employee_id)
    return people, removed, stream


def make_connector_tests() -> type:
    """A test class (assign it to a `Test...` name) that runs the conformance tests on `harness`."""

    class ConnectorConformance:
        def test_check_passes_with_good_credentials(self, harness: Harness) -> None:
            connector = harness.connector()
            try:
                result = connector.check()
            finally:
                connector.close()
            assert result.ok, result.detail

        def test_check_fails_with_an_actionable_auth_error_on_bad_credentials(self, harness: Harness) -> None:
            connector = harness.connector(bad_credentials=True)
            with pytest.raises(AuthError) as info:
                connector.check()
            connector.close()
            message = str(info.value)
            assert info.value.connection, "the error must name the connection"
            assert info.value.connection in message
            assert any(word in message.lower() for word in ("check", "credential", "key", "token", "secret"))
            for secret in harness.secrets:
                assert secret not in message

        def test_a_full_read_returns_every_record(self, harness: Harness) -> None:
            stats = CallStats()
            connector = harness.connector(stats=stats)
            people, _, stream = _people(connector, None)
            connector.close()
            assert stream.is_full
            assert set(people) == harness.expected_ids(harness.org)
            assert stream.cursor
            assert stats.api_calls >= 1

        def test_the_cursor_resumes_with_exactly_what_changed(self, harness: Harness) -> None:
            connector = harness.connector()
            if not connector.supports_incremental:
                pytest.skip("connector reads full snapshots only")
            _, _, stream = _people(connector, None)
            cursor = stream.cursor
            changed = harness.org.mutate(0.05, seed=3)
            people, _, again = _people(connector, cursor)
            connector.close()
            assert not again.is_full
            assert set(people) == set(changed)
            for employee_id in changed:
                assert people[employee_id].title == harness.org.get(employee_id).title
                assert people[employee_id].location == harness.org.get(employee_id).location

        def test_rows_the_store_already_holds_come_back_unchanged(self, harness: Harness) -> None:
            connector = harness.connector()
            fields = connector.default_fields()
            first = [
                item for item in connector.read_org(fields, since=None) if isinstance(item, PersonRecord)
            ]
            digests = {record.employee_id: record.source_digest for record in first}
            assert all(digests.values()), "every record carries the digest of its source row"
            changed = set(harness.org.mutate(0.05, seed=5))
            items = list(connector.read_org(fields, since=None, unchanged=lambda e, d: digests.get(e) == d))
            connector.close()
            rebuilt = {item.employee_id for item in items if isinstance(item, PersonRecord)}
            skipped = {item.employee_id for item in items if isinstance(item, PersonUnchanged)}
            assert rebuilt == changed & set(digests)
            assert skipped == set(digests) - changed
            departments = {item.key for item in items if isinstance(item, DepartmentRecord)}
            assert departments >= {record.department_id or record.department for record in first} - {None}

        def test_429_with_retry_after_is_retried(self, harness: Harness) -> None:
            from sandbox.server import Fault

            harness.emulator.faults.inject(
                Fault(kind="status", status=429, retry_after="0", path=harness.people_path)
            )
            stats = CallStats()
            connector = harness.connector(stats=stats)
            people, _, _ = _people(connector, None)
            connector.close()
            assert set(people) == harness.expected_ids(harness.org)
            assert stats.retries >= 1
            assert stats.by_status[429] == 1

        def test_401_becomes_an_auth_error(self, harness: Harness) -> None:
            from sandbox.server import Fault

            harness.emulator.faults.inject(
                Fault(kind="status", status=401, path=harness.people_path, times=10)
            )
            connector = harness.connector()
            with pytest.raises(AuthError):
                _people(connector, None)
            connector.close()

        def test_no_secret_reaches_logs_or_errors(
            self, harness: Harness, caplog: pytest.LogCaptureFixture
        ) -> None:
            from sandbox.server import Fault

            caplog.set_level(logging.DEBUG)
            texts: list[str] = []
            bad = harness.connector(bad_credentials=True)
            try:
                bad.check()
            except OkrHubError as exc:
                texts.append(str(exc))
                texts.append(repr(exc.attrs()))
            bad.close()
            harness.emulator.faults.inject(
                Fault(kind="status", status=500, path=harness.people_path, times=2)
            )
            good = harness.connector()
            _people(good, None)
            good.close()
            texts.append(caplog.text)
            for secret in harness.secrets:
                for text in texts:
                    assert secret not in text

    return ConnectorConformance
