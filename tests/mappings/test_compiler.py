from __future__ import annotations

import math
import re
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import OwnerIdentity, compile_plan
from mappings.jql import JQL_IN_LIST_MAX
from mappings.params import salesforce_id_18
from mappings.soql import SOQL_MAX_CHARS
from tests.mappings.conftest import (
    TODAY,
    ga4_filter,
    ga4_query,
    jql_query,
    kr,
    load,
    owner,
    owner_krs,
    sf_id,
    soql,
    soql_query,
)

SOQL = """\
mappings:
  - id: closed_won
    connection: salesforce
    soql: >
      SELECT SUM(Amount) total FROM Opportunity
      WHERE StageName = 'Closed Won' AND CloseDate >= {window.start} AND CloseDate <= {window.end}
      AND OwnerId = {owner.salesforce_id}
    value: total
    targets: {selector: {tag: quota}, for_each: owner}
"""

JQL = """\
mappings:
  - id: points
    connection: jira
    jql: project = ENG AND resolved >= {window.start} AND assignee = {owner.jira_account_id}
    value: {aggregate: sum, field: Story point estimate}
    targets: {selector: {tag: velocity}, for_each: owner}
"""

GA4 = """\
  - id: {id}
    connection: ga
    ga4:
      property: "123456789"
      metric: {metric}
      filter: {{dimension: "customEvent:owner_email", equals: "{{owner.email}}"}}
    targets: {{selector: {{tag: campaigns}}, for_each: owner}}
"""

RATIO = """\
mappings:
  - id: bug_ratio
    connection: jira
    queries:
      bugs: {jql: 'project = ENG AND issuetype = Bug AND created >= {window.start}'}
      all: {jql: 'project = ENG AND created >= {window.start}'}
    expression: bugs / all * 100
    targets: {key_result: kr-eng-bug-ratio}
"""


def in_list(soql: str) -> list[str]:
    match = re.search(r"OwnerId IN \(([^)]*)\)", soql)
    assert match, soql
    return re.findall(r"'([^']*)'", match.group(1))


# Fan-out coalescing


def test_2000_owners_on_salesforce_are_one_grouped_query():
    plan = compile_plan(load(SOQL), {"closed_won": owner_krs(2000)}, today=TODAY)

    assert list(plan.requests) == ["salesforce"]
    (request,) = plan.requests["salesforce"]
    query = soql_query(request)
    assert len(in_list(query.soql)) == 2000
    assert query.soql.startswith("SELECT OwnerId, SUM(Amount) total FROM Opportunity")
    assert query.soql.endswith("GROUP BY OwnerId")
    assert (query.value, query.group_by) == ("total", "OwnerId")
    assert len(query.soql) <= SOQL_MAX_CHARS
    assert (plan.naive_calls, plan.planned_calls) == (2000, 1)
    assert len(plan.bindings) == 2000
    assert plan.problems == []


def test_2500_owners_are_two_queries_of_at_most_2000():
    plan = compile_plan(load(SOQL), {"closed_won": owner_krs(2500)}, today=TODAY)

    lists = [in_list(soql(r)) for r in plan.requests["salesforce"]]
    assert sorted(len(ids) for ids in lists) == [500, 2000]
    assert plan.planned_calls == 2
    assert len({id_ for ids in lists for id_ in ids}) == 2500


def test_long_ids_are_chunked_to_stay_under_the_soql_length_limit():
    text = SOQL.replace("OwnerId = {owner.salesforce_id}", "Owner.Email = {owner.email}").replace(
        "OwnerId", "Owner.Email"
    )
    krs = [
        kr(f"kr-{n}", OwnerIdentity(employee_id=str(n), email=f"{'x' * 200}.{n}@acme.test"))
        for n in range(1500)
    ]

    plan = compile_plan(load(text), {"closed_won": krs}, today=TODAY)

    queries = [soql_query(r) for r in plan.requests["salesforce"]]
    assert len(queries) >= math.ceil(1500 * 220 / SOQL_MAX_CHARS)
    assert all(len(q.soql) <= SOQL_MAX_CHARS for q in queries)
    assert all(q.group_by == "Email" for q in queries)
    assert sum(q.soql.count("@acme.test'") for q in queries) == 1500


