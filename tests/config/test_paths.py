from __future__ import annotations

from pathlib import Path

from hub.config.paths import default_config_path


def test_default_config_path_is_config_hub_yaml():
    assert default_config_path({}) == Path("config/hub.yaml")


def test_okrhub_config_overrides_the_default():
    assert default_config_path({"OKRHUB_CONFIG": "/etc/okrhub/hub.yaml"}) == Path("/etc/okrhub/hub.yaml")


def test_empty_okrhub_config_is_ignored():
    assert default_config_path({"OKRHUB_CONFIG": ""}) == Path("config/hub.yaml")


def test_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("OKRHUB_CONFIG", "elsewhere.yaml")

    assert default_config_path() == Path("elsewhere.yaml")
