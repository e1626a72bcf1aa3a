"""The BambooHR org source: people, reporting lines and departments, full or changed since a cursor."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel

from connectors.bamboohr.client import BambooHRClient
from connectors.bamboohr.ratings import BambooHRRatings
from connectors.bamboohr.settings import BambooHRSettings
from connectors.normalize import PersonBuilder, to_text
from hub.contracts import (
    Capability,
    CheckResult,
    ConnectorContext,
    DepartmentRecord,
    FieldMap,
    OrgItem,
    PersonRemoved,
    UnchangedCheck,
)
from hub.errors import RecordRejected, SourceDataError
from hub.ratings_contract import HcmRating, RatingWrite, WriteOutcome

logger = logging.getLogger(__name__)

CURSOR_OVERLAP = timedelta(minutes=5)
"""A full read's cursor starts this long before the read did, so the next incremental read
overlaps it a little: the hub's upsert makes overlap harmless, while a gap would lose changes."""

REPORT_FIELDS = FieldMap(
    fields={
        "employee_id": "id",
        "email": "workEmail",
        "first_name": "firstName",
        "last_name": "lastName",
        "display_name": "displayName",
        "title": "jobTitle",
        "department": "department",
        "manager_id": "supervisorEId",
        "cost_centre": "customCostCenter",
        "location": "location",
        "job_level": "customJobLevel",
        "hire_date": "hireDate",
        "termination_date": "terminationDate",
        "status": "status",
    }
)
"""Hub field to BambooHR field id, for custom reports (`supervisorEId` is the manager's id)."""

DIRECTORY_KEYS = frozenset(
    {
        "id",
        "displayName",
        "firstName",
        "lastName",
        "preferredName",
        "jobTitle",
        "workPhone",
        "mobilePhone",
        "workEmail",
        "department",
        "location",
        "division",
        "linkedIn",
        "pronouns",
        "workPhoneExtension",
        "supervisor",
        "photoUploaded",
        "photoUrl",
        "canUploadPhoto",
    }
)
"""Keys a directory entry may carry; the directory has no manager id, status or dates."""

DIRECTORY_FIELDS = FieldMap(
    fields={hub: vendor for hub, vendor in REPORT_FIELDS.fields.items() if vendor in DIRECTORY_KEYS}
)
"""The default map in `directory` mode: only what the directory lists."""

_ACTIONS = frozenset({"Inserted", "Updated", "Deleted"})


class BambooHROrgStream:
    """One read of the org; iterate it once, then `cursor` says where the next read starts.

    `cursor` is None until the stream has been read to the end, so a read that failed halfway
    never moves the hub's cursor.
    """

    def __init__(self, produce: Callable[[], Generator[OrgItem, None, str]], *, is_full: bool) -> None:
        self.is_full = is_full
        self._produce = produce
        self._cursor: str | None = None

    def __iter__(self) -> Iterator[OrgItem]:
        self._cursor = None
        self._cursor = yield from self._produce()

    @property
    def cursor(self) -> str | None:
        """Where the next incremental read starts; None until the stream is exhausted."""
        return self._cursor


