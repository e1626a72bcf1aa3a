from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.config.loader import load_config
from hub.errors import ConfigError, ConfigErrors
from tests.config.conftest import VALID, DeskSettings, PeopleSettings

HEAD = """\
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
"""
"""Ten valid lines; tests append to it, so their own lines start at 11."""


def where(err: ConfigError) -> tuple[str | None, int | None, int | None, str | None]:
    return err.file, err.line, err.column, err.field


def only(errors: list[ConfigError]) -> ConfigError:
    assert len(errors) == 1, [err.message for err in errors]
    return errors[0]


# A valid file


def test_valid_config_loads_with_connector_settings_and_secrets(load):
    loaded = load(VALID)

    config = loaded.config
    assert isinstance(config.connections["hr"], PeopleSettings)
    assert isinstance(config.connections["desk"], DeskSettings)
    api_key = config.connections["hr"].api_key
    assert isinstance(api_key, SecretStr)
    assert api_key.get_secret_value() == "people-secret-1"
    assert config.org_sync is not None
    assert config.org_sync.connection == "hr"
    assert config.org_sync.identities == {"jira": "customJiraAccountId"}
    assert config.jobs.org_sync.cron == "30 1 * * 1-5"
    assert config.jobs.org_sync.timezone == "Europe/Berlin"
    assert loaded.secrets == frozenset({"people-secret-1", "desk-secret-2"})
    assert loaded.path == Path("hub.yaml")


def test_minimal_config_gets_defaults(load):
    config = load("version: 1\n").config

    assert config.connections == {}
    assert config.org_sync is None
    assert config.store.url is None
    assert config.jobs.org_sync.cron == "0 2 * * *"
    assert config.jobs.org_sync.timezone == "UTC"


def test_database_url_from_environment_wins_and_its_password_is_a_secret(load):
    text = VALID + "store:\n  url: sqlite:///ignored.db\n"
    env = {"PEOPLE_KEY": "k1", "DESK_TOKEN": "k2", "OKRHUB_DATABASE_URL": "postgresql://hub:pa55@db/okrhub"}

    loaded = load(text, env=env)

    assert loaded.config.store.url == "postgresql://hub:pa55@db/okrhub"
    assert "pa55" in loaded.secrets


def test_load_config_reads_the_file_and_keeps_its_path(tmp_path, registry):
    path = tmp_path / "hub.yaml"
    path.write_text(VALID, encoding="utf-8")

    loaded = load_config(path, registry=registry, env={"PEOPLE_KEY": "a", "DESK_TOKEN": "b"})

    assert loaded.path == path
    assert sorted(loaded.config.connections) == ["desk", "hr"]


# Each kind of mistake, with its exact position


def test_misspelt_top_level_key_points_at_the_key_with_a_suggestion(errors_of):
    err = only(errors_of("version: 1\nconections: {}\n"))

    assert where(err) == ("hub.yaml", 2, 1, "conections")
    assert err.reason == "unknown key `conections`; did you mean `connections`?"
    assert str(err) == (
        "hub.yaml:2:1: field `conections`: unknown key `conections`; did you mean `connections`?"
    )


def test_misspelt_nested_key_points_at_the_key_with_a_suggestion(errors_of):
    text = HEAD + "org_sync:\n  connection: hr\n  max_deactivate_ration: 0.2\n"

    err = only(errors_of(text))

    assert where(err) == ("hub.yaml", 13, 3, "org_sync.max_deactivate_ration")
    assert err.reason == "unknown key `max_deactivate_ration`; did you mean `max_deactivate_ratio`?"


def test_misspelt_connector_setting_is_suggested_from_that_connectors_model(errors_of):
    text = HEAD.replace("    base_url: http://hr.test\n", "    base_url: http://hr.test\n    timeuot: 5\n")

    errors = errors_of(text)

    assert [where(err) for err in errors] == [("hub.yaml", 6, 5, "connections.hr.timeuot")]
    assert errors[0].reason == "unknown key `timeuot`; did you mean `timeout`?"


def test_unknown_key_without_a_close_match_lists_the_known_keys(errors_of):
    err = only(errors_of("version: 1\nstore:\n  flavour: x\n"))

    assert where(err) == ("hub.yaml", 3, 3, "store.flavour")
    assert err.reason == "unknown key `flavour`; known keys: echo, url"


