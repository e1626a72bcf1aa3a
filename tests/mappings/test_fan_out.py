"""How each language's owner filter becomes a grouped query, and what cannot fan out."""

from __future__ import annotations

import re

import pytest

from mappings.coalesce import Direct, Member
from mappings.errors import TemplateError
from mappings.ga4 import Ga4Group, parse_ga4
from mappings.jql import JqlAggregate, JqlGroup, parse_jql
from mappings.model import Ga4Spec
from mappings.soql import SoqlGroup, parse_soql
from tests.mappings.conftest import context, ga4_filter, owner


def soql_member(template: str, value: str) -> Member:
    planned = parse_soql(template, fan_out=True).with_value(value).plan(context(owner(1)), fan_out=True)
    assert isinstance(planned, Member)
    return planned


def test_soql_owner_filter_becomes_an_in_list_grouped_by_the_field():
    member = soql_member(
        "SELECT SUM(Amount) total FROM Opportunity WHERE IsWon = TRUE AND CloseDate >= {window.start} "
        "AND OwnerId = {owner.salesforce_id} ORDER BY SUM(Amount) DESC",
        "total",
    )
    assert isinstance(member.group, SoqlGroup)

    query = member.group.build(["005A00000000001AAA", "005A00000000002AAA"])

    assert query.soql == (
        "SELECT OwnerId, SUM(Amount) total FROM Opportunity WHERE IsWon = TRUE AND CloseDate >= 2026-10-01 "
        "AND OwnerId IN ('005A00000000001AAA', '005A00000000002AAA') "
        "GROUP BY OwnerId ORDER BY SUM(Amount) DESC"
    )
    assert (query.value, query.group_by) == ("total", "OwnerId")
    assert member.value == "005A00000000001IAA"
    assert member.text.endswith("AND OwnerId = '005A00000000001IAA' ORDER BY SUM(Amount) DESC")


def test_soql_relationship_field_groups_by_its_last_segment():
    member = soql_member(
        "SELECT COUNT(Id) deals FROM Opportunity WHERE (Owner.Email = {owner.email} AND IsClosed = TRUE)",
        "deals",
    )

    assert isinstance(member.group, SoqlGroup)
    query = member.group.build(["a@acme.test"])

    assert query.soql == (
        "SELECT Owner.Email, COUNT(Id) deals FROM Opportunity WHERE (Owner.Email IN ('a@acme.test') "
        "AND IsClosed = TRUE) GROUP BY Owner.Email"
    )
    assert query.group_by == "Email"