class BambooHRConnector:
    """BambooHR as an org source, over the v1 REST API with an API key.

    A full read is ONE custom report of every employee, active and inactive, parsed as a
    stream. An incremental read asks `employees/changed` what changed since the cursor, yields
    `PersonRemoved` for deletions, and reads the rest in custom reports filtered by id. In
    `directory` mode every read is a full snapshot of active people (see `BambooHRSettings`).

    Example:
        ```python
        connector = BambooHRConnector(settings, context=ConnectorContext(connection="hr", stats=CallStats()))
        connector.check()
        stream = connector.read_org(connector.default_fields(), since=None)
        people = [item for item in stream if isinstance(item, PersonRecord)]
        connector.close()
        ```
    """

    type_name: ClassVar[str] = "bamboohr"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORG_SOURCE, Capability.RATING_SINK})
    settings_model: ClassVar[type[BaseModel]] = BambooHRSettings
    supports_incremental: ClassVar[bool] = True

    def __init__(self, settings: BambooHRSettings, *, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context
        self._client = BambooHRClient(settings, context=context)
        self._ratings: BambooHRRatings | None = None

    # --- rating sink (see connectors/bamboohr/ratings.py) --------------------------------------------
    def _rating_sink(self) -> BambooHRRatings:
        if self._ratings is None:
            self._ratings = BambooHRRatings(self.settings, context=self.context)
        return self._ratings

    def write_ratings(self, writes: Sequence[RatingWrite]) -> Iterator[WriteOutcome]:
        """One custom-table row per write; a value BambooHR refuses (406) comes back `rejected`."""
        return self._rating_sink().write_ratings(writes)

    def read_ratings(
        self, *, review_cycle: str, employee_ids: Sequence[str] | None = None
    ) -> Iterator[HcmRating]:
        """The latest rating row per employee and field of this cycle in the ratings table."""
        return self._rating_sink().read_ratings(review_cycle=review_cycle, employee_ids=employee_ids)

    def check(self) -> CheckResult:
        """Prove the API key works with a cheap `GET meta/fields`; `AuthError` names the connection."""
        fields = self._client.get_json("meta/fields")
        if not isinstance(fields, list):
            raise SourceDataError(
                f"connection `{self.context.connection}`: GET meta/fields returned "
                f"{type(fields).__name__}, not a list of fields; is `base_url` a BambooHR v1 API root?",
                connection=self.context.connection,
            )
        return CheckResult(
            ok=True,
            detail=f"BambooHR at {self._client.base_url} accepted the API key; {len(fields)} fields visible",
        )

    def default_fields(self) -> FieldMap:
        """BambooHR field ids for each hub field; no identities (the org-sync config adds those)."""
        return DIRECTORY_FIELDS if self.settings.read_mode == "directory" else REPORT_FIELDS

    def read_org(
        self, fields: FieldMap, *, since: str | None, unchanged: UnchangedCheck | None = None
    ) -> BambooHROrgStream:
        """The whole org when `since` is None (or in `directory` mode), else what changed after `since`.

        Rows whose digest `unchanged` recognises come back as `PersonUnchanged`.
        """
        build = PersonBuilder(fields, unchanged=unchanged)
        if self.settings.read_mode == "directory":
            if since is not None:
                logger.info(
                    "connection `%s`: directory mode has no change feed; reading a full snapshot",
                    self.context.connection,
                )
            return BambooHROrgStream(lambda: self._read_directory(fields, build), is_full=True)
        if since is None:
            return BambooHROrgStream(lambda: self._read_full(fields, build), is_full=True)
        return BambooHROrgStream(lambda: self._read_changed(fields, build, since), is_full=False)

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()
        if self._ratings is not None:
            self._ratings.close()

    # --- reads -----------------------------------------------------------------------------------
    def _read_full(self, fields: FieldMap, build: PersonBuilder) -> Generator[OrgItem, None, str]:
        started = datetime.now(UTC)
        count = yield from self._people(
            self._client.custom_report(_report_fields(fields)), fields, build, set()
        )
        logger.info("connection `%s`: full read returned %d people", self.context.connection, count)
        return _cursor_at(started - CURSOR_OVERLAP)

    def _read_directory(self, fields: FieldMap, build: PersonBuilder) -> Generator[OrgItem, None, str]:
        if missing := sorted(set(fields.vendor_fields()) - DIRECTORY_KEYS):
            logger.warning(
                "connection `%s`: the directory has no field %s; those hub fields stay empty "
                "(use read_mode: custom_report to read them)",
                self.context.connection,
                ", ".join(missing),
            )
        started = datetime.now(UTC)
        count = yield from self._people(self._client.directory(), fields, build, set())
        logger.info(
            "connection `%s`: directory read returned %d active people", self.context.connection, count
        )
        return _cursor_at(started - CURSOR_OVERLAP)

    def _read_changed(
        self, fields: FieldMap, build: PersonBuilder, since: str
    ) -> Generator[OrgItem, None, str]:
        changes = self._client.get_json("employees/changed", params={"since": since})
        latest, actions = self._parse_changes(changes)
        removed = sorted((i for i, action in actions.items() if action == "Deleted"), key=_id_order)
        changed = sorted((i for i, action in actions.items() if action != "Deleted"), key=_id_order)
        for employee_id in removed:
            yield PersonRemoved(employee_id)
        seen: set[str] = set()
        size = self.settings.changed_ids_per_request
        for start in range(0, len(changed), size):
            chunk = changed[start : start + size]
            yield from self._people(
                self._client.custom_report(_report_fields(fields), employee_ids=chunk), fields, build, seen
            )
        logger.info(
            "connection `%s`: %d people changed and %d deleted since %s",
            self.context.connection,
            len(changed),
            len(removed),
            since,
        )
        return latest if actions and latest else since

    # --- helpers ---------------------------------------------------------------------------------
    def _people(
        self, rows: Iterable[Any], fields: FieldMap, build: PersonBuilder, seen: set[str]
    ) -> Generator[OrgItem, None, int]:
        """Each row as a person (or a rejection), each department before the first person in it.

        Departments come from the raw row, so people skipped as unchanged still keep theirs.
        """
        count = 0
        department_field = fields.fields.get("department")
        for row in rows:
            item = build(row)
            if not isinstance(item, RecordRejected):
                count += 1
                department = to_text(row.get(department_field)) if department_field else None
                if department is not None and department not in seen:
                    seen.add(department)
                    yield DepartmentRecord(key=department, name=department)
            yield item
        return count

    def _parse_changes(self, body: Any) -> tuple[str | None, dict[str, str]]:
        """`latest` and id -> action from `employees/changed`, whose `employees` is a map keyed by id."""
        if not isinstance(body, dict) or "employees" not in body:
            raise self._bad_changes(f"no `employees` in the body (got {type(body).__name__})")
        entries = body["employees"]
        if isinstance(entries, list) and not entries:
            entries = {}  # PHP encodes an empty map as []
        if not isinstance(entries, dict):
            raise self._bad_changes(f"`employees` is a {type(entries).__name__}, not a map keyed by id")
        actions: dict[str, str] = {}
        for key, entry in entries.items():
            action = entry.get("action") if isinstance(entry, dict) else None
            if action not in _ACTIONS:
                raise self._bad_changes(
                    f"employee {key!r} has action {action!r}, not one of {sorted(_ACTIONS)}"
                )
            employee_id = to_text(entry.get("id")) or str(key)
            actions[employee_id] = str(action)
        return to_text(body.get("latest")), actions

    def _bad_changes(self, what: str) -> SourceDataError:
        return SourceDataError(
            f"connection `{self.context.connection}`: GET employees/changed: {what}; "
            "cannot tell who changed, so the incremental read stopped",
            connection=self.context.connection,
        )


def _report_fields(fields: FieldMap) -> list[str]:
    return list(dict.fromkeys(["id", *fields.vendor_fields()]))


def _cursor_at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id_order(employee_id: str) -> tuple[int, int | str]:
    return (0, int(employee_id)) if employee_id.isdigit() else (1, employee_id)
