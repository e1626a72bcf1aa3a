"""Workday as an org source: a RaaS custom report (default) or the REST workers resource.

Example:
    ```python
    connector = WorkdayConnector(settings, context=ConnectorContext(connection="hcm", stats=CallStats()))
    connector.check()
    stream = connector.read_org(connector.default_fields(), since=None)
    people = [item for item in stream if isinstance(item, PersonRecord)]
    cursor = stream.cursor  # hand it back as `since` next time for an incremental read
    ```
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import ijson
from pydantic import BaseModel

from connectors.normalize import PersonBuilder, to_text
from connectors.workday.client import WorkdayClient
from connectors.workday.custom_objects import WorkdayCustomObjectRatings
from connectors.workday.ratings import WorkdayRatings
from connectors.workday.settings import WorkdaySettings
from hub.contracts import (
    Capability,
    CheckResult,
    ConnectorContext,
    DepartmentRecord,
    FieldMap,
    OrgItem,
    OrgStream,
    UnchangedCheck,
)
from hub.errors import AuthError, ConfigError, ConnectorError, PermissionDenied, SourceDataError
from hub.ratings_contract import HcmRating, RatingWrite, WriteOutcome

logger = logging.getLogger(__name__)

CURSOR_OVERLAP = timedelta(minutes=5)
"""The cursor is the read's start minus this, so a change saved while the report ran is read again."""
_MAX_ORG_HOPS = 64

RAAS_FIELDS = FieldMap(
    fields={
        "employee_id": "Employee_ID",
        "email": "Email_-_Primary_Work",
        "first_name": "Legal_Name_-_First_Name",
        "last_name": "Legal_Name_-_Last_Name",
        "display_name": "Preferred_Name",
        "title": "Business_Title",
        "department": "Supervisory_Organization",
        "department_id": "Supervisory_Organization_ID",
        "manager_id": "Manager_Employee_ID",
        "cost_centre": "Cost_Center",
        "location": "Location",
        "job_level": "Management_Level",
        "hire_date": "Hire_Date",
        "termination_date": "Termination_Date",
        "status": "Active_Status",
    },
    attributes={"workday_wid": "Worker_WID"},
    identities={"salesforce": "Salesforce_User_ID", "jira": "Jira_Account_ID"},
)
"""Default map for `mode: raas`: the report column aliases the README asks the report author to use."""

REST_FIELDS = FieldMap(
    fields={
        "employee_id": "id",
        "email": "primaryWorkEmail",
        "display_name": "descriptor",
        "title": "businessTitle",
        "department": "primarySupervisoryOrganization.descriptor",
        "department_id": "primarySupervisoryOrganization.id",
        "manager_id": "manager.id",
        "location": "location.descriptor",
    },
)
"""Default map for `mode: rest`. Nested references read as `name.id` / `name.descriptor`; `manager`
is derived from supervisory organizations, not a field of the worker resource."""

# Workday sometimes renders a date with its time-zone offset: 2015-03-02-08:00.
_DATE_WITH_OFFSET = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})$")


class WorkdayOrgStream:
    """One read of the org; iterate once. `cursor` is set once iteration has started."""

    def __init__(self, produce: Callable[[WorkdayOrgStream], Iterator[OrgItem]], *, is_full: bool) -> None:
        self.is_full = is_full
        self._produce = produce
        self._cursor: str | None = None
        self._started = False

    def __iter__(self) -> Iterator[OrgItem]:
        """The org's items: departments before the people in them."""
        if self._started:
            raise RuntimeError("a Workday org stream can be iterated only once; call read_org again")
        self._started = True
        return self._produce(self)

    @property
    def cursor(self) -> str | None:
        """Where the next incremental read starts (ISO UTC), or None when incremental is off."""
        return self._cursor


