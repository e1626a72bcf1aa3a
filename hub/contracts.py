"""What a connector promises the hub, and the records that cross that line.

A connector declares the capabilities it offers in `capabilities`; the hub asks only for those
(it refuses "jira as an org source" when the config is loaded, not at 2am).

Example:
    ```python
    connector = registry.create("bamboohr", settings, context=ConnectorContext(connection="hr"))
    connector.check()
    stream = connector.read_org(connector.default_fields(), since=None)
    for item in stream:
        ...
    next_cursor = stream.cursor
    ```
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from hub.errors import RecordRejected

if TYPE_CHECKING:
    import httpx

    from hub.http.retry import RetrySettings
    from hub.http.stats import CallStats


class Capability(enum.StrEnum):
    """What a connector can be asked to do."""

    ORG_SOURCE = "org_source"
    METRIC_SOURCE = "metric_source"
    RATING_SINK = "rating_sink"


class PersonStatus(enum.StrEnum):
    """Employment status as the hub sees it; vendors' own words are mapped onto these."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    TERMINATED = "terminated"


PERSON_FIELDS: tuple[str, ...] = (
    "employee_id",
    "email",
    "first_name",
    "last_name",
    "display_name",
    "title",
    "department",
    "department_id",
    "manager_id",
    "cost_centre",
    "location",
    "job_level",
    "hire_date",
    "termination_date",
    "status",
)
"""The hub's own person fields, which an org-sync field map feeds from vendor fields."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonRecord:
    """One person as read from an HCM, already normalised (dates parsed, status mapped).

    `employee_id` is the HCM's own id and the only key the hub trusts; the email may change.
    `identities` maps a system name (`salesforce`, `jira`, ...) to this person's id there.
    """

    employee_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    title: str | None = None
    department: str | None = None
    department_id: str | None = None
    manager_id: str | None = None
    cost_centre: str | None = None
    location: str | None = None
    job_level: str | None = None
    hire_date: date | None = None
    termination_date: date | None = None
    status: PersonStatus = PersonStatus.ACTIVE
    attributes: Mapping[str, str] = field(default_factory=dict)
    identities: Mapping[str, str] = field(default_factory=dict)
    source_digest: str | None = None
    """A digest of the raw vendor row and the field map; equal digests mean an identical record."""


@dataclass(frozen=True, slots=True)
class PersonUnchanged:
    """This person's source row has the digest the store already holds: nothing to build or write."""

    employee_id: str


UnchangedCheck = Callable[[str, str], bool]
"""`unchanged(employee_id, digest)`: does the store already hold this person from a row with this digest?"""


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartmentRecord:
    """A department (Workday: a supervisory organization) as the HCM describes it."""

    key: str
    name: str
    parent_key: str | None = None
    cost_centre: str | None = None
    manager_id: str | None = None


@dataclass(frozen=True, slots=True)
class PersonRemoved:
    """The HCM says this person was deleted (BambooHR's changed-since `Deleted` action)."""

    employee_id: str


OrgItem = PersonRecord | PersonUnchanged | DepartmentRecord | PersonRemoved | RecordRejected
"""What an org stream yields. A `RecordRejected` is a source row that could not be read."""


class OrgStream(Protocol):
    """A lazily read org snapshot or change set.

    Iterate it once. `is_full` is True when the stream holds the whole population, so people it
    does not mention may be deactivated; an incremental stream never deactivates by omission.
    `cursor` is valid after the stream is exhausted: the position the next incremental read
    should start from. The hub stores it only when the run commits.
    """

    is_full: bool

    def __iter__(self) -> Iterator[OrgItem]:
        """Every item of the snapshot or change set, once."""
        ...

    @property
    def cursor(self) -> str | None:
        """Where the next incremental read starts; valid once the stream is exhausted."""
        ...


class FieldMap(BaseModel):
    """Which vendor field feeds each hub person field.

    Connectors publish a default per vendor (and per read mode); the org-sync config overrides
    single entries, so a minimal config names nothing at all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    fields: dict[str, str]
    """Hub field (one of `PERSON_FIELDS`) to vendor field name."""
    attributes: dict[str, str] = {}
    """Extra attribute name to vendor field name; kept on the person as-is."""
    identities: dict[str, str] = {}
    """System name (`salesforce`, `jira`, ...) to the vendor field holding the person's id there."""

    def merged(
        self,
        *,
        fields: Mapping[str, str] | None = None,
        attributes: Mapping[str, str] | None = None,
        identities: Mapping[str, str] | None = None,
    ) -> FieldMap:
        """This map with the given entries replacing or adding to it."""
        return FieldMap(
            fields={**self.fields, **(fields or {})},
            attributes={**self.attributes, **(attributes or {})},
            identities={**self.identities, **(identities or {})},
        )

    def vendor_fields(self) -> list[str]:
        """Every vendor field this map reads, once each, in a stable order."""
        seen: dict[str, None] = {}
        for name in (*self.fields.values(), *self.attributes.values(), *self.identities.values()):
            seen.setdefault(name, None)
        return list(seen)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of `check()`: what was proven to work, in words an admin can act on."""

    ok: bool
    detail: str


@dataclass(kw_only=True)
class ConnectorContext:
    """What the hub hands every connector it builds.

    `stats` counts API calls and retries for the run ledger; `transport` lets unit tests swap
    the network for an `httpx.MockTransport`; `secrets` are values the connector must never
    echo (the HTTP layer strips them from error text).
    """

    connection: str
    stats: CallStats
    transport: httpx.BaseTransport | None = None
    retry: RetrySettings | None = None
    secrets: frozenset[str] = frozenset()


@runtime_checkable
class Connector(Protocol):
    """Every connector: a name, what it can do, a way to prove its credentials, and cleanup."""

    type_name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    settings_model: ClassVar[type[BaseModel]]

    def check(self) -> CheckResult:
        """Prove the credentials and permissions work; raise `AuthError` with a fix when not."""
        ...

    def close(self) -> None:
        """Release HTTP connections."""
        ...


@runtime_checkable
class OrgSource(Connector, Protocol):
    """An HCM the org sync reads people, reporting lines and departments from.

    Example:
        ```python
        fields = source.default_fields().merged(fields={"cost_centre": "customCostCenter"})
        stream = source.read_org(fields, since=cursor)  # since=None: a full snapshot
        for item in stream:
            ...
        ```
    """

    supports_incremental: ClassVar[bool]

    def default_fields(self) -> FieldMap:
        """The field map this vendor (in its configured read mode) uses when the config is silent."""
        ...

    def read_org(
        self, fields: FieldMap, *, since: str | None, unchanged: UnchangedCheck | None = None
    ) -> OrgStream:
        """Stream the org: everything when `since` is None, else what changed after that cursor.

        When `unchanged` says a row's digest is what the store holds, yield `PersonUnchanged`
        instead of building the record: a nightly re-read of a stable org then costs little more
        than the download.
        """
        ...
