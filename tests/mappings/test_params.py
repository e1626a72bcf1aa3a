from __future__ import annotations

import re
from datetime import date

import pytest

from mappings.coalesce import Direct
from mappings.errors import MissingIdentity, TemplateError, UnsafeValue
from mappings.ga4 import parse_ga4
from mappings.jql import jql_literal, parse_jql
from mappings.model import Ga4Spec
from mappings.params import ParamSpec, ParamValue, param_spec, resolve_param, salesforce_id_18
from mappings.soql import parse_soql, soql_literal
from mappings.targets import OwnerIdentity
from tests.mappings.conftest import context, ga4_filter, owner

# Typed parameters


@pytest.mark.parametrize(
    ("name", "kind", "system"),
    [
        ("window.start", "date", None),
        ("window.end", "date", None),
        ("cycle.start", "date", None),
        ("cycle.end", "date", None),
        ("today", "date", None),
        ("owner.email", "text", None),
        ("owner.employee_id", "id", "employee"),
        ("owner.salesforce_id", "id", "salesforce"),
        ("owner.jira_account_id", "id", "jira"),
        ("owner.jira_id", "id", "jira"),
        ("owner.github_id", "id", "github"),
    ],
)
def test_every_parameter_has_a_type(name, kind, system):
    assert param_spec(name) == ParamSpec(name, kind, system)


def test_an_unknown_parameter_suggests_the_closest():
    with pytest.raises(TemplateError, match=r"did you mean `\{cycle.start\}`"):
        param_spec("cycle.strat")


def test_identity_systems_limit_owner_ids():
    assert param_spec("owner.salesforce_id", identity_systems={"salesforce"}).system == "salesforce"
    with pytest.raises(TemplateError, match="`github` is not an identity system"):
        param_spec("owner.github_id", identity_systems={"salesforce"})


def test_values_resolve_from_the_context():
    ctx = context(owner(7))

    assert resolve_param(param_spec("window.start"), ctx).value == date(2026, 10, 1)
    assert resolve_param(param_spec("window.end"), ctx).value == date(2026, 11, 4)
    assert resolve_param(param_spec("cycle.end"), ctx).value == date(2026, 12, 31)
    assert resolve_param(param_spec("today"), ctx).value == date(2026, 11, 5)
    assert resolve_param(param_spec("owner.email"), ctx).value == "person7@acme.test"
    assert resolve_param(param_spec("owner.employee_id"), ctx).value == "7"
    assert resolve_param(param_spec("owner.jira_account_id"), ctx).value == "5b10ac8d82e05b22cc000007"


def test_salesforce_ids_are_normalised_to_18_characters():
    assert salesforce_id_18("005A0000001abcD") == "005A0000001abcDIAQ"
    ctx = context(OwnerIdentity(employee_id="1", ids={"salesforce": "005A0000001abcD"}))

    assert resolve_param(param_spec("owner.salesforce_id"), ctx).value == "005A0000001abcDIAQ"


def test_an_18_character_id_with_a_wrong_suffix_is_refused():
    ctx = context(OwnerIdentity(employee_id="1", ids={"salesforce": "005A0000001abcDAAA"}))

    with pytest.raises(UnsafeValue, match="wrong checksum suffix; expected 005A0000001abcDIAQ"):
        resolve_param(param_spec("owner.salesforce_id"), ctx)


def test_a_missing_identity_names_the_owner_and_the_system():
    ctx = context(OwnerIdentity(employee_id="1042", ids={}))

    with pytest.raises(MissingIdentity, match="owner 1042 has no salesforce id in the identity table"):
        resolve_param(param_spec("owner.salesforce_id"), ctx)
    with pytest.raises(MissingIdentity, match="owner 1042 has no email"):
        resolve_param(param_spec("owner.email"), ctx)


def test_a_key_result_without_an_owner():
    with pytest.raises(MissingIdentity, match="has no owner"):
        resolve_param(param_spec("owner.email"), context(None))


# Hostile values


@pytest.mark.parametrize(
    ("system", "value", "reason"),
    [
        ("salesforce", "005A0000001ab'D", "not a Salesforce id"),
        ("salesforce", "005A0000001abc", "not a Salesforce id"),
        ("salesforce", "005A0000001abcD' OR Id != '", "not a Salesforce id"),
        ("jira", '5b10" OR assignee != "x', "not a Jira account id"),
        ("jira", "5b10\nproject = SECRET", "U+000A"),
        ("github", "octo\x00cat", "U+0000"),
        ("github", "octo\u202ecat", "U+202E"),
        ("github", "line\u2028break", "U+2028"),
    ],
)
def test_hostile_ids_are_refused(system, value, reason):
    ctx = context(OwnerIdentity(employee_id="9", ids={system: value}))

    with pytest.raises(UnsafeValue, match=re.escape(reason)):
        resolve_param(param_spec(f"owner.{system}_id"), ctx)


@pytest.mark.parametrize(
    "email", ["a@b.test\r\nX-Injected: 1", "no-at-sign", "x@y\tz", "a" * 400 + "@b.test"]
)
def test_hostile_emails_are_refused(email):
    ctx = context(OwnerIdentity(employee_id="9", email=email))

    with pytest.raises(UnsafeValue):
        resolve_param(param_spec("owner.email"), ctx)