def _cursor_at(start: datetime) -> str:
    return (start - CURSOR_OVERLAP).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_cursor(since: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"the stored Workday cursor {since!r} is not an ISO date-time; run a full org sync "
            "(without a cursor) to start a fresh one",
            field="cursor",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class WorkdayConnector:
    """Reads workers, reporting lines and supervisory organizations from Workday.

    Example:
        ```python
        settings = WorkdaySettings(base_url="https://wd2-impl-services1.workday.com", tenant="acme",
                                   client_id="...", client_secret=secret, refresh_token=refresh,
                                   report_owner="isu_okrhub", report_name="okrhub_workers")
        connector = WorkdayConnector(settings, context=context)
        for item in connector.read_org(connector.default_fields(), since=None):
            ...
        ```
    """

    type_name: ClassVar[str] = "workday"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORG_SOURCE, Capability.RATING_SINK})
    settings_model: ClassVar[type[BaseModel]] = WorkdaySettings
    supports_incremental: ClassVar[bool] = True
    """True for `mode: raas` with an `updated_since_prompt`; other setups read everything every time
    (the stream then says `is_full=True`)."""

    def __init__(self, settings: WorkdaySettings, *, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context
        self.client = WorkdayClient(settings, context=context)
        self._ratings: WorkdayRatings | WorkdayCustomObjectRatings | None = None

    # --- rating sink (connectors/workday/ratings.py, custom_objects.py) --------------------------------
    def _rating_sink(self) -> WorkdayRatings | WorkdayCustomObjectRatings:
        if self._ratings is None:
            settings, context = self.settings, self.context
            if settings.ratings_mode == "custom_object":
                self._ratings = WorkdayCustomObjectRatings(settings, context=context, client=self.client)
            else:
                self._ratings = WorkdayRatings(settings, context=context, auth=self.client.auth)
        return self._ratings

    def write_ratings(self, writes: Sequence[RatingWrite]) -> Iterator[WriteOutcome]:
        """One write per rating (SOAP review rating, or the custom object); refusals come back `rejected`."""
        return self._rating_sink().write_ratings(writes)

    def read_ratings(
        self, *, review_cycle: str, employee_ids: Sequence[str] | None = None
    ) -> Iterator[HcmRating]:
        """The ratings Workday holds for this cycle (its reviews, or custom objects by cycle key)."""
        return self._rating_sink().read_ratings(review_cycle=review_cycle, employee_ids=employee_ids)

    @property
    def incremental(self) -> bool:
        """Whether this connection can read just the changes (RaaS with an updated-since prompt)."""
        return self.settings.mode == "raas" and bool(self.settings.updated_since_prompt)

    # --- contract ------------------------------------------------------------------------------------
    def check(self) -> CheckResult:
        """Exchange the refresh token and make one cheap call; raise `AuthError` when refused."""
        try:
            if self.settings.mode == "rest":
                total, _ = self.client.page("workers", limit=1, offset=0)
                path = self.client.rest_path("workers")
                return CheckResult(True, f"token exchange worked; REST {path} lists {total} active workers")
            prompt = self.settings.updated_since_prompt
            future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            with self.client.report({prompt: future} if prompt else {}) as body:
                first = next(iter(ijson.items(body, "Report_Entry.item")), None)
        except (AuthError, PermissionDenied):
            raise
        except ConnectorError as exc:
            return CheckResult(False, self._check_hint(exc))
        except ijson.JSONError as exc:
            return CheckResult(False, f"report {self.client.report_path()} did not answer JSON: {exc}")
        sample = "" if first is None or prompt else f"; first row has {len(first)} columns"
        return CheckResult(True, f"token exchange worked; report {self.client.report_path()} answers{sample}")

    def _check_hint(self, exc: ConnectorError) -> str:
        message = exc.message.rstrip(". ")
        if "token endpoint" in message or exc.status != httpx.codes.NOT_FOUND:
            return f"{message}."
        if self.settings.mode == "rest":
            return (
                f"{message}. Check `rest_prefix` (tenants serve /ccx/api/v1 or /ccx/api/common/v1) "
                "and `tenant`, or use mode: raas."
            )
        return f"{message}. Check `report_owner` and `report_name` against the report's web-service URL."

    def default_fields(self) -> FieldMap:
        """The field map of the configured mode: report aliases for `raas`, REST names for `rest`."""
        return RAAS_FIELDS if self.settings.mode == "raas" else REST_FIELDS

    def read_org(
        self, fields: FieldMap, *, since: str | None, unchanged: UnchangedCheck | None = None
    ) -> OrgStream:
        """Stream the org: everything when `since` is None, else the workers changed since then.

        Only `mode: raas` with an `updated_since_prompt` reads incrementally; otherwise a `since`
        is logged and ignored and the stream is a full snapshot (`is_full=True`). Rows whose
        digest `unchanged` recognises come back as `PersonUnchanged`.
        """
        build = PersonBuilder(fields, unchanged=unchanged)
        if since is not None and not self.incremental:
            why = "mode is `rest`" if self.settings.mode == "rest" else "`updated_since_prompt` is not set"
            logger.warning(
                "connection `%s`: incremental read asked for, but %s; reading the whole org instead",
                self.context.connection,
                why,
            )
            since = None
        if since is not None:
            _parse_cursor(since)
        if self.settings.mode == "raas":
            return WorkdayOrgStream(
                lambda stream: self._read_raas(stream, fields, build, since), is_full=since is None
            )
        return WorkdayOrgStream(lambda stream: self._read_rest(stream, build), is_full=True)

    def close(self) -> None:
        """Release HTTP connections."""
        self.client.close()
        if self._ratings is not None:
            self._ratings.close()

    # --- RaaS ----------------------------------------------------------------------------------------
    def _read_raas(
        self, stream: WorkdayOrgStream, fields: FieldMap, build: PersonBuilder, since: str | None
    ) -> Iterator[OrgItem]:
        start = datetime.now(UTC)
        prompts = (
            {self.settings.updated_since_prompt: since}
            if since and self.settings.updated_since_prompt
            else {}
        )
        logger.info(
            "connection `%s`: reading Workday report %s%s",
            self.context.connection,
            self.client.report_path(),
            f" changed since {since}" if since else "",
        )
        dates = [fields.fields[name] for name in ("hire_date", "termination_date") if name in fields.fields]
        key_field, name_field = fields.fields.get("department_id"), fields.fields.get("department")
        departments: set[str] = set()
        people = 0
        with self.client.report(prompts) as body:
            try:
                for row in ijson.items(body, "Report_Entry.item"):
                    if not isinstance(row, dict):
                        continue
                    for column in dates:
                        if isinstance(row.get(column), str):
                            row[column] = _DATE_WITH_OFFSET.sub(r"\1", row[column])
                    department = _department_of(row, key_field, name_field)
                    if department is not None and department.key not in departments:
                        departments.add(department.key)
                        yield department
                    people += 1
                    yield build(row)
            except ijson.JSONError as exc:
                raise SourceDataError(
                    f"connection `{self.context.connection}`: the Workday report {self.client.report_path()} "
                    f"is not complete JSON ({exc}); the read stopped rather than use a partial org",
                    connection=self.context.connection,
                ) from exc
        if self.incremental:
            stream._cursor = _cursor_at(start)
        logger.info(
            "connection `%s`: read %d workers, %d departments",
            self.context.connection,
            people,
            len(departments),
        )

    # --- REST ----------------------------------------------------------------------------------------
    def _read_rest(self, stream: WorkdayOrgStream, build: PersonBuilder) -> Iterator[OrgItem]:
        walker = _SupervisoryOrgs(self.client)
        limit = self.settings.page_size
        seen: set[str] = set()
        offset = 0
        while True:
            total, page = self.client.page("workers", limit=limit, offset=offset)
            for worker in page:
                worker_id = to_text(worker.get("id"))
                if worker_id is None or worker_id in seen:
                    continue
                seen.add(worker_id)
                org_id = _ref_id(worker.get("primarySupervisoryOrganization"))
                manager = walker.manager_of(worker_id, org_id)
                yield from walker.new_departments()
                yield build(_flatten(worker, manager))
            offset += len(page)
            if offset >= total:
                break
            if len(page) < limit:
                raise SourceDataError(
                    f"connection `{self.context.connection}`: Workday's workers page at offset "
                    f"{offset - len(page)} held {len(page)} of {limit} workers before the total of {total} "
                    "was reached; the read stopped rather than deliver a truncated org",
                    connection=self.context.connection,
                )
        walker.warn_if_superiors_missing(self.context.connection)
        logger.info(
            "connection `%s`: read %d active workers, %d supervisory organizations",
            self.context.connection,
            len(seen),
            walker.count,
        )


class _SupervisoryOrgs:
    """Supervisory orgs fetched once each, and managers derived by Workday's convention."""

    def __init__(self, client: WorkdayClient) -> None:
        self.client = client
        self._orgs: dict[str, dict[str, Any]] = {}
        self._pending: list[DepartmentRecord] = []
        self._without_superior = 0

    @property
    def count(self) -> int:
        """Organizations fetched so far."""
        return len(self._orgs)

    def get(self, org_id: str) -> dict[str, Any]:
        """One organization, fetched on first use; its department record is queued."""
        org = self._orgs.get(org_id)
        if org is None:
            org = self.client.get(f"supervisoryOrganizations/{quote(org_id, safe='=')}")
            self._orgs[org_id] = org
            superior = _superior_id(org)
            if superior is None:
                self._without_superior += 1
            self._pending.append(
                DepartmentRecord(
                    key=org_id,
                    name=to_text(org.get("name")) or to_text(org.get("descriptor")) or org_id,
                    parent_key=superior,
                    manager_id=_ref_id(org.get("manager")),
                )
            )
        return org

    def new_departments(self) -> Iterator[DepartmentRecord]:
        """Departments fetched since the last call, each once."""
        pending, self._pending = self._pending, []
        yield from pending

    def manager_of(self, worker_id: str, org_id: str | None) -> dict[str, Any] | None:
        """The manager reference of a worker, by Workday's convention.

        That is their org's manager, or, when they manage that org themselves (or it is vacant),
        the manager of the nearest superior org.
        """
        current = org_id
        for _ in range(_MAX_ORG_HOPS):
            if current is None:
                return None
            org = self.get(current)
            manager = org.get("manager")
            if isinstance(manager, dict) and _ref_id(manager) not in (None, worker_id):
                return manager
            current = _superior_id(org)
        return None

    def warn_if_superiors_missing(self, connection: str) -> None:
        """Say so when more than one org had no superior: the tenant may not expose the field."""
        if self._without_superior > 1:
            logger.warning(
                "connection `%s`: %d supervisory organizations came without `superiorOrganization`, so "
                "their managers got no manager of their own; if this tenant's REST API omits that field, "
                "use mode: raas",
                connection,
                self._without_superior,
            )


def _department_of(
    row: dict[str, Any], key_field: str | None, name_field: str | None
) -> DepartmentRecord | None:
    key = to_text(row.get(key_field)) if key_field else None
    name = to_text(row.get(name_field)) if name_field else None
    if key is None and name is None:
        return None
    return DepartmentRecord(key=key or name or "", name=name or key or "")


def _ref_id(value: object) -> str | None:
    return to_text(value.get("id")) if isinstance(value, dict) else None


def _superior_id(org: dict[str, Any]) -> str | None:
    return _ref_id(org.get("superiorOrganization") or org.get("superior"))


def _flatten(worker: dict[str, Any], manager: dict[str, Any] | None) -> dict[str, Any]:
    row = dict(worker)
    if manager is not None:
        row["manager"] = manager
    for key, value in list(row.items()):
        if isinstance(value, dict):
            for part in ("id", "descriptor"):
                if part in value:
                    row[f"{key}.{part}"] = value[part]
    return row
