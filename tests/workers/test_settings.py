"""The workers' settings: the environment over the file, and the Celery settings that keep tasks safe."""

from __future__ import annotations

import pytest

from hub.config.models import WorkersSettings
from hub.errors import ConfigError
from workers.settings import celery_config, effective_settings, mask_url, soft_time_limit

FILE = WorkersSettings(broker_url="redis://file-redis:6379/0", result_backend="redis://file-redis:6379/1")


def test_the_environment_wins_over_the_file() -> None:
    env = {
        "OKRHUB_BROKER_URL": "redis://env-redis:6379/3",
        "OKRHUB_RESULT_BACKEND": "rediss://env-redis:6380/4",
    }
    merged = effective_settings(FILE, env)
    assert (merged.broker_url, merged.result_backend) == (
        env["OKRHUB_BROKER_URL"],
        env["OKRHUB_RESULT_BACKEND"],
    )
    assert effective_settings(FILE, {"OKRHUB_BROKER_URL": ""}) == FILE


def test_a_url_that_is_not_redis_names_the_variable_and_hides_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        effective_settings(FILE, {"OKRHUB_BROKER_URL": "amqp://app:hunter2@rabbit//"})
    assert caught.value.field == "workers.broker_url"
    assert "OKRHUB_BROKER_URL" in caught.value.message
    assert "hunter2" not in caught.value.message
    assert "amqp://app:***@rabbit//" in caught.value.message


def test_tasks_are_acknowledged_late_one_at_a_time_with_limits_from_the_settings() -> None:
    conf = celery_config(
        WorkersSettings(
            broker_url="redis://r:6379/0", task_time_limit_seconds=1800, visibility_timeout_seconds=2000
        )
    )
    assert conf["broker_url"] == conf["result_backend"] == "redis://r:6379/0"
    assert (
        conf["task_acks_late"],
        conf["task_reject_on_worker_lost"],
        conf["worker_prefetch_multiplier"],
    ) == (
        True,
        True,
        1,
    )
    assert (conf["task_time_limit"], conf["task_soft_time_limit"]) == (1800, 1740)
    assert conf["broker_transport_options"]["visibility_timeout"] == 2000
    assert conf["broker_connection_retry_on_startup"] is False
    assert conf["task_serializer"] == conf["result_serializer"] == "json"
    assert conf["accept_content"] == ["json"]


@pytest.mark.parametrize(("hard", "soft"), [(10, 9), (300, 270), (3600, 3540), (86400, 86340)])
def test_the_soft_limit_leaves_the_run_time_to_record_its_end(hard: int, soft: int) -> None:
    assert soft_time_limit(hard) == soft


def test_masked_urls_keep_everything_but_the_password() -> None:
    assert mask_url("redis://:pw@host:6379/0") == "redis://:***@host:6379/0"
    assert mask_url("rediss://user:pw@host:6380/2") == "rediss://user:***@host:6380/2"
    assert mask_url("redis://host:6379/0") == "redis://host:6379/0"
