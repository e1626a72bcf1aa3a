"""Owners whose emails hold quotes and backslashes flow through fan-out mappings as values, never as code.

The HCM sends these emails; the org sync stores them; the compiler renders each as a literal of
SOQL, JQL or a GA4 filter; the emulators parse the queries with their own tokenizers. A value that
came back wrong (cut at a quote, an escape eaten) would match nothing, or something else.
"""

from __future__ import annotations

import json

import pytest

from hub.okrs.repository import check_in_history
from okr_core.checkins import ConnectorAuthor
from sandbox.ga4 import Ga4Emulator
from sandbox.jira import JiraEmulator
from sandbox.org import Employee, SyntheticOrg, generate_org
from sandbox.salesforce import SalesforceEmulator

from .conftest import (
    CYCLE_START,
    MAPPINGS,
    PROPERTY,
    MakeWorld,
    TaggedKr,
    outcomes_by_key,
    pick_engineers,
    pick_marketers,
    pick_sellers,
)

SELLER_EMAIL = "n'adia\\\\\"h.x@acme.example"
"""n ' a d i a \\ \\ " h: a quote, two backslashes, a double quote."""
MARKETER_EMAIL = "o'ana\\\"x\\\\y@acme.example"
ENGINEER_EMAIL = "d'or\"is\\\\z@acme.example"
INVISIBLE_EMAIL = "ad\u202emin@acme.example"
"""A right-to-left override: an invisible character that would hide what a query does."""

HOSTILE_MAPPINGS = (
    MAPPINGS
    + """
  - id: won_by_email
    connection: salesforce
    soql: >
      SELECT SUM(Amount) total FROM Opportunity
      WHERE StageName = 'Closed Won' AND CloseDate >= {window.start}
      AND Owner.Email = {owner.email}
    value: total
    targets: {selector: {tag: won_email}, for_each: owner}

  - id: labelled_by_email
    connection: jira
    jql: 'project = ENG AND labels = {owner.email}'
    value: {aggregate: count}
    targets: {selector: {tag: labelled}, for_each: owner}
"""
)


def soql_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def jql_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Chosen:
    seller: Employee
    other_seller: Employee
    marketer: Employee
    other_marketer: Employee
    invisible: Employee
    engineer: Employee


@pytest.fixture
def chosen() -> Chosen:
    return Chosen()


@pytest.fixture
def org(chosen: Chosen) -> SyntheticOrg:
    """The test org, with hostile emails given to people who own data, before any emulator starts."""
    org = generate_org(300, seed=11)
    sellers, _ = pick_sellers(org, SalesforceEmulator(org), 2)
    marketers = pick_marketers(org, Ga4Emulator(org), 3)
    engineer = pick_engineers(org, JiraEmulator(org), 1)[0]
    chosen.seller = org.update(sellers[0].employee_id, email=SELLER_EMAIL)
    chosen.other_seller = sellers[1]
    chosen.marketer = org.update(marketers[0].employee_id, email=MARKETER_EMAIL)
    chosen.other_marketer = marketers[1]
    chosen.invisible = org.update(marketers[2].employee_id, email=INVISIBLE_EMAIL)
    chosen.engineer = org.update(engineer.employee_id, email=ENGINEER_EMAIL)
    return org


def test_quotes_and_backslashes_in_owner_emails_reach_every_vendor_intact(
    make_world: MakeWorld, chosen: Chosen
) -> None:
    def krs(*_: object) -> list[TaggedKr]:
        return [
            TaggedKr("kr-won-hostile", "won_email", chosen.seller, 10**9),
            TaggedKr("kr-won-plain", "won_email", chosen.other_seller, 10**9),
            TaggedKr("kr-sessions-hostile", "campaigns", chosen.marketer, 10**9),
            TaggedKr("kr-sessions-plain", "campaigns", chosen.other_marketer, 10**9),
            TaggedKr("kr-sessions-invisible", "campaigns", chosen.invisible, 10**9),
            TaggedKr("kr-labelled-hostile", "labelled", chosen.engineer, 10**9),
        ]

    world = make_world(mappings=HOSTILE_MAPPINGS, krs=krs)
    # Two issues: one labelled with the exact email, one with what a sloppy escape would leave.
    world.jira.add_issue("ENG", labels=(ENGINEER_EMAIL,), status="Done")
    world.jira.add_issue("ENG", labels=(ENGINEER_EMAIL.replace("\\", ""),), status="Done")

    result = world.run()
    outcomes = outcomes_by_key(result)

    def won(owner: Employee) -> float:
        return float(
            sum(
                o["Amount"]
                for o in world.salesforce.records("Opportunity")
                if o["OwnerId"] == owner.salesforce_user_id
                and o["StageName"] == "Closed Won"
                and o["CloseDate"] >= CYCLE_START
                and o["Amount"] is not None
            )
        )

    assert outcomes["kr-won-hostile"].action == "checked_in"
    assert outcomes["kr-won-hostile"].value == pytest.approx(won(chosen.seller)) != 0
    assert outcomes["kr-won-plain"].value == pytest.approx(won(chosen.other_seller))
    [record] = check_in_history(world.engine, "kr-won-hostile")
    assert isinstance(record.author, ConnectorAuthor)
    assert f"Owner.Email = {soql_literal(SELLER_EMAIL)}" in record.author.query
    raw = json.loads(record.author.raw_result)["value"]
    assert raw["group"] == SELLER_EMAIL
    assert "Owner.Email IN (" in raw["evidence"]["soql"]
    assert soql_literal(SELLER_EMAIL) in raw["evidence"]["soql"]
    assert {"Email": SELLER_EMAIL, "total": pytest.approx(won(chosen.seller))} in raw["evidence"]["records"]

    assert outcomes["kr-sessions-hostile"].action == "checked_in"
    assert outcomes["kr-sessions-hostile"].value == pytest.approx(world.expected_sessions(chosen.marketer))
    assert outcomes["kr-sessions-plain"].value == pytest.approx(
        world.expected_sessions(chosen.other_marketer)
    )
    sessions = check_in_history(world.engine, "kr-sessions-hostile")[0].author
    assert isinstance(sessions, ConnectorAuthor)
    assert json.loads(sessions.query)["dimensionFilter"]["filter"]["stringFilter"]["value"] == MARKETER_EMAIL
    facts = [f for f in world.ga4.facts(PROPERTY) if f.owner == MARKETER_EMAIL and f.day >= CYCLE_START]
    assert facts, "the hostile email owns the campaign's traffic at GA4"

    assert outcomes["kr-labelled-hostile"].value == 1.0
    labelled = check_in_history(world.engine, "kr-labelled-hostile")[0].author
    assert isinstance(labelled, ConnectorAuthor)
    assert labelled.query == f"project = ENG AND labels = {jql_literal(ENGINEER_EMAIL)}"

    # An invisible character is refused before any query is built; the others still update.
    invisible = outcomes["kr-sessions-invisible"]
    assert invisible.action == "failed"
    assert "U+202E" in (invisible.reason or "")
    assert "cannot be put into a query safely" in (invisible.reason or "")
    assert check_in_history(world.engine, "kr-sessions-invisible") == []
    assert {o.action for o in result.outcomes if o.kr_key != "kr-sessions-invisible"} == {"checked_in"}
    assert all(INVISIBLE_EMAIL not in str(q) for q in world.ga4.received)
