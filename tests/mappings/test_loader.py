from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from hub.errors import ConfigErrors
from mappings import load_mappings
from mappings.soql import SoqlTemplate
from mappings.windows import WindowSpec
from tests.mappings.conftest import CONNECTIONS, SYSTEMS, errors_of, load, only, where

SOQL_MAPPING = """\
mappings:
  - id: closed_won
    connection: salesforce
    soql: >
      SELECT SUM(Amount) total FROM Opportunity
      WHERE StageName = 'Closed Won' AND CloseDate >= {window.start}
      AND OwnerId = {owner.salesforce_id}
    value: total
    targets:
      selector: {tag: quota, cycle: 2026-Q4}
      for_each: owner
"""
"""Eleven lines; tests append keys to the mapping from line 12."""


# A valid file


def test_a_full_mapping_loads_with_every_field():
    mapping_set = load(
        SOQL_MAPPING
        + """\
    schedule: {cron: "0 6 * * *", timezone: Europe/London}
    window: {last_days: 30}
    offset_days: 1
    on_no_data: hold
    suspect: {max_change_factor: 3.0}
    description: Closed won per rep
"""
    )

    mapping = mapping_set.get("closed_won")
    assert mapping.connection == "salesforce"
    assert mapping.kind == "soql"
    assert list(mapping.queries) == ["value"]
    assert mapping.fans_out
    assert mapping.targets.selector is not None
    assert mapping.targets.selector.tag == "quota"
    assert mapping.targets.selector.cycle == "2026-Q4"
    assert mapping.window == WindowSpec(kind="last_days", days=30, offset_days=1)
    assert mapping.on_no_data == "hold"
    assert mapping.max_change_factor == 3.0
    assert mapping.schedule is not None
    assert (mapping.schedule.cron, mapping.schedule.timezone) == ("0 6 * * *", "Europe/London")
    assert mapping.source == "acme.yaml:2"
    assert mapping.description == "Closed won per rep"


def test_defaults_window_no_data_and_schedule():
    mapping = load(SOQL_MAPPING).get("closed_won")

    assert mapping.window == WindowSpec(kind="cycle_to_date")
    assert mapping.on_no_data == "skip"
    assert mapping.schedule is None
    assert mapping.max_change_factor is None


def test_named_queries_with_an_expression():
    mapping = load(
        """\
        mappings:
          - id: bug_ratio
            connection: jira
            queries:
              bugs:
                jql: project = ENG AND issuetype = Bug AND created >= {window.start}
                value: {aggregate: count}
              all: {jql: 'project = ENG AND created >= {window.start}'}
            expression: "bugs / all * 100"
            targets: {key_result: kr-eng-bug-ratio}
        """
    ).get("bug_ratio")

    assert list(mapping.queries) == ["bugs", "all"]
    assert mapping.expression == "bugs / all * 100"
    assert mapping.kind == "jql"
    assert mapping.targets.key_result == "kr-eng-bug-ratio"


def test_a_lone_soql_column_is_the_value_by_default():
    mapping = load(
        """\
        mappings:
          - id: leads
            connection: salesforce
            soql: SELECT COUNT() FROM Lead WHERE CreatedDate = THIS_QUARTER
            targets: {objective: q4-mkt}
        """
    ).get("leads")

    template = mapping.queries["value"].template
    assert isinstance(template, SoqlTemplate)
    assert template.outputs == ("totalSize",)
    assert template.value == "totalSize"


