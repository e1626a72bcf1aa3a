"""Fake connectors for config tests: the real connector settings live in `connectors/`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent
from typing import Any, ClassVar, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from hub.config.loader import LoadedConfig, load_config_text
from hub.config.secrets import SecretRef
from hub.contracts import Capability, CheckResult, ConnectorContext
from hub.errors import ConfigError, ConfigErrors
from hub.registry import ConnectorRegistry

ENV = {"PEOPLE_KEY": "people-secret-1", "DESK_TOKEN": "desk-secret-2"}


class PeopleSettings(BaseModel):
    """Settings of the fake HCM."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    type: Literal["peoplehr"] = "peoplehr"
    """Connector type."""
    base_url: str
    """API root."""
    api_key: SecretRef
    """API key."""
    timeout: float = 30.0
    """Seconds per request."""


class DeskSettings(BaseModel):
    """Settings of the fake CRM."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    type: Literal["salesdesk"] = "salesdesk"
    """Connector type."""
    instance_url: str
    """Instance root."""
    token: SecretRef
    """API token."""


class _FakeConnector:
    type_name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    settings_model: ClassVar[type[BaseModel]]

    def __init__(self, settings: BaseModel, *, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context

    def check(self) -> CheckResult:
        return CheckResult(ok=True, detail="fake")

    def close(self) -> None:
        pass


class PeopleConnector(_FakeConnector):
    type_name = "peoplehr"
    capabilities = frozenset({Capability.ORG_SOURCE})
    settings_model = PeopleSettings


class DeskConnector(_FakeConnector):
    type_name = "salesdesk"
    capabilities = frozenset({Capability.METRIC_SOURCE})
    settings_model = DeskSettings


VALID = """\
version: 1
connections:
  hr:
    type: peoplehr
    base_url: http://hr.test
    api_key: ${PEOPLE_KEY}
  desk:
    type: salesdesk
    instance_url: http://desk.test
    token: ${DESK_TOKEN}
org_sync:
  connection: hr
  identities:
    jira: customJiraAccountId
jobs:
  org_sync:
    cron: "30 1 * * 1-5"
    timezone: Europe/Berlin
"""


@pytest.fixture
def registry() -> ConnectorRegistry:
    return ConnectorRegistry.from_classes([PeopleConnector, DeskConnector])


LoadText = Callable[..., LoadedConfig]


@pytest.fixture
def load(registry: ConnectorRegistry) -> LoadText:
    """Load YAML text as `hub.yaml` with the fake registry and a fixed environment."""

    def _load(text: str, *, env: dict[str, str] | None = None, base_dir: Path | None = None) -> LoadedConfig:
        return load_config_text(
            dedent(text),
            source_name="hub.yaml",
            registry=registry,
            env=ENV if env is None else env,
            base_dir=base_dir,
        )

    return _load


@pytest.fixture
def errors_of(load: LoadText) -> Callable[..., list[ConfigError]]:
    """The errors loading the text raises (the test fails if it loads)."""

    def _errors(text: str, **kwargs: Any) -> list[ConfigError]:
        with pytest.raises(ConfigErrors) as caught:
            load(text, **kwargs)
        return caught.value.errors

    return _errors