def test_2000_jira_owners_are_chunks_of_500():
    plan = compile_plan(load(JQL), {"points": owner_krs(2000)}, today=TODAY)

    requests = plan.requests["jira"]
    assert len(requests) == math.ceil(2000 / JQL_IN_LIST_MAX) == 4
    for request in requests:
        query = jql_query(request)
        assert query.jql.startswith('project = ENG AND resolved >= "2026-10-01" AND assignee in ("')
        assert query.jql.count('"5b10') == 500
        assert (query.aggregate, query.field, query.group_by) == ("sum", "Story point estimate", "assignee")
    assert (plan.naive_calls, plan.planned_calls) == (2000, 4)


def test_five_ga4_fan_out_mappings_are_one_batch_call():
    metrics = ["sessions", "totalUsers", "conversions", "screenPageViews", "engagedSessions"]
    text = "mappings:\n" + "".join(GA4.format(id=f"m{i}", metric=metric) for i, metric in enumerate(metrics))
    mapping_set = load(text)
    krs = {f"m{i}": owner_krs(40, prefix=f"m{i}") for i in range(5)}

    plan = compile_plan(mapping_set, krs, today=TODAY)

    reports = [ga4_query(r) for r in plan.requests["ga"]]
    assert len(reports) == 5
    assert all(q.group_by == "customEvent:owner_email" for q in reports)
    assert {q.metric for q in reports} == set(metrics)
    assert len(ga4_filter(reports[0])["filter"]["inListFilter"]["values"]) == 40
    assert (plan.naive_calls, plan.planned_calls) == (200, 1)


def test_a_sixth_ga4_report_needs_a_second_batch():
    metrics = [
        "sessions",
        "totalUsers",
        "conversions",
        "screenPageViews",
        "engagedSessions",
        "engagementRate",
    ]
    text = "mappings:\n" + "".join(GA4.format(id=f"m{i}", metric=metric) for i, metric in enumerate(metrics))

    plan = compile_plan(load(text), {f"m{i}": owner_krs(3, prefix=f"m{i}") for i in range(6)}, today=TODAY)

    assert plan.planned_calls == 2


def test_key_results_of_different_cycles_get_separate_queries():
    q3 = (date(2026, 7, 1), date(2026, 9, 30))
    krs = owner_krs(3, prefix="q4") + owner_krs(3, prefix="q3", cycle=q3)

    plan = compile_plan(load(SOQL), {"closed_won": krs}, today=TODAY)

    soqls = [soql(r) for r in plan.requests["salesforce"]]
    assert len(soqls) == 2
    assert any("CloseDate >= 2026-07-01 AND CloseDate <= 2026-09-30" in s for s in soqls)
    assert any("CloseDate >= 2026-10-01 AND CloseDate <= 2026-11-05" in s for s in soqls)
    q3_binding = next(b for b in plan.bindings if b.kr_key == "q3-1")
    assert q3_binding.window.end == date(2026, 9, 30)


def test_each_binding_names_its_request_group_and_single_owner_query():
    plan = compile_plan(load(SOQL), {"closed_won": owner_krs(2)}, today=TODAY)

    binding = plan.bindings[0]
    (request,) = plan.requests["salesforce"]
    assert binding.kr_key == "kr-1"
    assert binding.mapping_id == "closed_won"
    assert binding.connection == "salesforce"
    assert binding.inputs["value"].request_key == request.key
    assert binding.inputs["value"].group == salesforce_id_18(sf_id(1))
    assert binding.expression is None
    assert binding.queries["value"].endswith(f"AND OwnerId = '{salesforce_id_18(sf_id(1))}'")
    assert "IN (" not in binding.queries["value"]