def test_a_folder_loads_every_yaml_file_in_name_order(tmp_path):
    (tmp_path / "b.yaml").write_text(SOQL_MAPPING.replace("closed_won", "second"), encoding="utf-8")
    (tmp_path / "a.yml").write_text(SOQL_MAPPING, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a mapping", encoding="utf-8")

    mapping_set = load_mappings(tmp_path, connections=CONNECTIONS)

    assert mapping_set.ids == ["closed_won", "second"]
    assert len(mapping_set) == 2


def test_the_example_file_loads():
    folder = Path(__file__).resolve().parents[2] / "config" / "mappings"
    connections = {"salesforce": "salesforce", "jira": "jira", "ga4": "google_analytics"}

    mapping_set = load_mappings(folder, connections=connections, identity_systems=SYSTEMS)

    tags = {m.targets.selector.tag for m in mapping_set if m.targets.selector is not None}
    assert {"quota", "velocity", "campaigns"} <= tags
    assert any(m.window.offset_days for m in mapping_set)
    assert any(m.expression for m in mapping_set)


# Errors, each with its exact position


def test_unknown_key_points_at_the_key_with_a_suggestion():
    err = only(errors_of(SOQL_MAPPING + "    on_no_dta: zero\n"))

    assert where(err) == (12, 5, "mappings[0].on_no_dta")
    assert "unknown key `on_no_dta`; did you mean `on_no_data`?" in err.message
    assert err.file == "acme.yaml"


def test_unknown_key_inside_a_nested_model():
    err = only(errors_of(SOQL_MAPPING.replace("for_each: owner", "for_eech: owner")))

    assert where(err) == (11, 7, "mappings[0].targets.for_eech")
    assert "did you mean `for_each`?" in err.message


def test_unknown_connection_with_a_suggestion():
    err = only(errors_of(SOQL_MAPPING.replace("connection: salesforce", "connection: salesfroce")))

    assert where(err) == (3, 17, "mappings[0].connection")
    assert "unknown connection `salesfroce`; did you mean `salesforce`?" in err.message


def test_a_connection_that_answers_no_metric_queries():
    err = only(errors_of(SOQL_MAPPING.replace("connection: salesforce", "connection: hr")))

    assert where(err) == (3, 17, "mappings[0].connection")
    assert "`hr` is a bamboohr connection, which answers no metric queries" in err.message
    assert "salesforce (salesforce)" in err.message


def test_soql_on_a_jira_connection():
    err = only(errors_of(SOQL_MAPPING.replace("connection: salesforce", "connection: jira")))

    assert where(err) == (4, 5, "mappings[0].soql")
    assert "`soql` query on connection `jira` (jira), which answers JQL" in err.message
    assert "write the query as `jql:`" in err.message
    assert "salesforce" in err.message


def test_duplicate_ids_across_files_name_both_places(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(SOQL_MAPPING, encoding="utf-8")
    second.write_text("# another file\n" + SOQL_MAPPING, encoding="utf-8")

    with pytest.raises(ConfigErrors) as caught:
        load_mappings([first, second], connections=CONNECTIONS)

    err = only(caught.value.errors)
    assert (err.file, err.line, err.column, err.field) == (str(second), 3, 9, "mappings[0].id")
    assert f"duplicate mapping id `closed_won`; it is also defined at {first}:2:9" in err.message


def test_bad_cron_and_timezone_are_both_reported():
    errors = errors_of(SOQL_MAPPING + '    schedule: {cron: "0 6 * *", timezone: Europe/Londn}\n')

    assert [where(err) for err in errors] == [
        (12, 22, "mappings[0].schedule.cron"),
        (12, 43, "mappings[0].schedule.timezone"),
    ]
    assert "has 4 fields; write 5" in errors[0].message
    assert "did you mean `Europe/London`?" in errors[1].message


def test_an_unquoted_star_cron_is_a_yaml_error_with_a_hint():
    err = only(errors_of(SOQL_MAPPING + "    schedule: {cron: * * * * *}\n"))

    assert err.line == 12
    assert "must be quoted" in err.message


def test_bad_window_word_suggests_the_closest():
    err = only(errors_of(SOQL_MAPPING + "    window: cycle_to_dat\n"))

    assert where(err) == (12, 13, "mappings[0].window")
    assert "did you mean `cycle_to_date`?" in err.message


def test_bad_window_shape():
    err = only(errors_of(SOQL_MAPPING + "    window: 30\n"))

    assert where(err) == (12, 13, "mappings[0].window")
    assert "{last_days: N}" in err.message


def test_bad_last_days():
    err = only(errors_of(SOQL_MAPPING + "    window: {last_days: 0}\n"))

    assert where(err) == (12, 25, "mappings[0].window.last_days")


def test_fixed_dates_in_the_wrong_order():
    err = only(errors_of(SOQL_MAPPING + "    window: {start: 2026-12-31, end: 2026-10-01}\n"))

    assert where(err) == (12, 13, "mappings[0].window")
    assert "ends (2026-10-01) before it starts (2026-12-31)" in err.message


def test_offset_days_with_fixed_dates():
    text = SOQL_MAPPING + "    window: {start: 2026-10-01, end: 2026-12-31}\n    offset_days: 1\n"

    err = only(errors_of(text))

    assert where(err) == (13, 5, "mappings[0].offset_days")


def test_a_window_error_does_not_hide_a_query_error():
    text = SOQL_MAPPING.replace("connection: salesforce", "connection: jira") + "    window: weekly\n"

    errors = errors_of(text)

    assert [err.line for err in errors] == [4, 12]


def test_two_query_kinds_in_one_mapping():
    err = only(errors_of(SOQL_MAPPING + "    jql: project = ENG\n"))

    assert where(err) == (12, 5, "mappings[0].jql")
    assert "`soql` and `jql` in one mapping" in err.message


def test_a_mapping_without_a_query():
    err = only(
        errors_of(
            """\
            mappings:
              - id: nothing
                connection: salesforce
                targets: {key_result: k}
            """
        )
    )

    assert where(err)[:2] == (2, 5)
    assert "needs a query" in err.message


def test_targets_need_exactly_one_kind():
    err = only(errors_of(SOQL_MAPPING.replace("for_each: owner", "key_result: kr-1\n      for_each: owner")))

    assert where(err) == (10, 7, "mappings[0].targets")
    assert "exactly one of `selector`, `key_result` or `objective`" in err.message


def test_a_value_the_query_does_not_select():
    err = only(errors_of(SOQL_MAPPING.replace("value: total", "value: totl")))

    assert where(err) == (8, 12, "mappings[0].value")
    assert "no column `totl`; did you mean `total`?" in err.message


def test_placeholder_inside_a_quoted_literal_points_at_its_line():
    text = SOQL_MAPPING.replace("StageName = 'Closed Won'", "StageName = '{owner.email}'")

    err = only(errors_of(text))

    assert where(err) == (6, 26, "mappings[0].soql")
    assert "inside the quoted string '{owner.email}'" in err.message


def test_unknown_placeholder_with_a_suggestion_at_its_position():
    err = only(errors_of(SOQL_MAPPING.replace("{window.start}", "{window.strat}")))

    assert where(err) == (6, 55, "mappings[0].soql")
    assert "unknown parameter `{window.strat}`; did you mean `{window.start}`?" in err.message


def test_owner_id_of_a_system_the_org_sync_does_not_know():
    err = only(errors_of(SOQL_MAPPING.replace("{owner.salesforce_id}", "{owner.hubspot_id}")))

    assert where(err) == (7, 21, "mappings[0].soql")
    assert "`hubspot` is not an identity system" in err.message


def test_a_plain_scalar_jql_error_points_at_the_character():
    err = only(
        errors_of(
            """\
            mappings:
              - id: j
                connection: jira
                jql: project = ENG AND summary ~ {owner.email}
                targets: {key_result: k}
            """
        )
    )

    assert where(err) == (4, 38, "mappings[0].jql")
    assert "follows `~`" in err.message


EXPRESSION = """\
mappings:
  - id: ratio
    connection: jira
    queries:
      bugs: {jql: 'project = ENG AND issuetype = Bug'}
      all: {jql: 'project = ENG'}
    expression: "{expression}"
    targets: {key_result: kr-ratio}
"""


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("bugs / ", "is not a valid expression"),
        ("bugz / all", "`bugz` in the expression is not a query of this mapping; did you mean `bugs`?"),
        ("bugs ** all", "`**` is not allowed"),
        ("__import__('os') + all + bugs", "the call `__import__('os')` is not allowed"),
        ("bugs.real / all", "`bugs.real` is not allowed"),
    ],
)
def test_bad_expressions_point_at_the_expression(expression, message):
    err = only(errors_of(EXPRESSION.replace("{expression}", expression)))

    assert where(err) == (7, 17, "mappings[0].expression")
    assert message in err.message


