"""The write-back job's config: `config/writeback/ratings.yaml`, validated with line numbers.

Example:
    ```yaml
    connection: workday            # a connection of hub.yaml that offers rating_sink
    review_cycle: acme-2026        # the review cycle's key in the store
    field: overall
    period: {start: 2026-01-01, end: 2026-12-31}
    scale: {1: Below_Expectations, 3: Meets_Expectations, 5: Outstanding}
    schedule: {cron: "0 6 * * 1", timezone: Europe/London}   # or a bare cron string, read in UTC
    ```
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.config.messages import model_keys_at, validation_errors
from hub.config.models import Schedule
from hub.config.yaml_source import TreeLocator, parse_yaml, to_plain
from hub.errors import ConfigError, ConfigErrors

DEFAULT_PATH = Path("config/writeback/ratings.yaml")
"""Where the CLI looks for the write-back config when none is named."""


class Period(BaseModel):
    """The review period the ratings belong to (Workday files a rating on the review of this period)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    start: date
    """First day of the period."""
    end: date
    """Last day of the period; BambooHR rows carry it as the rating date."""


class WritebackSettings(BaseModel):
    """Which finalized ratings go to which HCM connection, and how our scale maps onto the HCM's."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    connection: str = Field(min_length=1)
    """The connection (in hub.yaml) to write to; it must offer `rating_sink` (bamboohr, workday)."""
    review_cycle: str = Field(min_length=1)
    """The review cycle's key; only its FINALIZED ratings are written."""
    field: str = "overall"
    """The rating field written (part of each write's idempotency key)."""
    period: Period
    """The review period of the cycle."""
    scale: dict[str, str] = Field(min_length=1)
    """Our rating value to the HCM's value (a Workday Review_Rating_ID, a BambooHR list option)."""
    comment: Literal["none", "label"] = "none"
    """`label` sends our scale label as the rating's comment."""
    batch_size: int = Field(default=200, ge=1, le=10_000)
    """Writes marked `sending` (and committed) together before they are sent."""
    schedule: Schedule | None = None
    """When the embedded scheduler and workers run it: a cron string (UTC) or `{cron, timezone}`;
    None: run by hand only."""

    @field_validator("schedule", mode="before")
    @classmethod
    def _cron_string(cls, value: object) -> object:
        return {"cron": value} if isinstance(value, str) else value

    @field_validator("scale", mode="before")
    @classmethod
    def _keys_as_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(key): str(item) for key, item in value.items()}
        return value

    @model_validator(mode="after")
    def _period_in_order(self) -> WritebackSettings:
        if self.period.end < self.period.start:
            raise ValueError(f"period ends ({self.period.end}) before it starts ({self.period.start})")
        return self


def load_writeback_settings(path: Path) -> WritebackSettings:
    """Read and validate the write-back config; every problem names file, line and field.

    Raises:
        ConfigErrors: The file is missing, not YAML, or does not validate.
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigErrors(
            [ConfigError(f"cannot read the write-back config: {exc.strerror}; create it", file=source)]
        ) from None
    try:
        tree = parse_yaml(text, source=source)
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    try:
        return WritebackSettings.model_validate(to_plain(tree))
    except ValidationError as exc:
        raise ConfigErrors(
            validation_errors(exc, TreeLocator(source, tree), known_keys_at=model_keys_at(WritebackSettings))
        ) from None
