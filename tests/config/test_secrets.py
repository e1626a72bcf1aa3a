from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from hub.config.loader import load_config
from hub.config.secrets import REFERENCE_PATTERN, SecretRef
from hub.errors import ConfigErrors
from tests.config.conftest import PeopleSettings

HR_CONNECTION = "connections:\n  hr:\n    type: peoplehr\n    base_url: http://hr.test\n"
LITERAL_REFUSED = (
    "must be a secret reference such as ${BAMBOOHR_API_KEY} or ${file:/run/secrets/bamboohr}, "
    "never the secret itself"
)


class Creds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretRef


def validate(value: object, **context: object) -> Creds:
    return Creds.model_validate({"token": value}, context=context)


def message(caught: pytest.ExceptionInfo[ValidationError]) -> str:
    (error,) = caught.value.errors()
    return error["msg"]


def test_env_reference_resolves_to_a_secret_str_and_is_collected():
    found: set[str] = set()

    creds = validate("${HR_TOKEN}", env={"HR_TOKEN": "s3cr3t"}, secrets=found)

    assert isinstance(creds.token, SecretStr)
    assert creds.token.get_secret_value() == "s3cr3t"
    assert found == {"s3cr3t"}
    assert "s3cr3t" not in repr(creds)


def test_env_reference_reads_the_process_environment_without_a_context(monkeypatch):
    monkeypatch.setenv("OKRHUB_TEST_TOKEN", "from-environ")

    assert Creds(token="${OKRHUB_TEST_TOKEN}").token.get_secret_value() == "from-environ"


def test_unset_env_variable_is_named():
    with pytest.raises(ValidationError) as caught:
        validate("${HR_TOKEN}", env={})

    assert message(caught).startswith("environment variable `HR_TOKEN` is not set")


def test_empty_env_variable_is_refused():
    with pytest.raises(ValidationError) as caught:
        validate("${HR_TOKEN}", env={"HR_TOKEN": ""})

    assert message(caught) == "environment variable `HR_TOKEN` is set but empty"


def test_file_reference_reads_the_file_without_its_trailing_newline(tmp_path):
    secret_file = tmp_path / "token"
    secret_file.write_text("file-secret\n", encoding="utf-8")
    found: set[str] = set()

    creds = validate(f"${{file:{secret_file}}}", secrets=found)

    assert creds.token.get_secret_value() == "file-secret"
    assert found == {"file-secret"}


def test_relative_file_reference_starts_at_the_base_dir(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("relative-secret\r\n", encoding="utf-8")

    creds = validate("${file:secrets/token}", base_dir=tmp_path)

    assert creds.token.get_secret_value() == "relative-secret"


def test_missing_secret_file_is_named(tmp_path):
    with pytest.raises(ValidationError) as caught:
        validate("${file:nope.txt}", base_dir=tmp_path)

    assert message(caught) == f"secret file `{tmp_path / 'nope.txt'}` does not exist"


LITERALS = ["hunter2", "${not a ref}", "$HR_TOKEN", "${HR_TOKEN", "prefix${HR_TOKEN}", "${file:}"]


@pytest.mark.parametrize("literal", LITERALS)
def test_literal_secret_is_refused(literal):
    with pytest.raises(ValidationError) as caught:
        validate(literal, env={"HR_TOKEN": "x"})

    assert message(caught) == LITERAL_REFUSED


def test_non_string_is_refused():
    with pytest.raises(ValidationError) as caught:
        validate(12345)

    assert message(caught).startswith("must be a secret reference such as ${BAMBOOHR_API_KEY}")


def test_secret_str_built_in_code_is_taken_as_is():
    found: set[str] = set()
    secret = SecretStr("built-in-code")

    creds = validate(secret, secrets=found)

    assert creds.token is secret
    assert found == {"built-in-code"}


def test_json_schema_is_a_string_with_the_reference_pattern():
    schema = Creds.model_json_schema()["properties"]["token"]

    assert schema["type"] == "string"
    assert schema["pattern"] == REFERENCE_PATTERN
    assert "${ENV_VAR}" in schema["description"]


# Through the loader


def test_literal_secret_in_a_config_file_is_refused_without_echoing_it(load):
    text = HR_CONNECTION + "    api_key: hunter2-literal\n"

    with pytest.raises(ConfigErrors) as caught:
        load(text)

    (err,) = caught.value.errors
    assert (err.line, err.column, err.field) == (5, 14, "connections.hr.api_key")
    assert err.reason == LITERAL_REFUSED
    assert "hunter2-literal" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_missing_env_variable_in_a_config_file_is_named_at_its_line(load):
    text = HR_CONNECTION + "    api_key: ${NOPE_KEY}\n"

    with pytest.raises(ConfigErrors) as caught:
        load(text, env={})

    (err,) = caught.value.errors
    assert (err.line, err.field) == (5, "connections.hr.api_key")
    assert "`NOPE_KEY`" in err.reason


def test_file_reference_in_a_config_is_relative_to_the_config_folder(tmp_path, monkeypatch, registry):
    config_dir = tmp_path / "etc" / "okrhub"
    config_dir.mkdir(parents=True)
    (config_dir / "hr.key").write_text("key-from-file\n", encoding="utf-8")
    path = config_dir / "hub.yaml"
    path.write_text(
        HR_CONNECTION + "    api_key: ${file:hr.key}\n",
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    loaded = load_config(Path("..") / "etc" / "okrhub" / "hub.yaml", registry=registry, env={})

    settings = loaded.config.connections["hr"]
    assert isinstance(settings, PeopleSettings)
    assert settings.api_key.get_secret_value() == "key-from-file"
    assert loaded.secrets == frozenset({"key-from-file"})
