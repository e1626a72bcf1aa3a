"""Settings every HTTP connection shares: where to connect, which CA to trust, how long to wait."""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from hub.http.retry import RetrySettings


class HttpConnectionSettings(BaseModel):
    """Base of every HTTP connector's settings: base URL, CA bundle, timeout and retries.

    The same code runs against the vendor, a proxy or the sandbox: only `base_url` and
    `ca_bundle` change.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    base_url: AnyHttpUrl
    """Where the API lives: the vendor, a proxy, or the sandbox emulator."""
    ca_bundle: Path | None = None
    """PEM file of CAs to trust for this connection (a proxy's or the sandbox's); system CAs when unset."""
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """Per-request timeout."""
    retry: RetrySettings = RetrySettings()
    """How hard to retry 429, 5xx and connection errors."""

    @field_validator("ca_bundle")
    @classmethod
    def _ca_bundle_exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        context = info.context if isinstance(info.context, dict) else {}
        if not value.is_absolute() and "base_dir" in context:
            # Relative to the config file, as `${file:...}` secrets are.
            value = Path(context["base_dir"]) / value
        if not value.is_file():
            raise ValueError(f"CA bundle {value} does not exist or is not a file")
        return value

    def verify(self) -> str | bool:
        """The value for httpx's `verify`: the CA bundle path, or True for the system store."""
        return str(self.ca_bundle) if self.ca_bundle else True

    def url(self) -> str:
        """`base_url` as text, without a trailing slash."""
        return str(self.base_url).rstrip("/")