# Deduplication


def test_identical_queries_across_mappings_are_one_request():
    text = RATIO + RATIO.replace("mappings:\n", "").replace("bug_ratio", "bug_ratio_copy").replace(
        "kr-eng-bug-ratio", "kr-other"
    )
    targets = {"bug_ratio": [kr("kr-eng-bug-ratio")], "bug_ratio_copy": [kr("kr-other")]}

    plan = compile_plan(load(text), targets, today=TODAY)

    assert len(plan.requests["jira"]) == 2
    assert plan.bindings[0].inputs == plan.bindings[1].inputs
    assert (plan.naive_calls, plan.planned_calls) == (4, 2)


def test_identical_fan_out_shapes_across_mappings_share_grouped_queries():
    text = SOQL + SOQL.replace("mappings:\n", "").replace("closed_won", "closed_won_copy")
    targets = {"closed_won": owner_krs(10, prefix="a"), "closed_won_copy": owner_krs(10, prefix="b", start=5)}

    plan = compile_plan(load(text), targets, today=TODAY)

    (request,) = plan.requests["salesforce"]
    assert len(in_list(soql(request))) == 14
    assert {b.inputs["value"].request_key for b in plan.bindings} == {request.key}


def test_a_query_without_owner_in_a_fan_out_mapping_is_shared():
    text = """\
    mappings:
      - id: share
        connection: salesforce
        queries:
          mine:
            soql: SELECT SUM(Amount) t FROM Opportunity WHERE IsWon = TRUE AND OwnerId = {owner.salesforce_id}
          everyone: {soql: "SELECT SUM(Amount) t FROM Opportunity WHERE IsWon = TRUE"}
        expression: mine / everyone * 100
        targets: {selector: {tag: share}, for_each: owner}
    """

    plan = compile_plan(load(text), {"share": owner_krs(50)}, today=TODAY)

    assert len(plan.requests["salesforce"]) == 2
    assert {b.inputs["everyone"].group for b in plan.bindings} == {None}
    assert (plan.naive_calls, plan.planned_calls) == (100, 2)


def test_without_for_each_owner_parameters_render_per_key_result():
    text = SOQL.replace(", for_each: owner", "")

    plan = compile_plan(load(text), {"closed_won": owner_krs(3)}, today=TODAY)

    queries = [soql_query(r) for r in plan.requests["salesforce"]]
    assert len(queries) == 3
    assert all(q.group_by is None and "IN (" not in q.soql for q in queries)


# Problems


def test_owners_without_an_identity_get_problems_and_the_others_are_planned():
    krs = [*owner_krs(3), kr("kr-1042", owner(1042, salesforce="")), kr("kr-none", None)]

    plan = compile_plan(load(SOQL), {"closed_won": krs}, today=TODAY)

    assert [b.kr_key for b in plan.bindings] == ["kr-1", "kr-2", "kr-3"]
    assert [(p.kr_key, p.mapping_id) for p in plan.problems] == [
        ("kr-1042", "closed_won"),
        ("kr-none", "closed_won"),
    ]
    assert plan.problems[0].reason == "owner 1042 has no salesforce id in the identity table"
    assert "has no owner" in plan.problems[1].reason
    assert len(in_list(soql(plan.requests["salesforce"][0]))) == 3
    assert plan.naive_calls == 3


def test_an_unsafe_owner_value_is_a_problem_not_a_query():
    krs = [*owner_krs(2), kr("kr-evil", owner(66, salesforce="005A0000001ab'D"))]

    plan = compile_plan(load(SOQL), {"closed_won": krs}, today=TODAY)

    assert [p.kr_key for p in plan.problems] == ["kr-evil"]
    assert "not a Salesforce id" in plan.problems[0].reason
    assert "'D" not in soql(plan.requests["salesforce"][0])


