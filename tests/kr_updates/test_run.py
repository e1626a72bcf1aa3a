"""A metric run end to end: real connectors over HTTP(S) to the emulators, into SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rich.console import Console

from hub.cli.okrs_cmds import okrs_show_command
from hub.okrs.repository import check_in_history, load_tree
from hub.okrs.view import build_view
from hub.store.ledger import RunLedger
from okr_core.checkins import ConnectorAuthor
from sandbox.server import Fault

from .conftest import (
    CONNECTION_OF_MAPPING,
    GA4_PATH,
    JQL_PATH,
    NOW,
    SOQL_PATH,
    TODAY,
    MakeWorld,
    TaggedKr,
    World,
    outcomes_by_key,
    tagged_krs,
)


def owner_id_in_query(kr: TaggedKr) -> str:
    """The owner's id as the mapping's query names it."""
    if kr.tag in ("quota", "win_rate"):
        assert kr.owner.salesforce_user_id is not None
        return f"'{kr.owner.salesforce_user_id}'"
    if kr.tag == "velocity":
        return f'"{kr.owner.jira_account_id}"'
    return kr.owner.email


def clear_request_logs(world: World) -> None:
    for emulator in (world.salesforce, world.jira, world.ga4):
        emulator.requests.clear()


def test_a_run_checks_in_every_mapped_key_result_with_its_provenance(world: World) -> None:
    result = world.run()

    assert result.status == "succeeded"
    outcomes = outcomes_by_key(result)
    assert result.counts == {"checked_in": len(world.krs) + 1}
    for kr in world.krs:
        expected = world.expected(kr)
        assert expected is not None, kr.key
        assert outcomes[kr.key].action == "checked_in", outcomes[kr.key]
        assert outcomes[kr.key].value == pytest.approx(expected), kr.key

        [record] = check_in_history(world.engine, kr.key)
        assert record.value == pytest.approx(expected)
        assert record.at == NOW
        assert record.fetched_at == NOW
        author = record.author
        assert isinstance(author, ConnectorAuthor)
        assert (author.connection, author.mapping, author.run_id) == (
            CONNECTION_OF_MAPPING[kr.mapping],
            kr.mapping,
            str(result.run_id),
        )
        # The query as it reads for this key result alone: its owner, this window.
        assert owner_id_in_query(kr) in author.query
        assert "2026-10-01" in author.query
        raw = json.loads(author.raw_result)
        if kr.tag == "win_rate":
            queries = json.loads(author.query)
            assert set(queries) == set(raw) == {"won", "closed"}
            assert all(owner_id_in_query(kr) in text for text in queries.values())
            assert raw["won"]["value"] / raw["closed"]["value"] * 100 == pytest.approx(expected, abs=0.05)
        elif kr.owner is world.idle_seller:
            # No closed-won deal: no group in the answer, and `on_no_data: zero` made it a real 0.
            assert (raw["value"]["value"], expected) == (None, 0)
        else:
            assert raw["value"]["value"] == pytest.approx(expected)
            assert raw["value"]["rows"] >= 1
        group = next(iter(raw.values()))["group"]
        assert group in (kr.owner.salesforce_user_id, kr.owner.jira_account_id, kr.owner.email)

    pipeline = check_in_history(world.engine, "kr-pipeline")[-1]
    assert pipeline.value == pytest.approx(world.expected_pipeline())
    assert isinstance(pipeline.author, ConnectorAuthor)
    assert pipeline.author.query.startswith("SELECT SUM(Amount) total FROM Opportunity")
    assert json.loads(pipeline.author.raw_result)["value"]["group"] is None

    tree = load_tree(world.engine)
    for kr in world.krs:
        assert tree.key_results[kr.key].current == pytest.approx(world.expected(kr))
    states = world.states()
    assert {s.status for s in states.values()} == {"ok"}
    for kr in world.krs:
        assert states[kr.key].last_value == pytest.approx(world.expected(kr))
        assert states[kr.key].last_success_at == NOW
        assert states[kr.key].run_id == result.run_id

    run = RunLedger(world.engine).get(result.run_id)
    assert (run.job, run.status, run.dry_run) == ("kr_updates", "succeeded", False)
    assert run.counts["checked_in"] == len(world.krs) + 1
    assert run.rejection_count == 0


def test_a_second_run_writes_nothing(world: World) -> None:
    first = world.run()
    assert first.counts == {"checked_in": len(world.krs) + 1}
    check_ins = world.check_in_count()

    later = NOW + timedelta(hours=1)
    second = world.run(now=later)

    assert second.counts == {"unchanged": len(world.krs) + 1}
    assert world.check_in_count() == check_ins
    for kr in world.krs:
        history = check_in_history(world.engine, kr.key)
        assert [r.at for r in history] == [NOW]
    # The state says the mapping still works: a quiet key result is not a stale one.
    states = world.states()
    assert {s.last_success_at for s in states.values()} == {later}
    run = RunLedger(world.engine).get(second.run_id)
    assert run.counts["unchanged"] == len(world.krs) + 1
    assert "checked_in" not in run.counts


def test_the_plan_is_the_coalesced_number_of_calls_counted_at_the_emulators(world: World) -> None:
    clear_request_logs(world)
    result = world.run()

    sellers = len(world.sellers) + 1
    # Quota: one grouped SOQL for every seller; win rate: two (won, closed); pipeline: one.
    assert world.salesforce.requests.count(SOQL_PATH) == 4
    # Story points: one JQL for every engineer (one page of issues).
    assert world.jira.requests.count(JQL_PATH) == 1
    # Sessions: one report for every marketer, in one batchRunReports call.
    assert world.ga4.requests.count(GA4_PATH) == 1
    assert result.planned_calls == 6
    assert result.naive_calls == sellers + 2 * len(world.sellers) + 1 + len(world.engineers) + len(
        world.marketers
    )
    run = RunLedger(world.engine).get(result.run_id)
    assert (run.counts["planned_calls"], run.counts["naive_calls"]) == (6, result.naive_calls)

    clear_request_logs(world)
    only = world.run(mapping="closed_won_by_owner", now=NOW + timedelta(hours=1))
    assert len(only.outcomes) == sellers
    assert world.salesforce.requests.count(SOQL_PATH) == 1
    assert world.jira.requests.count("") == world.ga4.requests.count("") == 0


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            Fault(kind="status", status=500, path="/rest/api", times=1000), id="500s-beyond-retries"
        ),
        pytest.param(Fault(kind="status", status=401, path="/rest/api", times=1000), id="401"),
    ],
)
def test_a_failing_connection_fails_its_key_results_and_the_others_update(world: World, fault: Fault) -> None:
    earlier = NOW - timedelta(days=10)
    world.run(now=earlier)
    first_values = {kr.key: world.expected(kr, earlier.date()) for kr in world.krs}
    jira_krs = [kr for kr in world.krs if kr.tag == "velocity"]
    other_krs = [kr for kr in world.krs if kr.tag != "velocity"]

    world.jira.faults.inject(fault)
    result = world.run()

    outcomes = outcomes_by_key(result)
    for kr in jira_krs:
        outcome = outcomes[kr.key]
        assert outcome.action == "failed"
        assert "connection `jira`" in (outcome.reason or "")
        assert ("401" if fault.status == 401 else "500") in (outcome.reason or "")
        assert outcome.previous == pytest.approx(first_values[kr.key])
        # The key result keeps its last good value; no check-in was made.
        assert [r.at for r in check_in_history(world.engine, kr.key)] == [earlier]
    for kr in other_krs:
        assert outcomes[kr.key].action in ("checked_in", "unchanged")
        assert outcomes[kr.key].value == pytest.approx(world.expected(kr))
    tree = load_tree(world.engine)
    for kr in jira_krs:
        assert tree.key_results[kr.key].current == pytest.approx(first_values[kr.key])
    for kr in other_krs:
        assert tree.key_results[kr.key].current == pytest.approx(world.expected(kr))

    states = world.states()
    for kr in jira_krs:
        state = states[kr.key]
        assert state.status == "failed"
        assert state.last_value == pytest.approx(first_values[kr.key])
        assert state.last_success_at == earlier
        assert state.fetched_at == NOW
        assert "connection `jira`" in (state.message or "")
    assert {states[kr.key].status for kr in other_krs} == {"ok"}

    run = RunLedger(world.engine).get(result.run_id)
    assert run.status == "succeeded"
    assert run.counts["failed"] == len(jira_krs)
    assert {r.record_key for r in run.rejections} == {kr.key for kr in jira_krs}
    assert all(r.reason.startswith("story_points_by_assignee: ") for r in run.rejections)
    if fault.status == 500:
        assert world.jira.requests.count("/rest/api") >= 2, "a 500 is retried before the connection fails"


def test_a_jump_past_max_change_factor_is_held_until_accepted(world: World) -> None:
    world.run()
    seller = world.sellers[0]
    quota = world.by_key(f"kr-quota-{seller.employee_id}")
    before = world.expected(quota)
    assert before is not None
    assert before > 0
    world.salesforce.insert(
        "Opportunity",
        Name="A whale of a deal",
        OwnerId=seller.salesforce_user_id,
        Amount=round(before * 5, -1),
        StageName="Closed Won",
        CloseDate=TODAY - timedelta(days=1),
        IsWon=True,
        IsClosed=True,
    )
    jumped = world.expected(quota)
    assert jumped is not None
    assert jumped > 3 * before

    later = NOW + timedelta(hours=1)
    held = world.run(now=later)

    outcome = outcomes_by_key(held)[quota.key]
    assert outcome.action == "held"
    assert outcome.value == pytest.approx(jumped)
    assert outcome.previous == pytest.approx(before)
    assert "max_change_factor 3" in (outcome.reason or "")
    assert "--accept" in (outcome.reason or "")
    assert f"{jumped:,.0f}" in (outcome.reason or ""), "numbers in the reason are written out"
    assert len(check_in_history(world.engine, quota.key)) == 1
    assert load_tree(world.engine).key_results[quota.key].current == pytest.approx(before)
    state = world.states()[quota.key]
    assert state.status == "held"
    assert state.held_value == pytest.approx(jumped)
    assert state.last_value == pytest.approx(before)
    assert state.last_success_at == NOW
    # The same seller's win rate moved too, but it has no factor to trip: it is checked in.
    assert outcomes_by_key(held)[f"kr-winrate-{seller.employee_id}"].action == "checked_in"
    rejection = next(
        r for r in RunLedger(world.engine).get(held.run_id).rejections if r.record_key == quota.key
    )
    assert rejection.detail == {"mapping": "closed_won_by_owner", "action": "held", "value": jumped}

    # Still there on the next run: a held value waits for a person.
    assert outcomes_by_key(world.run(now=later + timedelta(hours=1)))[quota.key].action == "held"

    accepted = world.run(now=later + timedelta(hours=2), accept=True)
    assert outcomes_by_key(accepted)[quota.key].action == "checked_in"
    history = check_in_history(world.engine, quota.key)
    assert [r.value for r in history] == [pytest.approx(before), pytest.approx(jumped)]
    state = world.states()[quota.key]
    assert (state.status, state.held_value, state.message) == ("ok", None, None)
    assert state.last_value == pytest.approx(jumped)
    assert outcomes_by_key(world.run(now=later + timedelta(hours=3)))[quota.key].action == "unchanged"


def test_on_no_data_hold_holds_and_accept_publishes_nothing(make_world: MakeWorld) -> None:
    def with_a_quiet_marketer(sellers, idle, engineers, marketers):
        return [
            *tagged_krs(sellers, idle, engineers, marketers),
            TaggedKr("kr-sessions-quiet", "campaigns", idle, 100),
        ]

    world = make_world(krs=with_a_quiet_marketer)
    quiet = world.by_key("kr-sessions-quiet")
    assert world.expected(quiet) is None, "the seller owns no campaign"

    result = world.run()

    outcome = outcomes_by_key(result)["kr-sessions-quiet"]
    assert outcome.action == "held"
    assert "on_no_data: hold" in (outcome.reason or "")
    assert check_in_history(world.engine, quiet.key) == []
    state = world.states()[quiet.key]
    assert (state.status, state.held_value, state.last_value) == ("held", None, None)
    others = [o for o in result.outcomes if o.kr_key != quiet.key]
    assert {o.action for o in others} == {"checked_in"}

    accepted = world.run(now=NOW + timedelta(hours=1), accept=True)
    assert outcomes_by_key(accepted)[quiet.key].action == "no_data"
    assert check_in_history(world.engine, quiet.key) == []
    assert world.states()[quiet.key].status == "no_data"


def test_a_dry_run_writes_nothing(world: World) -> None:
    result = world.run(dry_run=True)

    assert result.dry_run
    assert result.counts == {"would_check_in": len(world.krs) + 1}
    for kr in world.krs:
        assert outcomes_by_key(result)[kr.key].value == pytest.approx(world.expected(kr))
    assert world.check_in_count() == 0
    assert world.state_count() == 0
    assert all(kr.current is None for kr in load_tree(world.engine).key_results.values())
    run = RunLedger(world.engine).get(result.run_id)
    assert run.dry_run
    assert run.counts["would_check_in"] == len(world.krs) + 1

    assert world.run().counts == {"checked_in": len(world.krs) + 1}


def test_a_closed_key_result_and_a_passed_hard_deadline_are_refused_and_the_others_go_on(
    make_world: MakeWorld,
) -> None:
    def with_refusals(sellers, idle, engineers, marketers):
        return [
            *tagged_krs(sellers, idle, engineers, marketers),
            TaggedKr(
                "kr-quota-closed",
                "quota",
                sellers[0],
                1000,
                extra=f"check_ins:\n  - {{at: 2026-10-05, value: 1000, by: {sellers[0].employee_id}}}",
            ),
            TaggedKr(
                "kr-quota-deadline",
                "quota",
                sellers[1],
                10_000_000,
                extra="deadline: 2026-11-01\nhard_deadline: true",
            ),
        ]

    world = make_world(krs=with_refusals)
    assert load_tree(world.engine).key_results["kr-quota-closed"].state.value == "closed"

    result = world.run()

    outcomes = outcomes_by_key(result)
    closed, deadline = outcomes["kr-quota-closed"], outcomes["kr-quota-deadline"]
    assert closed.action == deadline.action == "refused"
    assert "the key result is closed" in (closed.reason or "")
    assert "hard deadline 2026-11-01 has passed" in (deadline.reason or "")
    assert deadline.value == pytest.approx(world.expected_won(world.sellers[1]))
    assert len(check_in_history(world.engine, "kr-quota-closed")) == 1
    assert check_in_history(world.engine, "kr-quota-deadline") == []
    refused = {"kr-quota-closed", "kr-quota-deadline"}
    assert {o.action for o in result.outcomes if o.kr_key not in refused} == {"checked_in"}
    run = RunLedger(world.engine).get(result.run_id)
    assert {r.record_key for r in run.rejections} == refused
    assert run.counts["refused"] == 2

    # The key results are not being updated, and their state says so instead of `ok`.
    states = world.states()
    assert states["kr-quota-closed"].status == states["kr-quota-deadline"].status == "refused"
    assert "hard deadline" in (states["kr-quota-deadline"].message or "")
    assert states["kr-quota-deadline"].last_success_at is None
    automation = {
        kr["key"]: kr["automation"]
        for objective in build_view(world.engine, as_of=TODAY)["objectives"]
        for kr in objective["key_results"]
    }
    assert automation["kr-quota-deadline"]["status"] == "refused"
    assert automation["kr-quota-deadline"]["stale"] is True, "never updated in an open cycle"
    assert automation["kr-quota-closed"]["stale"] is False, "a closed key result is not expected to move"
    text = Console(width=400, record=True, color_system=None)
    okrs_show_command(world.engine, as_of=TODAY, console=text, now=NOW)
    assert (
        "⛔ REFUSED: check-in on key result `kr-quota-deadline` refused: "
        "its hard deadline 2026-11-01 has passed (check-in dated 2026-11-23)"
    ) in text.export_text()
