from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from hub.config.models import (
    HubConfig,
    JobsSettings,
    OrgSyncSettings,
    Schedule,
    StoreSettings,
    WorkersSettings,
)
from tests.config.conftest import DeskSettings, PeopleSettings


def people() -> PeopleSettings:
    return PeopleSettings(base_url="http://hr.test", api_key=SecretStr("k"))


def desk() -> DeskSettings:
    return DeskSettings(instance_url="http://desk.test", token=SecretStr("t"))


def test_config_built_in_code_needs_no_registry():
    config = HubConfig(connections={"hr": people()}, org_sync=OrgSyncSettings(connection="hr"))

    assert config.connections["hr"] == people()


def test_config_built_in_code_still_checks_the_org_sync_connection():
    with pytest.raises(ValidationError) as caught:
        HubConfig(connections={"hr": people()}, org_sync=OrgSyncSettings(connection="hrr"))

    (error,) = caught.value.errors()
    assert error["loc"] == ("org_sync", "connection")
    assert error["msg"] == "no connection named `hrr`; did you mean `hr`?"


def test_capability_is_checked_when_a_registry_is_given(registry):
    data = {"connections": {"desk": desk()}, "org_sync": {"connection": "desk"}}

    with pytest.raises(ValidationError) as caught:
        HubConfig.model_validate(data, context={"registry": registry})

    (error,) = caught.value.errors()
    assert error["loc"] == ("org_sync", "connection")
    assert error["msg"] == (
        "connection `desk` is of type `salesdesk`, which cannot be an org source; "
        "add a connection of type peoplehr"
    )


def test_raw_connections_need_a_registry():
    with pytest.raises(ValidationError) as caught:
        HubConfig.model_validate({"connections": {"hr": {"type": "peoplehr"}}})

    (error,) = caught.value.errors()
    assert error["loc"] == ("connections", "hr")
    assert "no connector registry" in error["msg"]


def test_connection_errors_keep_their_location_inside_the_connection(registry):
    raw = {"connections": {"hr": {"type": "peoplehr", "base_url": 5, "api_key": "${K}"}}}

    with pytest.raises(ValidationError) as caught:
        HubConfig.model_validate(raw, context={"registry": registry, "env": {"K": "v"}})

    assert [error["loc"] for error in caught.value.errors()] == [("connections", "hr", "base_url")]


def test_validation_error_text_never_shows_a_literal_secret(registry):
    raw = {"connections": {"hr": {"type": "peoplehr", "base_url": "u", "api_key": "hunter2-literal"}}}

    with pytest.raises(ValidationError) as caught:
        HubConfig.model_validate(raw, context={"registry": registry})

    assert "never the secret itself" in str(caught.value)
    assert "hunter2-literal" not in str(caught.value)


def test_dump_keeps_every_connector_setting():
    config = HubConfig(connections={"hr": people()})

    dumped = config.model_dump()

    assert dumped["connections"]["hr"]["base_url"] == "http://hr.test"
    assert dumped["connections"]["hr"]["type"] == "peoplehr"


def test_defaults():
    org_sync = OrgSyncSettings(connection="hr")

    assert (org_sync.max_deactivate_ratio, org_sync.max_manager_change_ratio) == (0.10, 0.20)
    assert org_sync.deactivate_missing is True
    assert org_sync.full_sync_every_days == 7
    assert JobsSettings().org_sync == Schedule(cron="0 2 * * *", timezone="UTC", enabled=True)
    assert StoreSettings() == StoreSettings(url=None, echo=False)
    assert HubConfig().version == 1


def test_models_are_frozen():
    schedule = Schedule(cron="0 2 * * *")

    with pytest.raises(ValidationError):
        schedule.cron = "0 3 * * *"  # type: ignore[misc]


def test_full_sync_can_be_switched_off():
    assert OrgSyncSettings(connection="hr", full_sync_every_days=None).full_sync_every_days is None


@pytest.mark.parametrize("cron", ["0 2 * * *", "*/15 * * * *", "30 1 * * mon-fri", "0 0 1 jan *"])
def test_valid_cron_expressions(cron):
    assert Schedule(cron=cron).cron == cron


@pytest.mark.parametrize("cron", ["", "0 2 * *", "0 0 2 * * *", "0 25 * * *", "x y z a b"])
def test_invalid_cron_expressions(cron):
    with pytest.raises(ValidationError) as caught:
        Schedule(cron=cron)

    assert caught.value.errors()[0]["loc"] == ("cron",)


def test_unknown_timezone_without_a_close_match_says_what_to_write():
    with pytest.raises(ValidationError) as caught:
        Schedule(cron="0 2 * * *", timezone="Nowhere")

    assert caught.value.errors()[0]["msg"] == (
        "unknown time zone `Nowhere`; use an IANA name such as Europe/Berlin"
    )


def test_every_field_has_a_description():
    for model in (StoreSettings, OrgSyncSettings, Schedule, JobsSettings, HubConfig):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no docstring"


def test_a_visibility_timeout_below_the_time_limit_is_refused():
    with pytest.raises(ValidationError, match="hands a task that is still running to a second worker"):
        WorkersSettings(task_time_limit_seconds=600, visibility_timeout_seconds=300)