def test_a_soql_query_without_owner_filter_is_shared_not_grouped():
    template = parse_soql("SELECT SUM(Amount) total FROM Opportunity WHERE IsWon = TRUE", fan_out=True)

    planned = template.with_value("total").plan(context(owner(1)), fan_out=True)

    assert not isinstance(planned, Member)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "SELECT Id, Amount FROM Opportunity WHERE OwnerId = {owner.salesforce_id}",
            "only an aggregate query",
        ),
        (
            "SELECT COUNT() FROM Opportunity WHERE OwnerId = {owner.salesforce_id}",
            "`COUNT()` cannot be grouped",
        ),
        (
            "SELECT SUM(Amount) t FROM Opportunity WHERE OwnerId = {owner.salesforce_id} GROUP BY StageName",
            "must not have its own GROUP BY",
        ),
        ("SELECT SUM(Amount) t FROM Opportunity WHERE OwnerId = {owner.salesforce_id} LIMIT 5", "own LIMIT"),
        ("SELECT SUM(Amount) t FROM Opportunity WHERE IsWon = TRUE OR OwnerId = {owner.salesforce_id}", "OR"),
        (
            "SELECT SUM(Amount) t FROM Opportunity WHERE IsWon = TRUE "
            "AND (A = 1 OR OwnerId = {owner.salesforce_id})",
            "combined with OR",
        ),
        (
            "SELECT SUM(Amount) t FROM Opportunity WHERE NOT OwnerId = {owner.salesforce_id}",
            "negated with NOT",
        ),
        (
            "SELECT SUM(Amount) t FROM Opportunity "
            "WHERE NOT (IsWon = TRUE AND OwnerId = {owner.salesforce_id})",
            "negated with NOT",
        ),
        (
            "SELECT SUM(Amount) t FROM Opportunity WHERE AccountId IN "
            "(SELECT Id FROM Account WHERE OwnerId = {owner.salesforce_id})",
            "subquery",
        ),
        ("SELECT SUM(Amount) t FROM Opportunity WHERE OwnerId != {owner.salesforce_id}", "`Field = {owner"),
        (
            "SELECT SUM(Amount) t FROM Opportunity WHERE OwnerId = {owner.salesforce_id} AND CreatedById = "
            "{owner.salesforce_id}",
            "one owner parameter",
        ),
    ],
)
def test_soql_that_cannot_fan_out_is_refused_with_the_reason(template, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        parse_soql(template, fan_out=True)


def test_the_same_soql_is_fine_without_fan_out():
    template = parse_soql(
        "SELECT Id, Amount FROM Opportunity WHERE OwnerId = {owner.salesforce_id}", fan_out=False
    )

    assert (
        template.with_value("Amount")
        .plan(context(owner(1)), fan_out=False)
        .text.endswith("'005A00000000001IAA'")
    )


def test_jql_owner_clause_becomes_an_in_list():
    template = parse_jql(
        'project = ENG AND statusCategory = Done AND "Assignee" = {owner.jira_account_id} ORDER BY created',
        fan_out=True,
    ).with_value(JqlAggregate(aggregate="sum", field="Story point estimate"))

    member = template.plan(context(owner(1)), fan_out=True)
    assert isinstance(member, Member)
    assert isinstance(member.group, JqlGroup)
    query = member.group.build(["a", 'b"c'])

    assert (
        query.jql
        == 'project = ENG AND statusCategory = Done AND "Assignee" in ("a", "b\\"c") ORDER BY created'
    )
    assert (query.aggregate, query.field, query.group_by) == ("sum", "Story point estimate", "Assignee")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("project = ENG OR assignee = {owner.jira_account_id}", "combined with OR"),
        ("NOT assignee = {owner.jira_account_id}", "negated with NOT"),
        ("assignee != {owner.jira_account_id}", "`field = {owner.jira_account_id}`"),
        ("assignee was {owner.jira_account_id}", "`field = {owner.jira_account_id}`"),
        ("assignee = {owner.jira_account_id} AND reporter = {owner.jira_account_id}", "one owner parameter"),
    ],
)
def test_jql_that_cannot_fan_out_is_refused(template, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        parse_jql(template, fan_out=True)


def test_an_approximate_count_cannot_fan_out():
    template = parse_jql("project = ENG AND assignee = {owner.jira_account_id}", fan_out=True)

    with pytest.raises(TemplateError, match="approximate"):
        template.with_value(JqlAggregate(approximate=True))


def ga4_spec(filter_: dict[str, object]) -> Ga4Spec:
    return Ga4Spec.model_validate({"property": 123456789, "metric": "sessions", "filter": filter_})


def test_ga4_owner_leaf_becomes_an_in_list_filter_inside_its_and_group():
    spec = ga4_spec(
        {
            "and": [
                {"dimension": "sessionDefaultChannelGroup", "in_list": ["Paid Search", "Paid Social"]},
                {"dimension": "customEvent:owner_email", "equals": "{owner.email}"},
            ]
        }
    )
    member = parse_ga4(spec, fan_out=True).plan(context(owner(1)), fan_out=True)
    assert isinstance(member, Member)
    assert isinstance(member.group, Ga4Group)

    query = member.group.build(["a@acme.test", "b@acme.test"])

    assert query.property_id == "123456789"
    assert query.group_by == "customEvent:owner_email"
    assert query.dimension_filter == {
        "andGroup": {
            "expressions": [
                {
                    "filter": {
                        "fieldName": "sessionDefaultChannelGroup",
                        "inListFilter": {"values": ["Paid Search", "Paid Social"], "caseSensitive": False},
                    }
                },
                {
                    "filter": {
                        "fieldName": "customEvent:owner_email",
                        "inListFilter": {"values": ["a@acme.test", "b@acme.test"], "caseSensitive": False},
                    }
                },
            ]
        }
    }
    assert member.value == "person1@acme.test"


def test_ga4_without_fan_out_places_the_value_in_a_string_filter():
    spec = ga4_spec({"not": {"dimension": "customEvent:owner_email", "equals": "{owner.email}"}})

    planned = parse_ga4(spec, fan_out=False).plan(context(owner(2)), fan_out=False)

    assert isinstance(planned, Direct)
    assert ga4_filter(planned.query) == {
        "notExpression": {
            "filter": {
                "fieldName": "customEvent:owner_email",
                "stringFilter": {"matchType": "EXACT", "value": "person2@acme.test", "caseSensitive": False},
            }
        }
    }


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        (
            {"or": [{"dimension": "d", "equals": "{owner.email}"}, {"dimension": "d", "equals": "x"}]},
            "inside `or`",
        ),
        ({"not": {"dimension": "d", "equals": "{owner.email}"}}, "inside `not`"),
        ({"dimension": "d", "contains": "{owner.email}"}, "with `equals`"),
    ],
)
def test_ga4_that_cannot_fan_out_is_refused(filter_, message):
    with pytest.raises(TemplateError, match=message):
        parse_ga4(ga4_spec(filter_), fan_out=True)


@pytest.mark.parametrize(
    ("template", "used"),
    [
        ("project = ENG AND assignee = {owner.email}", "{owner.email}"),
        ('project = ENG AND "Reporter" = {owner.email}', "{owner.email}"),
        ("creator = {owner.employee_id} AND project = ENG", "{owner.employee_id}"),
        ("project = ENG AND assignee = {owner.salesforce_id}", "{owner.salesforce_id}"),
    ],
)
def test_jql_fan_out_over_a_user_field_needs_the_jira_account_id(template, used):
    with pytest.raises(TemplateError, match=re.escape("{owner.jira_account_id}")) as caught:
        parse_jql(template, fan_out=True)

    assert f"not by `{used}`" in caught.value.message
    assert caught.value.offset == template.index(used)


def test_a_user_field_by_email_is_fine_without_fan_out():
    parse_jql("project = ENG AND assignee = {owner.email}", fan_out=False)
