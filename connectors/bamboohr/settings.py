"""Settings of a BambooHR connection."""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from hub.config.secrets import SecretRef
from hub.http.settings import HttpConnectionSettings


class RatingsTable(BaseModel):
    """Where ratings go in BambooHR: a customer-defined custom table and its field aliases.

    Example:
        ```yaml
        ratings: {table: customPerformanceRatings, rating_fields: {overall: customRating}}
        ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    table: str = "customPerformanceRatings"
    """Alias of the custom table (see GET meta/tables)."""
    rating_fields: dict[str, str] = {"overall": "customRating"}
    """Hub rating field (`overall`, ...) to the table field that holds it."""
    review_cycle_field: str = "customReviewCycle"
    """Table field holding the review cycle key."""
    date_field: str | None = "customRatingDate"
    """Table field holding the rating date (the cycle's period end); None to leave it out."""
    comment_field: str | None = "customRatingComment"
    """Table field holding the comment; None to leave it out."""


class BambooHRSettings(HttpConnectionSettings):
    """A BambooHR connection: where the API lives, the API key, and how to read the org.

    Example:
        ```yaml
        connections:
          hr:
            type: bamboohr
            base_url: https://api.bamboohr.com/api/gateway.php/acme/v1
            api_key: ${BAMBOOHR_API_KEY}
        ```
    """

    type: Literal["bamboohr"] = "bamboohr"
    """The connector type; always `bamboohr`."""
    base_url: AnyHttpUrl
    """The v1 API root: `https://api.bamboohr.com/api/gateway.php/{companyDomain}/v1` (or the newer
    `https://{companyDomain}.bamboohr.com/api/v1`, a proxy, or the sandbox emulator)."""
    api_key: SecretRef
    """API key of the integration user, as `${BAMBOOHR_API_KEY}` or `${file:PATH}`; sent as the
    HTTP Basic username."""
    read_mode: Literal["custom_report", "directory"] = "custom_report"
    """`custom_report` (default) reads everyone, active and inactive, with any field, in one
    report, and supports incremental reads. `directory` reads the employee directory, which lists
    ACTIVE people only with a fixed set of fields (no manager id, status or dates): every read is a
    full snapshot of active people, so a person who left is deactivated by being absent, and
    termination dates are never known. Use it only when the API user may not run reports."""
    changed_ids_per_request: int = Field(default=500, ge=1, le=10_000)
    """How many changed employee ids an incremental read puts in one filtered custom report."""
    ratings: RatingsTable = RatingsTable()
    """The custom table ratings are written back to (BambooHR has no rating field of its own)."""