def test_a_query_the_expression_does_not_use():
    err = only(errors_of(EXPRESSION.replace("{expression}", "bugs * 2")))

    assert where(err) == (6, 7, "mappings[0].queries.all")
    assert "query `all` is not used by the expression" in err.message


def test_several_queries_need_an_expression():
    err = only(errors_of(EXPRESSION.replace('    expression: "{expression}"\n', "")))

    assert where(err) == (4, 5, "mappings[0].queries")
    assert "2 queries need an `expression`" in err.message


def test_an_expression_without_named_queries():
    err = only(errors_of(SOQL_MAPPING + "    expression: value * 2\n"))

    assert where(err) == (12, 5, "mappings[0].expression")


def test_jql_value_must_say_what_to_compute():
    err = only(
        errors_of(
            """\
            mappings:
              - id: points
                connection: jira
                jql: project = ENG
                value: {aggregate: sum}
                targets: {key_result: k}
            """
        )
    )

    assert where(err) == (5, 12, "mappings[0].value")
    assert "`sum` needs the numeric `field`" in err.message


def test_for_each_without_an_owner_filter():
    err = only(errors_of(SOQL_MAPPING.replace("\n      AND OwnerId = {owner.salesforce_id}", "")))

    assert where(err) == (10, 17, "mappings[0].targets.for_each")
    assert "no query filters by owner" in err.message


