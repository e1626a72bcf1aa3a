"""Settings of a Jira connection."""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, Field, field_validator, model_validator

from hub.config.secrets import SecretRef
from hub.http.settings import HttpConnectionSettings


class JiraSettings(HttpConnectionSettings):
    """A Jira connection: the site, how to sign in, and how many issues to read per page.

    Jira Cloud signs in with the email of an Atlassian account and one of its API tokens;
    Jira Data Center with a personal access token (PAT).

    Example:
        ```yaml
        connections:
          jira:
            type: jira
            base_url: https://acme.atlassian.net
            email: okrhub@acme.example
            api_token: ${JIRA_API_TOKEN}
          jira_dc:
            type: jira
            deployment: data_center
            base_url: https://jira.acme.internal
            personal_access_token: ${file:/run/secrets/jira_pat}
        ```
    """

    type: Literal["jira"] = "jira"
    """The connector type; always `jira`."""
    base_url: AnyHttpUrl
    """The site root, without `/rest/api/...`: `https://acme.atlassian.net` (Cloud), your Data
    Center URL with its context path if any, a proxy, or the sandbox emulator."""
    deployment: Literal["cloud", "data_center"] = "cloud"
    """`cloud` searches with `/search/jql` and can count with `/search/approximate-count`;
    `data_center` searches with the classic `/search` (`startAt` paging, exact totals)."""
    email: str | None = None
    """Cloud: the email of the Atlassian account the API token belongs to."""
    api_token: SecretRef | None = None
    """Cloud: an API token of that account (id.atlassian.com > Security > API tokens), as
    `${JIRA_API_TOKEN}` or `${file:PATH}`."""
    personal_access_token: SecretRef | None = None
    """Data Center: a personal access token (profile > Personal Access Tokens), as
    `${JIRA_PAT}` or `${file:PATH}`; sent as `Authorization: Bearer`."""
    page_size: int = Field(default=100, ge=1, le=1000)
    """Issues per search page. Jira Cloud returns at most 100 per page when fields are asked
    for (fewer pages are never a problem: paging follows Jira's page tokens); Data Center
    allows up to 1000 by default."""

    @field_validator("email")
    @classmethod
    def _email_has_an_at(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError(
                f"`{value}` is not an email address; Jira Cloud signs in with the email of the Atlassian "
                "account that owns the API token"
            )
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _credentials_fit_the_deployment(self) -> JiraSettings:
        if self.deployment == "cloud":
            missing = [name for name in ("email", "api_token") if getattr(self, name) is None]
            if missing:
                raise ValueError(
                    f"deployment `cloud` needs {' and '.join(missing)}: the email of the Atlassian account "
                    "and one of its API tokens (id.atlassian.com > Security > API tokens), as "
                    "api_token: ${JIRA_API_TOKEN}; for Jira Data Center set deployment: data_center "
                    "and personal_access_token instead"
                )
            if self.personal_access_token is not None:
                raise ValueError(
                    "personal_access_token is for deployment `data_center`; Jira Cloud signs in with "
                    "email and api_token, so remove personal_access_token (or set deployment: data_center)"
                )
        else:
            if self.personal_access_token is None:
                raise ValueError(
                    "deployment `data_center` needs personal_access_token (profile > Personal Access "
                    "Tokens in Jira), as personal_access_token: ${JIRA_PAT}"
                )
            extra = [name for name in ("email", "api_token") if getattr(self, name) is not None]
            if extra:
                raise ValueError(
                    f"{' and '.join(extra)} are for deployment `cloud`; Jira Data Center signs in with "
                    "personal_access_token only, so remove them (or set deployment: cloud)"
                )
        return self
