"""Settings of a Workday connection."""

from __future__ import annotations

import re
from datetime import date
from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from hub.config.secrets import SecretRef
from hub.http.settings import HttpConnectionSettings


class ReviewPeriod(BaseModel):
    """The period of one review cycle, as Workday knows the review (it has no name for our cycle)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    start: date
    """Period_Start_Date of the reviews of this cycle."""
    end: date
    """Period_End_Date of the reviews of this cycle."""


_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_PATH_PLACEHOLDERS = frozenset({"tenant", "worker", "alias"})


def _check_alias(what: str, value: str) -> str:
    if not _ALIAS.match(value):
        raise ValueError(
            f"{what}: {value!r} is not a Workday web service alias (a letter, then letters, digits or "
            "underscores); copy it from the Workday report View Custom Object"
        )
    return value


class CustomObjectReport(BaseModel):
    """A RaaS report that lists every instance of the ratings custom object, for whole-cycle reads.

    Without it, reading a whole cycle (reconcile, settling many unclear writes) asks Workday for
    each worker's instances one call at a time.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str = Field(min_length=1)
    """Report name as in its RaaS URL `/ccx/service/customreport2/{tenant}/{owner}/{name}`."""
    owner: str | None = None
    """Report owner; the connection's `report_owner` when unset."""
    worker_column: str = "Employee_ID"
    """Column holding the worker's id, of the type `worker_id_type` names."""
    instance_column: str | None = "Custom_Object_WID"
    """Column holding the instance's WID (kept as the HCM reference); None if the report has none."""


