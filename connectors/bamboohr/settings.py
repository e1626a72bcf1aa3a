"""Settings of a BambooHR connection."""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, Field

from hub.config.secrets import SecretRef
from hub.http.settings import HttpConnectionSettings


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
