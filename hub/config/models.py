"""The shape of `hub.yaml`: typed, frozen pydantic models with one docstring per field.

Connections are validated by their connector's own settings model, found in the connector
registry that the loader passes in the validation context (`ValidationContext.registry`).

Example:
    ```python
    config = HubConfig.model_validate(raw, context={"registry": registry})
    config.connections["hr"]  # the connector's settings model, e.g. BambooHRSettings
    config.org_sync.connection if config.org_sync else None
    ```
"""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from croniter import CroniterError, croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from hub.config.connections import ORG_SYNC_LOC, org_sync_problems, raw_org_sync_problems, validate_connection
from hub.config.context import context_of, nested_errors
from hub.contracts import PERSON_FIELDS


def _closest(name: str, candidates: list[str]) -> str | None:
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


class StoreSettings(BaseModel):
    """Where the hub keeps people, cursors and the run ledger."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    url: str | None = None
    """SQLAlchemy URL of the store; the OKRHUB_DATABASE_URL environment variable wins over it; unset means
    the default SQLite file."""
    echo: bool = False
    """Log every SQL statement (debugging only; noisy)."""


class OrgSyncSettings(BaseModel):
    """Which HCM connection feeds the org, how its fields map, and the guards that stop mass damage.

    Example:
        ```yaml
        org_sync:
          connection: bamboohr
          fields: {cost_centre: customCostCenter}
          identities: {jira: customJiraAccountId}
        ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    connection: str
    """Name of the connection (under `connections`) to read people from; its connector must be an org
    source."""
    fields: dict[str, str] = {}
    """Hub person field to vendor field, overriding the connector's default field map."""
    attributes: dict[str, str] = {}
    """Extra attribute name to vendor field; kept on each person as-is."""
    identities: dict[str, str] = {}
    """System name (salesforce, jira, ...) to the vendor field that holds the person's id there."""
    max_deactivate_ratio: float = Field(default=0.10, ge=0.0, le=1.0)
    """Stop a run that would deactivate more than this share of active people (0..1)."""
    max_manager_change_ratio: float = Field(default=0.20, ge=0.0, le=1.0)
    """Stop a run that would change the manager of more than this share of people (0..1)."""
    deactivate_missing: bool = True
    """On a full sync, deactivate people the HCM no longer returns."""
    full_sync_every_days: int | None = Field(default=7, ge=1)
    """An incremental run becomes a full one when the last full sync is older than this; null: never
    automatically."""

    @field_validator("fields")
    @classmethod
    def _known_person_fields(cls, value: dict[str, str]) -> dict[str, str]:
        errors: list[InitErrorDetails] = []
        for key in value:
            if key in PERSON_FIELDS:
                continue
            suggestion = _closest(key, list(PERSON_FIELDS))
            hint = f"did you mean `{suggestion}`?" if suggestion else f"one of: {', '.join(PERSON_FIELDS)}"
            error = PydanticCustomError("unknown_person_field", f"unknown person field `{key}`; {hint}")
            errors.append({"type": error, "loc": (key,), "input": key})
        if errors:
            raise ValidationError.from_exception_data("fields", errors)
        return value


@functools.cache
def _timezones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


class Schedule(BaseModel):
    """When a job runs.

    Example:
        ```yaml
        org_sync: {cron: "30 1 * * 1-5", timezone: Europe/Berlin}
        ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    cron: str
    """Five-field cron expression (minute hour day-of-month month day-of-week), e.g. "0 2 * * *"."""
    timezone: str = "UTC"
    """IANA time zone the cron expression is read in, e.g. Europe/Berlin."""
    enabled: bool = True
    """Set false to keep the schedule but not run the job."""

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        parts = value.split()
        if len(parts) != 5:
            raise PydanticCustomError(
                "cron_fields",
                "cron expression `{cron}` has {count} fields; write 5 (minute hour day-of-month month "
                'day-of-week), e.g. "0 2 * * *"',
                {"cron": value, "count": len(parts)},
            )
        try:
            croniter(value)
        except CroniterError as exc:
            raise PydanticCustomError(
                "cron_invalid",
                "invalid cron expression `{cron}`: {reason}",
                {"cron": value, "reason": str(exc)},
            ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            suggestion = _closest(value, _timezones())
            hint = f"did you mean `{suggestion}`?" if suggestion else "use an IANA name such as Europe/Berlin"
            raise PydanticCustomError(
                "timezone_unknown", "unknown time zone `{tz}`; {hint}", {"tz": value, "hint": hint}
            ) from None
        return value


class JobsSettings(BaseModel):
    """Schedules of the hub's recurring jobs."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    org_sync: Schedule = Schedule(cron="0 2 * * *")
    """When the org sync runs; nightly at 02:00 UTC unless set."""
    metrics: Schedule = Schedule(cron="0 5 * * *")
    """When metric mappings without a `schedule` of their own run; daily at 05:00 UTC unless set."""


class WorkersSettings(BaseModel):
    """Celery workers and beat: where the broker is, and how tasks are kept safe.

    `OKRHUB_BROKER_URL` and `OKRHUB_RESULT_BACKEND` in the environment win over the file.

    Example:
        ```yaml
        workers: {broker_url: "redis://redis.internal:6379/0", task_time_limit_seconds: 7200}
        ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    broker_url: str = "redis://127.0.0.1:6379/0"
    """The Celery broker (Redis); job locks live there too."""
    result_backend: str | None = None
    """Where task results go; the broker's Redis when None."""
    task_time_limit_seconds: int = Field(default=3600, ge=10)
    """A task still running after this long is killed (its run is recorded as abandoned)."""
    lock_ttl_seconds: int = Field(default=60, ge=5)
    """A job's lock lapses this long after its holder stops renewing it (a worker that died)."""
    max_retries: int = Field(default=3, ge=0, le=20)
    """Retries of a task whose job failed for a transient reason (a 5xx, a timeout, a 429)."""
    retry_backoff_seconds: int = Field(default=60, ge=1)
    """First wait before a retry; doubled for each further retry, up to ten times this."""
    visibility_timeout_seconds: int = Field(default=3900, ge=10)
    """How long Redis waits for an unacknowledged task before handing it to another worker; keep
    it above the time limit, or a long task runs twice."""

    @model_validator(mode="after")
    def _visibility_above_time_limit(self) -> WorkersSettings:
        if self.visibility_timeout_seconds <= self.task_time_limit_seconds:
            raise ValueError(
                f"visibility_timeout_seconds ({self.visibility_timeout_seconds}) must be above "
                f"task_time_limit_seconds ({self.task_time_limit_seconds}), or Redis hands a task "
                "that is still running to a second worker"
            )
        return self


ConnectionSettings = Annotated[
    SerializeAsAny[BaseModel],
    WithJsonSchema(
        {
            "type": "object",
            "description": "A connection: `type` names the connector, the other keys are its settings.",
            "properties": {"type": {"type": "string"}},
            "required": ["type"],
        }
    ),
]
"""A validated connector settings model; which one depends on the connection's `type`."""


class MappingsSettings(BaseModel):
    """Where metric mappings are read from."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    path: Path = Path("mappings")
    """A folder of `*.yaml` mapping files, or one file; relative to this config file's folder."""


class HubConfig(BaseModel):
    """The whole `hub.yaml`: store, connections, org sync and job schedules.

    Validating raw connections needs the connector registry in the validation context; settings
    objects built in code are taken as they are.

    Example:
        ```python
        config = HubConfig.model_validate(raw, context={"registry": registry, "env": os.environ})
        ```
    """

    # A refused literal secret is an error's input; keep it out of the error text.
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, hide_input_in_errors=True
    )

    version: Literal[1] = 1
    """Version of this file's format."""
    store: StoreSettings = StoreSettings()
    """Where the hub keeps its state."""
    connections: dict[str, ConnectionSettings] = {}
    """Named vendor connections; each has a `type` (the connector) plus that connector's settings."""
    org_sync: OrgSyncSettings | None = None
    """Org sync from an HCM; leave out to run without it."""
    jobs: JobsSettings = JobsSettings()
    """Job schedules."""
    mappings: MappingsSettings = MappingsSettings()
    """Where the metric mappings (key results fed by Salesforce, Jira, GA4) live."""
    workers: WorkersSettings = WorkersSettings()
    """Celery workers and beat (used by `okrhub worker` and `okrhub beat`, not by `okrhub run`)."""

    @field_validator("connections", mode="before")
    @classmethod
    def _validate_connections(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, Mapping):
            return value
        registry = context_of(info.context).get("registry")
        validated: dict[Any, BaseModel] = {}
        errors: list[InitErrorDetails] = []
        for name, raw in value.items():
            if isinstance(raw, BaseModel):
                validated[name] = raw
                continue
            try:
                validated[name] = validate_connection(raw, registry, info.context)
            except ValidationError as exc:
                errors.extend(nested_errors(exc, (name,)))
        if errors:
            raise ValidationError.from_exception_data("connections", errors)
        return validated

    @model_validator(mode="wrap")
    @classmethod
    def _check_org_sync_connection(
        cls, data: Any, handler: ModelWrapValidatorHandler[HubConfig], info: ValidationInfo
    ) -> HubConfig:
        registry = context_of(info.context).get("registry")
        try:
            config = handler(data)
        except ValidationError as exc:
            # Check the raw org_sync.connection too, so one run reports every problem.
            problems = raw_org_sync_problems(data, registry)
            if not problems or any(tuple(err["loc"][:2]) == ORG_SYNC_LOC for err in exc.errors()):
                raise
            raise ValidationError.from_exception_data(exc.title, [*nested_errors(exc), *problems]) from None
        if config.org_sync is not None:
            problems = org_sync_problems(config.org_sync.connection, config.connections, registry)
            if problems:
                raise ValidationError.from_exception_data(cls.__name__, problems)
        return config