@pytest.mark.parametrize(
    ("raw", "soql", "jql"),
    [
        ("o'brien@acme.test", r"'o\'brien@acme.test'", '"o\'brien@acme.test"'),
        ('say"hi@acme.test', "'say\"hi@acme.test'", r'"say\"hi@acme.test"'),
        ("back\\slash@acme.test", r"'back\\slash@acme.test'", r'"back\\slash@acme.test"'),
        ("zoë.ünïcode@ácme.test", "'zoë.ünïcode@ácme.test'", '"zoë.ünïcode@ácme.test"'),
        ("x' OR '1'='1@a.test", r"'x\' OR \'1\'=\'1@a.test'", "\"x' OR '1'='1@a.test\""),
    ],
)
def test_text_renders_as_one_escaped_literal(raw, soql, jql):
    value = ParamValue("text", raw)

    assert soql_literal(value) == soql
    assert jql_literal(value) == jql


def test_dates_render_per_language():
    value = ParamValue("date", date(2026, 10, 1))

    assert soql_literal(value) == "2026-10-01"
    assert jql_literal(value) == '"2026-10-01"'


def test_renderers_refuse_control_characters_even_when_handed_directly():
    with pytest.raises(UnsafeValue):
        soql_literal(ParamValue("text", "a\nb"))
    with pytest.raises(UnsafeValue):
        jql_literal(ParamValue("text", "a\x00b"))


def test_a_hostile_email_stays_inside_its_literal_in_soql():
    template = parse_soql("SELECT COUNT() FROM Lead WHERE Email = {owner.email}", fan_out=False)
    hostile = OwnerIdentity(employee_id="1", email="x'OR'1'='1@a.test")

    text = template.with_value("totalSize").plan(context(hostile), fan_out=False).text

    assert text == r"SELECT COUNT() FROM Lead WHERE Email = 'x\'OR\'1\'=\'1@a.test'"


def test_a_hostile_email_is_a_json_value_in_ga4():
    spec = Ga4Spec.model_validate(
        {
            "property": "1",
            "metric": "sessions",
            "filter": {"dimension": "customEvent:e", "equals": "{owner.email}"},
        }
    )
    hostile = OwnerIdentity(employee_id="1", email='x"},{"a@b.test')

    planned = parse_ga4(spec, fan_out=False).plan(context(hostile), fan_out=False)

    assert isinstance(planned, Direct)
    value = ga4_filter(planned.query)["filter"]["stringFilter"]["value"]
    assert value == 'x"},{"a@b.test'


# Where a placeholder may stand


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("SELECT COUNT() FROM Lead WHERE Email = '{owner.email}'", "inside the quoted string"),
        ("SELECT COUNT() FROM Lead WHERE Name LIKE '%{owner.email}%'", "inside the quoted string"),
        ("SELECT COUNT() FROM Lead WHERE Email = 'x\\'{owner.email}'", "inside the quoted string"),
        ("SELECT COUNT() FROM Lead WHERE Email LIKE {owner.email}", "follows LIKE"),
        ("SELECT {owner.email} FROM Lead", "is not where a value goes"),
        ("SELECT COUNT() FROM Lead ORDER BY {today}", "is not where a value goes"),
        ("SELECT COUNT(Id) n FROM Lead ORDER BY Name, {owner.email}", "ORDER BY clause, which takes fields"),
        ("SELECT COUNT() FROM Lead WHERE CreatedDate >= {today}T00:00:00Z", "glued to"),
        ("SELECT COUNT() FROM Lead WHERE Id = x{owner.salesforce_id}", "glued to"),
        ("SELECT COUNT() FROM Lead WHERE Email = {owner.email", "does not start a parameter"),
        ("SELECT COUNT() FROM Lead WHERE Email = 'never closed", "never closed"),
        ("SELECT COUNT() FROM Lead WHERE (Email = {owner.email}", "never closed"),
        ("SELECT COUNT() FROM Lead WHERE Email = {nope}", "unknown parameter"),
        ("COUNT() FROM Lead", "starts with SELECT"),
    ],
)
def test_soql_placeholders_stand_only_where_a_literal_goes(template, message):
    with pytest.raises(TemplateError, match=message):
        parse_soql(template, fan_out=False)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ('project = ENG AND assignee = "{owner.jira_account_id}"', "inside the quoted string"),
        ("project = ENG AND assignee = '{owner.jira_account_id}'", "inside the quoted string"),
        ("project = ENG AND summary ~ {owner.email}", "follows `~`"),
        ("project = {today} AND {owner.email} = assignee", "is not where a value goes"),
        ("project = ENG ORDER BY {today}", "is not where a value goes"),
        ("project = ENG ORDER BY created, {today}", "ORDER BY clause, which takes fields"),
        ("project = ENG AND created >= {window.start}d", "glued to"),
    ],
)
def test_jql_placeholders_stand_only_where_a_value_goes(template, message):
    with pytest.raises(TemplateError, match=message):
        parse_jql(template, fan_out=False)


def test_jql_accepts_history_operators_and_lists():
    template = parse_jql(
        "assignee was {owner.jira_account_id} AND status changed by {owner.jira_account_id} "
        "AND project in (ENG, {owner.employee_id}) AND created >= {window.start}",
        fan_out=False,
    )

    text = template.plan(context(owner(3)), fan_out=False).text

    assert text == (
        'assignee was "5b10ac8d82e05b22cc000003" AND status changed by "5b10ac8d82e05b22cc000003" '
        'AND project in (ENG, "3") AND created >= "2026-10-01"'
    )


def test_ga4_values_are_whole_parameters_or_plain_text():
    spec = Ga4Spec.model_validate(
        {
            "property": "1",
            "metric": "sessions",
            "filter": {"dimension": "d", "equals": "prefix-{owner.email}"},
        }
    )

    with pytest.raises(TemplateError, match="mixes text and the parameter"):
        parse_ga4(spec, fan_out=False)
