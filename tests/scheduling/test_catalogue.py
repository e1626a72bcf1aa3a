from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub.config.loader import load_config
from hub.errors import ConfigError, ConfigErrors
from hub.registry import ConnectorRegistry
from hub.scheduling.catalogue import load_catalogue

METRIC_CONNECTIONS = """\
  jira:
    type: jira
    base_url: http://127.0.0.1:9
    deployment: cloud
    email: okrhub@acme.example
    api_token: ${JIRA_API_TOKEN}
"""

MAPPINGS = """\
mappings:
  - id: bugs_a
    connection: jira
    jql: "project = A AND issuetype = Bug"
    value: {aggregate: count}
    targets: {key_result: kr-a}
    schedule: {cron: "0 6 * * *", timezone: Europe/London}
  - id: bugs_b
    connection: jira
    jql: "project = B AND issuetype = Bug"
    value: {aggregate: count}
    targets: {key_result: kr-b}
    schedule: {cron: "0 6 * * *", timezone: Europe/London}
  - id: bugs_c
    connection: jira
    jql: "project = C AND issuetype = Bug"
    value: {aggregate: count}
    targets: {key_result: kr-c}
"""


def _config(write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, *, jobs: str = "") -> Path:
    monkeypatch.setenv("JIRA_API_TOKEN", "token")
    path = write_config()
    text = path.read_text().replace("connections:\n", "connections:\n" + METRIC_CONNECTIONS)
    path.write_text(text + jobs)
    (path.parent / "mappings").mkdir()
    (path.parent / "mappings" / "bugs.yaml").write_text(MAPPINGS)
    return path


def _load(path: Path):  # type: ignore[no-untyped-def]
    return load_catalogue(load_config(path, registry=ConnectorRegistry.from_entry_points()))


def test_mappings_sharing_a_schedule_run_as_one_job_and_the_rest_use_the_default(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(write_config, monkeypatch, jobs='  metrics: {cron: "15 * * * *"}\n')
    catalogue = _load(path)

    assert [job.name for job in catalogue] == ["org_sync", "metrics:bugs_a,bugs_b", "metrics:bugs_c"]
    grouped = catalogue.get("metrics:bugs_a,bugs_b")
    assert grouped.mapping_ids == ("bugs_a", "bugs_b")
    assert (grouped.schedule.cron, grouped.schedule.timezone) == ("0 6 * * *", "Europe/London")
    assert catalogue.get("metrics:bugs_c").schedule.cron == "15 * * * *"
    assert catalogue.get("org_sync").ledger_job == "org_sync"
    assert grouped.ledger_job == "kr_updates"


def test_the_write_back_runs_on_its_own_schedule_string_or_zoned(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config()
    folder = path.parent / "writeback"
    folder.mkdir()
    settings = (
        "connection: bamboohr\nreview_cycle: acme-2026\nperiod: {start: 2026-01-01, end: 2026-12-31}\n"
        "scale: {1: Below, 2: Meets}\n"
    )
    (folder / "ratings.yaml").write_text(settings + 'schedule: "0 6 * * 1"\n')
    job = _load(path).get("writeback:ratings")
    assert (job.kind, job.schedule.cron, job.schedule.timezone) == ("writeback", "0 6 * * 1", "UTC")

    (folder / "ratings.yaml").write_text(settings + 'schedule: {cron: "0 7 * * *", timezone: Asia/Tokyo}\n')
    assert _load(path).get("writeback:ratings").schedule.timezone == "Asia/Tokyo"

    (folder / "ratings.yaml").write_text(settings)
    assert [job.name for job in _load(path)] == ["org_sync"]


def test_a_bad_write_back_schedule_names_the_file_and_line(write_config: Callable[..., Path]) -> None:
    path = write_config()
    (path.parent / "writeback").mkdir()
    (path.parent / "writeback" / "ratings.yaml").write_text(
        "connection: bamboohr\nreview_cycle: acme-2026\nperiod: {start: 2026-01-01, end: 2026-12-31}\n"
        'scale: {1: Below}\nschedule: "0 6 * *"\n'
    )
    with pytest.raises(ConfigErrors) as raised:
        _load(path)
    message = str(raised.value)
    assert "ratings.yaml:5" in message
    assert "4 fields" in message


def test_disabled_jobs_are_listed_but_not_enabled(write_config: Callable[..., Path]) -> None:
    path = write_config()
    path.write_text(path.read_text().replace("timezone: UTC}", "timezone: UTC, enabled: false}"))
    catalogue = _load(path)
    assert [job.name for job in catalogue] == ["org_sync"]
    assert catalogue.enabled == []


def test_an_unknown_job_name_lists_the_known_ones(write_config: Callable[..., Path]) -> None:
    with pytest.raises(ConfigError, match=r"no scheduled job `org-sync`; jobs: org_sync"):
        _load(write_config()).get("org-sync")


def test_a_misspelt_write_back_key_is_named_with_the_right_one(write_config: Callable[..., Path]) -> None:
    path = write_config()
    (path.parent / "writeback").mkdir()
    (path.parent / "writeback" / "ratings.yaml").write_text(
        "connection: bamboohr\nreview_cycle: acme-2026\nperiod: {start: 2026-01-01, end: 2026-12-31}\n"
        'scale: {1: Below}\nshedule: "0 6 * * *"\n'
    )
    with pytest.raises(ConfigErrors) as raised:
        _load(path)
    assert "ratings.yaml:5:1: field `shedule`: unknown key `shedule`; did you mean `schedule`?" in str(
        raised.value
    )