class CustomObjectRatings(BaseModel):
    """Where ratings go when a tenant keeps them in a custom object on the worker (Workday Extend).

    Fields are named by their web service aliases (Workday report: View Custom Object). With
    `instances: multi` each review cycle is one instance, found by `review_cycle_field`; with
    `single` the worker's one instance is overwritten and holds the latest cycle's rating.

    Example:
        ```yaml
        custom_object:
          alias: performanceRatings
          rating_field: rating
          review_cycle_field: reviewCycle
          comment_field: ratingComment
          report: {name: okrhub_ratings}
        ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    alias: str
    """Web service alias of the custom object (the `{alias}` of its REST path)."""
    instances: Literal["multi", "single"] = "multi"
    """`multi`: one instance per review cycle; `single`: one instance per worker, overwritten."""
    rating_field: str
    """Field holding the rating value (the `scale` value of the write-back config)."""
    review_cycle_field: str
    """Field holding the review cycle key, so reads find a cycle without `review_periods`."""
    period_start_field: str | None = None
    """Field for the cycle's period start (a date); None to leave it out."""
    period_end_field: str | None = None
    """Field for the cycle's period end (a date); None to leave it out."""
    comment_field: str | None = None
    """Field for the comment; None to leave it out."""
    path: str = "/ccx/api/v1/{tenant}/workers/{worker}/customObjects/{alias}"
    """REST path of a worker's instances; `{tenant}`, `{worker}` and `{alias}` are filled in.
    UNVERIFIED against a tenant: see connectors/workday/README.md."""
    worker_id_type: Literal["Employee_ID", "WID"] | None = None
    """How workers are named in the path: `Employee_ID` (as `Employee_ID=21001`) or `WID`; by
    default the id the org read keys people on (`WID` in mode `rest`, else `Employee_ID`)."""
    report: CustomObjectReport | None = None
    """A report listing every instance, so a whole cycle is read in one call."""

    @field_validator(
        "alias",
        "rating_field",
        "review_cycle_field",
        "period_start_field",
        "period_end_field",
        "comment_field",
    )
    @classmethod
    def _alias_shaped(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _check_alias(f"`{info.field_name}`", value)

    @field_validator("path")
    @classmethod
    def _path_template(cls, value: str) -> str:
        path = "/" + value.strip().strip("/")
        try:
            names = {name for _, name, _, _ in Formatter().parse(path) if name is not None}
        except ValueError as exc:
            raise ValueError(f"path {value!r} is not a valid template ({exc})") from None
        unknown = sorted(names - _PATH_PLACEHOLDERS)
        if unknown:
            raise ValueError(
                f"path {value!r} uses unknown placeholder(s) {', '.join(unknown)}; "
                "only {tenant}, {worker} and {alias} are filled in"
            )
        missing = sorted({"worker", "alias"} - names)
        if missing:
            raise ValueError(
                f"path {value!r} lacks {' and '.join('{' + m + '}' for m in missing)}; for example "
                "/ccx/api/v1/{tenant}/workers/{worker}/customObjects/{alias}"
            )
        return path

    @model_validator(mode="after")
    def _distinct_fields(self) -> CustomObjectRatings:
        fields = [
            f
            for f in (
                self.rating_field,
                self.review_cycle_field,
                self.period_start_field,
                self.period_end_field,
                self.comment_field,
            )
            if f is not None
        ]
        repeated = sorted({f for f in fields if fields.count(f) > 1})
        if repeated:
            raise ValueError(f"field alias(es) {', '.join(repeated)} used for more than one purpose")
        return self


class WorkdaySettings(HttpConnectionSettings):
    """A Workday connection: the tenant host, OAuth client, and how to read the org.

    Two read modes:

    - `raas` (default) downloads one custom report (Report-as-a-Service) that lists every worker,
      terminated ones included, with managers, dates, status and identities. With the
      `updated_since_prompt` prompt on the report, reads after the first are incremental.
    - `rest` pages through the REST `workers` resource and derives managers from supervisory
      organizations. The REST API lists ACTIVE workers only and carries no employment status,
      hire or termination dates, first/last names or other systems' ids; every read is a full
      snapshot of active workers keyed by Workday ID (WID), so a leaver is deactivated by being
      absent and termination dates are never known. Use it when no report can be set up.

    Ratings are written back over SOAP to reviews (`ratings_mode: soap`, with `review_periods`)
    or to a custom object on the worker (`ratings_mode: custom_object`, with `custom_object`).

    Example:
        ```yaml
        connections:
          hcm:
            type: workday
            base_url: https://wd2-impl-services1.workday.com
            tenant: acme
            client_id: NzY3ZGY1...
            client_secret: ${WORKDAY_CLIENT_SECRET}
            refresh_token: ${file:/run/secrets/workday_refresh_token}
            report_owner: isu_okrhub
            report_name: okrhub_workers
        ```
    """

    type: Literal["workday"] = "workday"
    """The connector type; always `workday`."""
    tenant: str = Field(min_length=1)
    """The tenant name as it appears in Workday URLs (`/ccx/api/v1/{tenant}/...`)."""
    client_id: str = Field(min_length=1)
    """Client ID of the *API Client for Integrations* registered in Workday (task: View API Clients)."""
    client_secret: SecretRef
    """Client secret of that API client, as `${WORKDAY_CLIENT_SECRET}` or `${file:PATH}`."""
    refresh_token: SecretRef
    """Non-expiring refresh token of the integration system user (task: Manage Refresh Tokens for
    Integrations), as `${WORKDAY_REFRESH_TOKEN}` or `${file:PATH}`."""
    mode: Literal["raas", "rest"] = "raas"
    """`raas` reads the custom report (everyone, incremental capable); `rest` reads the REST
    workers resource (active workers only, no termination data, always a full read)."""
    rest_prefix: str = "/ccx/api/v1"
    """Path of the REST Common API before the tenant; some tenants serve `/ccx/api/common/v1`."""
    report_owner: str | None = None
    """Owner of the custom report (usually the integration system user); required when mode is `raas`."""
    report_name: str | None = None
    """Name of the custom report as in its RaaS URL; required when mode is `raas`."""
    updated_since_prompt: str | None = "Updated_From"
    """Report prompt that keeps workers changed at or after a date-time, used for incremental
    reads; None reads the whole report every time."""
    page_size: int = Field(default=100, ge=1, le=100)
    """Workers per REST page; Workday allows at most 100."""
    ratings_mode: Literal["soap", "custom_object"] = "soap"
    """How ratings are written back: `soap` (Performance_Management `Update_Employee_Review_Rating`)
    or `custom_object` (a custom object on the worker over REST; see `custom_object`)."""
    custom_object: CustomObjectRatings | None = None
    """The custom object ratings go to; required when ratings_mode is `custom_object`."""
    soap_version: str = Field(default="v45.0", pattern=r"^v\d+\.\d+$")
    """Web-service version in the SOAP URL `/ccx/service/{tenant}/Performance_Management/{soap_version}`."""
    review_type_id: str = "Annual_Performance_Review"
    """The `Employee_Review_Type_ID` of the reviews ratings are written to."""
    review_periods: dict[str, ReviewPeriod] = {}
    """Review cycle key to its period, so read-back and reconcile can find that cycle's reviews
    (ratings_mode `soap` only; a custom object carries the cycle key itself)."""
    ratings_field: str = "overall"
    """The hub rating field Workday holds (one rating per review, or per custom object instance)."""
    ratings_page_size: int = Field(default=500, ge=1, le=999)
    """Reviews per `Get_Employee_Reviews` page; Workday allows at most 999."""

    @field_validator("rest_prefix")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        prefix = "/" + value.strip().strip("/")
        if prefix == "/":
            raise ValueError("rest_prefix must name the REST API path, such as /ccx/api/v1")
        return prefix

    @model_validator(mode="after")
    def _custom_object_matches_mode(self) -> WorkdaySettings:
        if self.ratings_mode == "custom_object" and self.custom_object is None:
            raise ValueError(
                "ratings_mode `custom_object` needs `custom_object: {alias: ..., rating_field: ..., "
                "review_cycle_field: ...}`: the custom object's web service alias and its fields' "
                "aliases (Workday report: View Custom Object)"
            )
        if self.ratings_mode == "soap" and self.custom_object is not None:
            raise ValueError(
                "`custom_object` is set but ratings_mode is `soap`; set ratings_mode: custom_object "
                "to write ratings to it, or remove `custom_object`"
            )
        report = self.custom_object.report if self.custom_object else None
        if report is not None and not (report.owner or self.report_owner):
            raise ValueError(
                "`custom_object.report` needs an owner: set `custom_object.report.owner` or the "
                "connection's `report_owner`"
            )
        return self

    def worker_id_type(self) -> Literal["Employee_ID", "WID"]:
        """How the ratings custom object's path names a worker (the id people are keyed on)."""
        chosen = self.custom_object.worker_id_type if self.custom_object else None
        return chosen or ("WID" if self.mode == "rest" else "Employee_ID")

    @model_validator(mode="after")
    def _report_named_in_raas_mode(self) -> WorkdaySettings:
        if self.mode == "raas":
            missing = [name for name in ("report_owner", "report_name") if not getattr(self, name)]
            if missing:
                raise ValueError(
                    f"mode `raas` needs {' and '.join(missing)}: the custom report's owner and name as in "
                    "its URL /ccx/service/customreport2/{tenant}/{report_owner}/{report_name} "
                    "(in Workday: the report's Actions > Web Service > View URLs), or set mode: rest"
                )
        return self