def test_every_problem_of_every_file_is_reported_sorted(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(
        SOQL_MAPPING.replace("value: total", "value: x") + "    on_no_data: never\n", encoding="utf-8"
    )
    second.write_text("mappings:\n  - id: [not, text]\n", encoding="utf-8")

    with pytest.raises(ConfigErrors) as caught:
        load_mappings([first, second], connections=CONNECTIONS)

    located = [(err.file, err.line) for err in caught.value.errors]
    assert located == [(str(first), 8), (str(first), 12)] + [(str(second), 2)] * 3
    assert str(caught.value).startswith("5 configuration errors:")
    assert f"{first}:8:12: field `mappings[0].value`" in str(caught.value)


def test_yaml_syntax_error_has_its_position():
    err = only(errors_of("mappings:\n  - id: [unclosed\n"))

    assert err.file == "acme.yaml"
    assert err.line is not None
    assert "YAML syntax error" in err.message


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "mapping file is empty"), ("- a\n- b\n", "top level must be a mapping")],
)
def test_empty_or_wrong_top_level(text, message):
    assert message in only(errors_of(text)).message


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigErrors) as caught:
        load_mappings(tmp_path / "missing.yaml", connections=CONNECTIONS)

    assert "cannot read mapping file" in only(caught.value.errors).message


def test_errors_survive_pickling():
    with pytest.raises(ConfigErrors) as caught:
        load(SOQL_MAPPING.replace("connection: salesforce", "connection: nope"))

    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.errors[0].line == 3
    assert str(copy) == str(caught.value)


def test_a_subset_keeps_file_order():
    text = SOQL_MAPPING + SOQL_MAPPING.replace("mappings:\n", "").replace("closed_won", "second")

    mapping_set = load(text)

    assert mapping_set.subset({"second", "closed_won", "unknown"}).ids == ["closed_won", "second"]
    assert mapping_set.subset({"second"}).ids == ["second"]
    with pytest.raises(KeyError):
        mapping_set.get("unknown")


JIRA_BY_EMAIL = """\
mappings:
  - id: points
    connection: jira
    jql: >
      project = ENG AND statusCategory = Done
      AND assignee = {owner.email}
    value: {aggregate: count}
    targets: {selector: {tag: velocity}, for_each: owner}
"""


def test_a_jira_fan_out_over_a_user_field_by_email_is_refused_at_its_line():
    err = only(errors_of(JIRA_BY_EMAIL))

    assert where(err) == (6, 22, "mappings[0].jql")
    assert "Jira groups the issues by the assignee's account id" in err.message
    assert "write `assignee = {owner.jira_account_id}`" in err.message
    assert str(err).startswith("acme.yaml:6:22: field `mappings[0].jql`: ")


def test_a_jira_user_field_without_a_jira_identity_says_how_to_get_one():
    err = only(errors_of(JIRA_BY_EMAIL, identity_systems={"salesforce"}))

    assert "write `assignee = {owner.jira_account_id}`" in err.message
    assert "map `jira` in hub.yaml `org_sync.identities`" in err.message


def test_a_jira_fan_out_by_account_id_or_over_a_text_field_by_email_loads():
    load(JIRA_BY_EMAIL.replace("{owner.email}", "{owner.jira_account_id}"))
    load(JIRA_BY_EMAIL.replace("assignee = {owner.email}", '"Owner email" = {owner.email}'))
