"""`okrhub okrs show` makes a failing, held or stale automated key result visible (tree and --json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from hub.cli.main import app
from hub.cli.okrs_cmds import okrs_show_command
from hub.okrs.view import build_view
from hub.store.engine import ENV_VAR
from sandbox.server import Fault

from .conftest import NOW, TODAY, MakeWorld, TaggedKr, World, tagged_krs


def key_results(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def walk(objectives: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for objective in objectives:
            yield from objective["key_results"]
            yield from walk(objective["children"])

    return {kr["key"]: kr for kr in [*walk(data["objectives"]), *data["other_key_results"]]}


def shown(world: World, *, now: datetime = NOW, **options: Any) -> str:
    console = Console(width=400, record=True, color_system=None)
    assert okrs_show_command(world.engine, console=console, now=now, **options) == 0
    return console.export_text()


def test_show_marks_a_failing_connection_failed_and_its_key_results_stale(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = NOW - timedelta(days=10)
    world.run(now=earlier)
    world.jira.faults.inject(Fault(kind="status", status=401, path="/rest/api", times=1000))
    world.run()
    velocity = [kr for kr in world.krs if kr.tag == "velocity"]

    monkeypatch.setenv(ENV_VAR, world.store_url)
    result = CliRunner().invoke(
        app, ["okrs", "show", "--json", "--as-of", TODAY.isoformat(), "--config", str(world.config_path)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    krs = key_results(data)
    for kr in velocity:
        automation = krs[kr.key]["automation"]
        assert automation["mapping"] == "story_points_by_assignee"
        assert automation["status"] == "failed"
        assert "HTTP 401" in automation["message"]
        # The key result keeps the last good value, and says how old it is.
        assert automation["last_value"] == pytest.approx(world.expected(kr, earlier.date()))
        assert krs[kr.key]["current"] == pytest.approx(automation["last_value"])
        assert automation["last_success_at"] == earlier.isoformat()
        assert automation["fetched_at"] == NOW.isoformat()
        assert automation["held_value"] is None
        assert automation["stale"] is True
        assert (automation["days_since_success"], automation["cadence_days"]) == (10, 7)
    for kr in world.krs:
        if kr.tag != "velocity":
            automation = krs[kr.key]["automation"]
            assert (automation["status"], automation["stale"], automation["message"]) == ("ok", False, None)
            assert automation["last_success_at"] == NOW.isoformat()
    attention = data["health"]["automation"]
    assert {item["key"] for item in attention} == {kr.key for kr in velocity}
    assert {item["status"] for item in attention} == {"failed"}

    text = shown(world, as_of=TODAY, now=NOW + timedelta(hours=2))
    first = velocity[0]
    points = f"{world.expected(first, earlier.date()):,.0f}"
    assert (
        f"auto: story_points_by_assignee · last value {points} fetched 10 days ago · last tried 2h ago "
        "✗ FAILED: query `value` failed: connection `jira`: Jira rejected the credentials (HTTP 401"
    ) in text
    assert "⚠ STALE: not updated by its mapping for 10 days (cadence 7 days)" in text
    assert f"automated key results needing attention: {len(velocity)}" in text
    quota = world.by_key(f"kr-quota-{world.sellers[0].employee_id}")
    won = f"{world.expected(quota):,.0f}"
    assert f"auto: closed_won_by_owner · last value {won} fetched 2h ago\n" in text


def test_show_marks_a_held_value_and_says_how_to_publish_it(world: World) -> None:
    world.run()
    seller = world.sellers[0]
    quota = world.by_key(f"kr-quota-{seller.employee_id}")
    before = world.expected(quota)
    assert before is not None
    world.salesforce.insert(
        "Opportunity",
        Name="Suspiciously large",
        OwnerId=seller.salesforce_user_id,
        Amount=5_000_000.0,
        StageName="Closed Won",
        CloseDate=TODAY - timedelta(days=2),
    )
    world.run(now=NOW + timedelta(minutes=30))

    data = build_view(world.engine, as_of=TODAY)
    automation = key_results(data)[quota.key]["automation"]
    assert automation["status"] == "held"
    assert automation["held_value"] == pytest.approx(before + 5_000_000)
    assert automation["last_value"] == pytest.approx(before)
    assert "max_change_factor 3" in automation["message"]
    assert automation["stale"] is False
    assert [item["key"] for item in data["health"]["automation"]] == [quota.key]

    text = shown(world, as_of=TODAY, now=NOW + timedelta(hours=1))
    assert f"⏸ HELD {before + 5_000_000:,.0f} as suspect (the value moved from {before:,.0f} to" in text
    assert "publish it with `okrhub sync metrics --accept`" in text


def test_an_automated_key_result_goes_stale_after_its_cadence(make_world: MakeWorld) -> None:
    def krs(sellers, idle, engineers, marketers):
        monthly = TaggedKr("kr-quota-monthly", "quota", sellers[1], 10_000_000, extra="cadence: monthly")
        manual = TaggedKr("kr-by-hand", "by_hand", idle, 10)
        return [*tagged_krs(sellers, idle, engineers, marketers), monthly, manual]

    world = make_world(krs=krs)
    ran = NOW - timedelta(days=8)
    world.run(now=ran)

    fresh = key_results(build_view(world.engine, as_of=(ran + timedelta(days=2)).date()))
    assert not any(kr["automation"]["stale"] for kr in fresh.values() if kr["automation"])
    late = build_view(world.engine, as_of=TODAY)
    krs_late = key_results(late)
    weekly = krs_late[f"kr-quota-{world.sellers[1].employee_id}"]["automation"]
    assert (weekly["status"], weekly["stale"], weekly["days_since_success"]) == ("ok", True, 8)
    monthly = krs_late["kr-quota-monthly"]["automation"]
    assert (monthly["stale"], monthly["cadence_days"]) == (False, 30)
    assert krs_late["kr-by-hand"]["automation"] is None
    stale_keys = {item["key"] for item in late["health"]["automation"]}
    assert "kr-quota-monthly" not in stale_keys
    assert stale_keys == {
        kr.key for kr in world.krs if kr.tag != "by_hand" and kr.key != "kr-quota-monthly"
    } | {"kr-pipeline"}
    text = shown(world, as_of=TODAY)
    assert "⚠ STALE: not updated by its mapping for 8 days (cadence 7 days)" in text

    # One person's view carries the same marks on key results they own on others' objectives.
    mine = build_view(world.engine, as_of=TODAY, owner=world.sellers[1].employee_id)
    theirs = {kr["key"]: kr for kr in mine["other_key_results"]}
    assert theirs["kr-quota-monthly"]["automation"]["mapping"] == "closed_won_by_owner"
    assert theirs[f"kr-quota-{world.sellers[1].employee_id}"]["automation"]["stale"] is True
