"""The shared wording and positions of pydantic errors on YAML files (`hub.config.messages`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.config.messages import (
    describe_value,
    did_you_mean,
    unwrap_annotation,
    validation_errors,
    validation_message,
)
from hub.config.yaml_source import Loc, TreeLocator, parse_yaml, parse_yaml_mapping, read_source, to_plain
from hub.errors import ConfigError, ConfigErrors


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: int
    end: int = 0


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    mode: Literal["daily", "weekly"] = "daily"
    level: Literal[1, 2] = 1
    window: Window | None = None


def _keys_at(loc: Loc) -> list[str]:
    if loc == ():
        return list(Settings.model_fields)
    if loc == ("window",):
        return list(Window.model_fields)
    return []


def _validation_error(data: Any) -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        Settings.model_validate(data)
    return raised.value


def _messages(data: Any, known_keys_at: Any = _keys_at) -> list[str]:
    exc = _validation_error(data)
    return [validation_message(error, tuple(error["loc"]), known_keys_at) for error in exc.errors()]


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (None, "nothing (null)"),
        (True, "a boolean"),
        (3, "a number"),
        (2.5, "a number"),
        ("x", "a string"),
        ([1], "a list"),
        ({"a": 1}, "dict"),
    ],
)
def test_describe_value(value: Any, said: str) -> None:
    assert describe_value(value) == said


def test_unwrap_annotation_drops_annotated_and_optional_but_keeps_real_unions() -> None:
    assert unwrap_annotation(Annotated[int, Field(ge=0)]) is int
    assert unwrap_annotation(int | None) is int
    assert unwrap_annotation(Annotated[Window | None, "meta"]) is Window
    assert unwrap_annotation(int | str) == int | str


def test_an_unknown_key_gets_the_closest_known_key() -> None:
    assert _messages({"name": "a", "nmae": "b"}) == ["unknown key `nmae`; did you mean `name`?"]


def test_an_unknown_key_without_a_close_match_lists_the_known_keys() -> None:
    assert _messages({"name": "a", "colour": "b"}) == [
        "unknown key `colour`; known keys: name, mode, level, window"
    ]


def test_an_unknown_key_where_the_keys_are_not_known_is_just_named() -> None:
    assert _messages({"name": "a", "colour": "b"}, None) == ["unknown key `colour`"]


def test_missing_key_and_a_value_that_should_be_a_mapping() -> None:
    assert _messages({"window": "all"}) == [
        "missing required key `name`",
        "expected a mapping of keys, found a string",
    ]


def test_a_string_that_is_not_one_of_the_literal_options_gets_a_hint() -> None:
    assert _messages({"name": "a", "mode": "weekyl"}) == [
        "unknown value `weekyl`; did you mean `weekly`? one of: daily, weekly"
    ]
    assert _messages({"name": "a", "mode": "hourly"}) == ["unknown value `hourly`; one of: daily, weekly"]


def test_other_errors_keep_pydantic_wording() -> None:
    [level] = _messages({"name": "a", "level": "3"})
    assert level.startswith("Input should be 1 or 2")
    [name] = _messages({"name": 5})
    assert name == "Input should be a valid string"


def test_did_you_mean() -> None:
    assert did_you_mean("wekly", ["daily", "weekly"]) == "; did you mean `weekly`?"
    assert did_you_mean("zzz", ["daily", "weekly"]) == ""


TEXT = """\
name: a
window:
  strat: 3
  end: nope
nmae: b
"""


def _tree_errors(**kwargs: Any) -> list[ConfigError]:
    root = parse_yaml(TEXT, source="s.yaml")
    return validation_errors(_validation_error(to_plain(root)), TreeLocator("s.yaml", root), **kwargs)


def _where(errors: list[ConfigError]) -> list[tuple[int | None, int | None, str | None, str]]:
    return [(err.line, err.column, err.field, err.reason) for err in errors]


def test_validation_errors_point_at_each_problem_in_file_order() -> None:
    assert _where(_tree_errors(known_keys_at=_keys_at)) == [
        (3, 3, "window.start", "missing required key `start`"),
        (3, 3, "window.strat", "unknown key `strat`; did you mean `start`?"),
        (4, 8, "window.end", "Input should be a valid integer, unable to parse string as an integer"),
        (5, 1, "nmae", "unknown key `nmae`; did you mean `name`?"),
    ]


def test_one_per_field_drops_the_missing_key_a_did_you_mean_names() -> None:
    reasons = [err.reason for err in _tree_errors(known_keys_at=_keys_at, one_per_field=True)]
    assert "missing required key `start`" not in reasons
    assert len(reasons) == 3


def test_parse_yaml_mapping_wants_a_mapping_at_the_top() -> None:
    with pytest.raises(ConfigErrors) as raised:
        parse_yaml_mapping("- a\n", source="s.yaml", not_a_mapping="a mapping, please")
    assert str(raised.value.errors[0]) == "s.yaml:1: a mapping, please"
    with pytest.raises(ConfigErrors) as raised:
        parse_yaml_mapping("a: [\n", source="s.yaml", not_a_mapping="a mapping, please")
    assert raised.value.errors[0].reason.startswith("YAML syntax error")


def test_read_source_names_what_it_could_not_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as raised:
        read_source(tmp_path / "gone.yaml", what="OKR file")
    assert str(raised.value.errors[0]) == f"{tmp_path / 'gone.yaml'}: OKR file not found"
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfa,b\n")
    assert read_source(tmp_path / "bom.csv", what="OKR file") == "a,b\n"