def test_wrong_type_points_at_the_value(errors_of):
    text = HEAD + "org_sync:\n  connection: hr\n  max_deactivate_ratio: lots\n"

    err = only(errors_of(text))

    assert where(err) == ("hub.yaml", 13, 25, "org_sync.max_deactivate_ratio")
    assert "valid number" in err.reason


def test_ratio_above_one_is_refused(errors_of):
    text = HEAD + "org_sync:\n  connection: hr\n  max_manager_change_ratio: 1.5\n"

    err = only(errors_of(text))

    assert where(err) == ("hub.yaml", 13, 29, "org_sync.max_manager_change_ratio")
    assert err.reason == "Input should be less than or equal to 1"


def test_section_that_is_not_a_mapping_says_so(errors_of):
    err = only(errors_of("version: 1\nstore: sqlite\n"))

    assert where(err) == ("hub.yaml", 2, 8, "store")
    assert err.reason == "expected a mapping of keys, found a string"


def test_empty_value_points_at_its_key(errors_of):
    err = only(errors_of(HEAD + "org_sync:\n  connection:\n"))

    assert where(err) == ("hub.yaml", 12, 3, "org_sync.connection")
    assert "valid string" in err.reason


def test_unknown_connector_type_lists_known_types_with_a_suggestion(errors_of):
    text = HEAD.replace("type: peoplehr", "type: peoplhr")

    err = only(errors_of(text))

    assert where(err) == ("hub.yaml", 4, 11, "connections.hr.type")
    assert err.reason == (
        "unknown connector type `peoplhr`. Did you mean `peoplehr`? Known types: peoplehr, salesdesk."
    )


def test_connection_without_type_points_at_the_connection(errors_of):
    err = only(errors_of("connections:\n  hr:\n    base_url: http://hr.test\n"))

    assert where(err) == ("hub.yaml", 3, 5, "connections.hr.type")
    assert err.reason == "missing required key `type`; set it to one of: peoplehr, salesdesk"


def test_connection_that_is_not_a_mapping_says_what_it_needs(errors_of):
    err = only(errors_of("connections:\n  hr: peoplehr\n"))

    assert where(err) == ("hub.yaml", 2, 7, "connections.hr")
    assert err.reason == "a connection is a mapping with `type` and the connector's settings"


def test_missing_required_field_points_at_the_parent_mapping(errors_of):
    text = HEAD + "org_sync:\n  deactivate_missing: false\n"

    err = only(errors_of(text))

    assert where(err) == ("hub.yaml", 12, 3, "org_sync.connection")
    assert err.reason == "missing required key `connection`"


def test_missing_connector_setting_points_at_the_connection(errors_of):
    text = HEAD.replace("    instance_url: http://desk.test\n", "")

    err = only(errors_of(text))

    assert where(err) == ("hub.yaml", 8, 5, "connections.desk.instance_url")
    assert err.reason == "missing required key `instance_url`"


def test_org_sync_naming_an_unknown_connection_suggests_the_closest(errors_of):
    err = only(errors_of(HEAD + "org_sync:\n  connection: hrr\n"))

    assert where(err) == ("hub.yaml", 12, 15, "org_sync.connection")
    assert err.reason == "no connection named `hrr`; did you mean `hr`?"


def test_org_sync_naming_an_unrelated_connection_lists_the_declared_ones(errors_of):
    err = only(errors_of(HEAD + "org_sync:\n  connection: workday\n"))

    assert err.reason == "no connection named `workday`; declared connections: desk, hr"


def test_org_sync_from_a_connector_that_is_not_an_org_source_is_refused(errors_of):
    err = only(errors_of(HEAD + "org_sync:\n  connection: desk\n"))

    assert where(err) == ("hub.yaml", 12, 15, "org_sync.connection")
    assert err.reason == (
        "connection `desk` is of type `salesdesk`, which cannot be an org source; use one of: hr"
    )


def test_unknown_person_field_points_at_the_key_with_a_suggestion(errors_of):
    text = HEAD + "org_sync:\n  connection: hr\n  fields:\n    employe_id: id\n    email: workEmail\n"

    err = only(errors_of(text))

    assert where(err) == ("hub.yaml", 14, 5, "org_sync.fields.employe_id")
    assert err.reason == "unknown person field `employe_id`; did you mean `employee_id`?"


def test_bad_cron_points_at_the_value(errors_of):
    err = only(errors_of('jobs:\n  org_sync:\n    cron: "0 25 * * *"\n'))

    assert where(err) == ("hub.yaml", 3, 11, "jobs.org_sync.cron")
    assert err.reason.startswith("invalid cron expression `0 25 * * *`: ")
    assert "out of range" in err.reason


