"""Settings of a Workday connection."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.config.secrets import SecretRef
from hub.http.settings import HttpConnectionSettings


class ReviewPeriod(BaseModel):
    """The period of one review cycle, as Workday knows the review (it has no name for our cycle)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    start: date
    """Period_Start_Date of the reviews of this cycle."""
    end: date
    """Period_End_Date of the reviews of this cycle."""


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
    """How ratings are written back: `soap` (Performance_Management `Update_Employee_Review_Rating`).
    `custom_object` is reserved and refused for now."""
    soap_version: str = Field(default="v45.0", pattern=r"^v\d+\.\d+$")
    """Web-service version in the SOAP URL `/ccx/service/{tenant}/Performance_Management/{soap_version}`."""
    review_type_id: str = "Annual_Performance_Review"
    """The `Employee_Review_Type_ID` of the reviews ratings are written to."""
    review_periods: dict[str, ReviewPeriod] = {}
    """Review cycle key to its period, so read-back and reconcile can find that cycle's reviews."""
    ratings_field: str = "overall"
    """The hub rating field Workday's review rating holds (one rating per review)."""
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
    def _soap_ratings_only(self) -> WorkdaySettings:
        if self.ratings_mode == "custom_object":
            raise ValueError(
                "ratings_mode `custom_object` is not supported yet; use ratings_mode: soap "
                "(Update_Employee_Review_Rating)"
            )
        return self

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
