"""`okrhub status` and `okrhub run --job`, through the real CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from hub.cli.main import app
from hub.scheduling.locks import Lease, Owner, StoreLeases
from hub.store.migrate import open_store
from hub.store.models import Person

runner = CliRunner()


def _okrhub(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_status_shows_the_next_run_and_the_last_outcome(
    write_config: Callable[..., Path], store_url: str
) -> None:
    config = str(write_config(cron="0 2 * * *", timezone="Europe/Berlin"))
    common = ["--config", config, "--database-url", store_url]

    code, output = _okrhub("status", *common, "--json")
    assert code == 0, output
    (never,) = json.loads(output)["jobs"]
    assert never["job"] == "org_sync"
    assert never["last_status"] is None
    assert never["next_run_at"].endswith(("T01:00:00+00:00", "T00:00:00+00:00"))

    code, output = _okrhub("run", "--job", "org_sync", *common, "--json")
    assert code == 0, output
    ran = json.loads(output)
    assert ran["status"] == "succeeded"

    code, output = _okrhub("status", *common, "--json")
    (after,) = json.loads(output)["jobs"]
    assert (after["last_status"], after["last_run_id"]) == ("succeeded", ran["run_id"])
    assert after["last_success_at"] is not None
    assert after["running"] is False

    code, output = _okrhub("status", *common)
    assert code == 0
    assert "org_sync" in output
    assert "succeeded" in output
    assert "Europe/Berlin" in output


def test_run_names_the_jobs_when_asked_for_an_unknown_one(
    write_config: Callable[..., Path], store_url: str
) -> None:
    code, output = _okrhub(
        "run", "--job", "nightly", "--config", str(write_config()), "--database-url", store_url
    )
    assert code == 2
    assert "no scheduled job `nightly`; jobs: org_sync" in output


def test_a_sync_by_hand_is_refused_while_the_job_runs_elsewhere(
    write_config: Callable[..., Path], store_url: str
) -> None:
    config = str(write_config())
    common = ["--config", config, "--database-url", store_url]
    engine = open_store(store_url)
    try:
        held = StoreLeases(engine).acquire("org_sync", Owner(host="worker-3", pid=77, token="t"))
        assert isinstance(held, Lease)

        code, output = _okrhub("sync", "org", *common, "--json")
        assert code == 1
        error = json.loads(output)["error"]
        assert error["type"] == "JobBusy"
        assert "already running on worker-3:77:t" in error["message"]
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Person)).scalar_one() == 0

        # A dry run writes nothing, so it needs no lease.
        code, output = _okrhub("sync", "org", "--dry-run", *common, "--json")
        assert code == 0, output

        StoreLeases(engine).release(held)
        code, output = _okrhub("sync", "org", *common, "--json")
        assert code == 0, output
    finally:
        engine.dispose()
