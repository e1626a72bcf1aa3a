"""The error tree survives pickling; the registry finds connectors and names the known ones."""

from __future__ import annotations

import logging
import pickle
from typing import ClassVar, Literal

import pytest
from pydantic import BaseModel

from hub.contracts import Capability
from hub.errors import (
    AuthError,
    ConfigError,
    ConfigErrors,
    ConnectorError,
    GuardTripped,
    OkrHubError,
    PermissionDenied,
    QueryRejected,
    QuotaExhausted,
    RateLimited,
    RecordRejected,
    SourceDataError,
    StoreError,
    TransientError,
    UnknownConnectorError,
)
from hub.redact import RedactingFilter, redact
from hub.registry import ConnectorRegistry

ERRORS = [
    OkrHubError("plain"),
    ConfigError("bad value", file="hub.yaml", line=3, column=5, field="org_sync.connection"),
    ConfigErrors([ConfigError("a", file="f", line=1), ConfigError("b", file="f", line=2)]),
    ConnectorError("vendor said no", connection="hr", status=400),
    AuthError("bad key", connection="hr", status=401),
    PermissionDenied("no access", connection="hr", status=403),
    SourceDataError("truncated", connection="hr"),
    QueryRejected("MALFORMED_QUERY", connection="sf", status=400),
    QuotaExhausted("tokens per day", connection="ga", status=429, scope="property 1234"),
    TransientError("5xx", status=502),
    RateLimited("slow down", retry_after=3.0),
    RecordRejected("1042", "no email"),
    GuardTripped("too many", guard="max_deactivate_ratio", observed=0.5, limit=0.1),
    StoreError("no db"),
    UnknownConnectorError("bamboo", ["bamboohr", "workday"], "bamboohr"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_pickles_with_its_fields(error):
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert str(clone) == str(error)
    assert clone.attrs() == error.attrs()


def test_config_error_names_file_line_column_and_field():
    error = ConfigError("unknown key", file="config/hub.yaml", line=12, column=3, field="org_sync.fieldz")
    assert str(error) == "config/hub.yaml:12:3: field `org_sync.fieldz`: unknown key"


def test_unknown_connector_lists_known_and_suggests():
    error = UnknownConnectorError("bambohr", ["workday", "bamboohr"], "bamboohr")
    assert "Did you mean `bamboohr`?" in str(error)
    assert "Known types: bamboohr, workday." in str(error)


class FakeSettings(BaseModel):
    type: Literal["fake"] = "fake"


class FakeConnector:
    type_name: ClassVar[str] = "fake"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.ORG_SOURCE})
    settings_model: ClassVar[type[BaseModel]] = FakeSettings

    def __init__(self, settings, *, context):
        self.settings = settings
        self.context = context


def test_registry_rejects_duplicates():
    with pytest.raises(ConfigError, match="registered twice"):
        ConnectorRegistry.from_classes([FakeConnector, FakeConnector])


def test_registry_unknown_name_suggests():
    registry = ConnectorRegistry.from_classes([FakeConnector])
    with pytest.raises(UnknownConnectorError, match="Did you mean `fake`"):
        registry.get("fak")


def test_entry_points_register_the_shipped_connectors():
    registry = ConnectorRegistry.from_entry_points()
    assert {"bamboohr", "workday"} <= set(registry.names())
    assert Capability.ORG_SOURCE in registry.get("bamboohr").capabilities


def test_redact_masks_longest_first():
    assert redact("key=abcd1234 and abcd", ["abcd", "abcd1234"]) == "key=*** and ***"


def test_redacting_filter_masks_messages_and_args(caplog):
    logger = logging.getLogger("tests.redact")
    handler_filter = RedactingFilter({"hunter22"})
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("token %s rejected", "hunter22")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert "hunter22" not in caplog.text
    assert "token *** rejected" in caplog.text
