"""What starts a run, and which day a run is for each mapping."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.errors import ConfigError
from hub.jobs.kr_updates import KrUpdateOptions, load_mapping_set, run_kr_updates
from hub.okrs.repository import check_in_history
from hub.store.ledger import RunLedger
from okr_core.checkins import ConnectorAuthor

from .conftest import MAPPINGS, MakeWorld, World, outcomes_by_key


def test_an_unknown_trigger_is_refused_before_any_run_starts() -> None:
    with pytest.raises(
        ConfigError, match="unknown trigger 'cron'; use one of: cli, schedule, worker"
    ) as caught:
        KrUpdateOptions(trigger="cron")
    assert caught.value.field == "trigger"


def test_the_trigger_is_recorded(world: World) -> None:
    result = world.run(trigger="schedule", mapping="open_pipeline")

    assert result.status == "succeeded"
    assert RunLedger(world.engine).get(result.run_id).trigger == "schedule"


# Pacific/Kiritimati is UTC+14: at 12:00 UTC on Nov 23 it is already Nov 24 there.
SUSPECT = "    suspect: {max_change_factor: 3.0}\n"
KIRITIMATI = MAPPINGS.replace(
    SUSPECT, SUSPECT + '    schedule: {cron: "0 2 * * *", timezone: Pacific/Kiritimati}\n', 1
)


def test_each_mapping_runs_on_the_date_of_its_schedule_time_zone(make_world: MakeWorld) -> None:
    assert KIRITIMATI != MAPPINGS
    world = make_world(mappings=KIRITIMATI)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    mappings = load_mapping_set(world.runtime.loaded)

    result = run_kr_updates(world.runtime, mappings, options=KrUpdateOptions(), clock=lambda: now)

    assert result.status == "succeeded"
    outcomes = outcomes_by_key(result)
    for kr in world.krs:
        if kr.tag not in ("quota", "velocity"):
            continue
        [record] = check_in_history(world.engine, kr.key)
        assert isinstance(record.author, ConnectorAuthor)
        assert record.at == now
        if kr.tag == "quota":  # scheduled in Kiritimati: the window ends on Nov 24
            assert "CloseDate <= 2026-11-24" in record.author.query
            assert outcomes[kr.key].value == pytest.approx(world.expected_won(kr.owner, date(2026, 11, 24)))
        else:  # no schedule: UTC, Nov 23
            assert '"2026-11-23"' in record.author.query
            assert outcomes[kr.key].value == pytest.approx(
                world.expected_points(kr.owner, date(2026, 11, 23))
            )