def test_a_cycle_that_has_not_started_is_a_problem():
    q1 = (date(2027, 1, 1), date(2027, 3, 31))

    plan = compile_plan(load(SOQL), {"closed_won": [kr("kr-q1", owner(1), q1)]}, today=TODAY)

    assert plan.bindings == []
    assert plan.requests == {}
    assert "no days yet" in plan.problems[0].reason


def test_unknown_mapping_ids_and_double_targets_are_problems():
    text = SOQL + SOQL.replace("mappings:\n", "").replace("closed_won", "closed_won_2")
    shared = owner_krs(1)

    plan = compile_plan(
        load(text),
        {"closed_won": shared + shared, "closed_won_2": shared, "gone": [kr("kr-x")]},
        today=TODAY,
    )

    reasons = {(p.kr_key, p.mapping_id): p.reason for p in plan.problems}
    assert reasons[("kr-x", "gone")] == "no mapping has this id"
    assert reasons[("kr-1", "closed_won")] == "key result kr-1 is listed twice"
    assert "already takes its value from mapping `closed_won`" in reasons[("kr-1", "closed_won_2")]
    assert [b.kr_key for b in plan.bindings] == ["kr-1"]


def test_the_named_queries_bind_with_their_expression():
    plan = compile_plan(load(RATIO), {"bug_ratio": [kr("kr-eng-bug-ratio")]}, today=TODAY)

    (binding,) = plan.bindings
    assert binding.expression == "bugs / all * 100"
    assert set(binding.inputs) == {"bugs", "all"}
    assert binding.queries["bugs"] == 'project = ENG AND issuetype = Bug AND created >= "2026-10-01"'
    assert plan.requests_for("jira")[0].key == binding.inputs["bugs"].request_key
    assert plan.requests_for("salesforce") == []


def test_plans_are_deterministic():
    first = compile_plan(load(SOQL), {"closed_won": owner_krs(30)}, today=TODAY)
    second = compile_plan(load(SOQL), {"closed_won": list(reversed(owner_krs(30)))}, today=TODAY)

    assert first.requests == second.requests


# Property: every key result with an identity gets exactly one binding, every id one IN list


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=6000), st.booleans(), st.sampled_from(["q3", "q4"])),
        max_size=300,
    )
)
def test_property_every_identity_binds_once_and_every_id_is_in_one_in_list(people):
    cycles = {"q3": (date(2026, 7, 1), date(2026, 9, 30)), "q4": (date(2026, 10, 1), date(2026, 12, 31))}
    krs = []
    for index, (number, has_id, cycle) in enumerate(people):
        who = owner(number) if has_id else owner(number, salesforce="")
        krs.append(kr(f"kr-{index}", who, cycles[cycle]))

    plan = compile_plan(load(SOQL), {"closed_won": krs}, today=TODAY)

    with_id = [k for k in krs if k.owner is not None and "salesforce" in k.owner.ids]
    bound = [b.kr_key for b in plan.bindings]
    assert sorted(bound) == sorted(k.key for k in with_id)
    assert len(set(bound)) == len(bound)
    assert {p.kr_key for p in plan.problems} == {k.key for k in krs} - set(bound)
    by_window: dict[str, list[str]] = {}
    for request in plan.requests.get("salesforce", []):
        text = soql(request)
        window = re.search(r"CloseDate >= (\S+)", text)
        assert window is not None
        by_window.setdefault(window.group(1), []).extend(in_list(text))
    for ids in by_window.values():
        assert len(ids) == len(set(ids)), "an id appears in two IN lists of the same window"
    for binding in plan.bindings:
        ref = binding.inputs["value"]
        text = next(soql(r) for r in plan.requests["salesforce"] if r.key == ref.request_key)
        assert ref.group in in_list(text)
        assert f"CloseDate >= {binding.window.start.isoformat()}" in text