def test_cron_with_the_wrong_number_of_fields_says_how_many(errors_of):
    err = only(errors_of('jobs:\n  org_sync:\n    cron: "0 0 2 * * *"\n'))

    assert where(err) == ("hub.yaml", 3, 11, "jobs.org_sync.cron")
    assert err.reason == (
        "cron expression `0 0 2 * * *` has 6 fields; write 5 (minute hour day-of-month month day-of-week), "
        'e.g. "0 2 * * *"'
    )


def test_bad_timezone_points_at_the_value_with_a_suggestion(errors_of):
    err = only(errors_of('jobs:\n  org_sync:\n    cron: "0 2 * * *"\n    timezone: Europe/Berln\n'))

    assert where(err) == ("hub.yaml", 4, 15, "jobs.org_sync.timezone")
    assert err.reason == "unknown time zone `Europe/Berln`; did you mean `Europe/Berlin`?"


def test_wrong_version_is_refused(errors_of):
    err = only(errors_of("version: 2\n"))

    assert where(err) == ("hub.yaml", 1, 10, "version")


# YAML-level problems


def test_yaml_syntax_error_carries_the_position_ruamel_reports(errors_of):
    err = only(errors_of("version: 1\norg_sync:\n  connection: hr: x\n"))

    assert where(err) == ("hub.yaml", 3, 17, None)
    assert err.reason == "YAML syntax error: mapping values are not allowed here"


def test_duplicate_key_is_a_syntax_error_at_the_second_key(errors_of):
    err = only(errors_of("version: 1\nconnections:\n  hr: {}\n  hr: {}\n"))

    assert (err.line, err.column) == (4, 3)
    assert "duplicate key" in err.reason


def test_unquoted_cron_star_explains_the_quoting(errors_of):
    err = only(errors_of("jobs:\n  org_sync:\n    cron: * * * * *\n"))

    assert err.line == 3
    assert "must be quoted" in err.reason


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file_is_one_clear_error(errors_of, text):
    err = only(errors_of(text))

    assert where(err) == ("hub.yaml", 1, 1, None)
    assert err.reason.startswith("config file is empty")


@pytest.mark.parametrize(
    ("text", "found"), [("- version: 1\n", "a list"), ("just text\n", "a string"), ("42\n", "a number")]
)
def test_top_level_that_is_not_a_mapping_is_one_clear_error(errors_of, text, found):
    err = only(errors_of(text))

    assert (err.file, err.line, err.column) == ("hub.yaml", 1, 1)
    assert err.reason.startswith("the top level must be a mapping of keys (version, store, connections")
    assert err.reason.endswith(f"found {found}")


def test_missing_file_names_the_file(tmp_path, registry):
    path = tmp_path / "nope.yaml"

    with pytest.raises(ConfigErrors) as caught:
        load_config(path, registry=registry, env={})

    err = only(caught.value.errors)
    assert err.file == str(path)
    assert err.reason.startswith("config file not found")
    assert "OKRHUB_CONFIG" in err.reason


# Many mistakes, one run


def test_every_error_is_reported_in_one_pass_in_file_order(errors_of):
    text = """\
    version: 1
    stor: {}
    connections:
      hr:
        type: peoplehr
        base_url: http://hr.test
        api_key: hunter2
      desk:
        type: salesdsk
    org_sync:
      connection: hrr
      max_deactivate_ratio: 2
    jobs:
      org_sync:
        cron: "61 * * * *"
        timezone: Mars/Olympus
    """

    errors = errors_of(text)

    assert [(err.line, err.column, err.field) for err in errors] == [
        (2, 1, "stor"),
        (7, 14, "connections.hr.api_key"),
        (9, 11, "connections.desk.type"),
        (11, 15, "org_sync.connection"),
        (12, 25, "org_sync.max_deactivate_ratio"),
        (15, 11, "jobs.org_sync.cron"),
        (16, 15, "jobs.org_sync.timezone"),
    ]
    assert all(err.file == "hub.yaml" for err in errors)


def test_config_errors_survive_pickling(load):
    with pytest.raises(ConfigErrors) as caught:
        load("version: 1\nconections: {}\n")

    copy = pickle.loads(pickle.dumps(caught.value))

    assert isinstance(copy, ConfigErrors)
    assert where(copy.errors[0]) == ("hub.yaml", 2, 1, "conections")
    assert str(copy) == str(caught.value)
