"""The Jira emulator speaks Jira: search/jql paging, counts, the removed search, JQL and its errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sandbox.jira import REMOVED_MESSAGE, UNBOUNDED_MESSAGE, JiraEmulator, jira_timestamp
from sandbox.jql import JqlError, parse_jql, quote
from sandbox.org import SyntheticOrg, generate_org
from sandbox.server import ServerThread

EMAIL = "bot@acme.example"
TOKEN = "emulator-test-token"
PAT = "emulator-test-pat"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def org() -> SyntheticOrg:
    return generate_org(500, seed=11)


@pytest.fixture
def emulator(org: SyntheticOrg) -> JiraEmulator:
    return JiraEmulator(org, email=EMAIL, api_token=TOKEN, pat=PAT, now=NOW)


@pytest.fixture
def server(emulator: JiraEmulator) -> Iterator[ServerThread]:
    with ServerThread(emulator) as running:
        yield running


@pytest.fixture
def api(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/rest/api/3/", auth=(EMAIL, TOKEN), trust_env=False) as client:
        yield client


def errors_of(response: httpx.Response, status: int) -> list[str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errors"] == {}
    messages: list[str] = body["errorMessages"]
    return messages


def keys(issues: list[Any]) -> list[str]:
    return [issue.key if hasattr(issue, "key") else issue["key"] for issue in issues]


# --- data --------------------------------------------------------------------------------------------
def test_issues_are_deterministic_and_consistent_with_the_org(
    org: SyntheticOrg, emulator: JiraEmulator
) -> None:
    assert 2500 <= len(emulator.issues) <= 6000
    again = JiraEmulator(org, email=EMAIL, now=NOW)
    assert [(i.key, i.assignee, i.story_points) for i in again.issues] == [
        (i.key, i.assignee, i.story_points) for i in emulator.issues
    ]
    other = JiraEmulator(org, seed=99, now=NOW)
    assert [i.assignee for i in other.issues] != [i.assignee for i in emulator.issues]
    by_account = {e.jira_account_id: e for e in org.employees.values()}
    for issue in emulator.issues:
        if issue.assignee and issue.assignee != emulator.integration_user.account_id:
            assert by_account[issue.assignee].division in ("Engineering", "Product")
    assert {i.project for i in emulator.issues} == {"ENG", "PLAT", "INFRA", "DATA", "SEC", "PROD"}
    assert any(i.assignee is None for i in emulator.issues)
    assert any(i.story_points is None for i in emulator.issues)
    assert any(not u.active for u in emulator.users.values())
    assert (
        jira_timestamp(datetime(2026, 10, 14, 16, 22, 31, 482000, tzinfo=UTC))
        == "2026-10-14T16:22:31.482+0000"
    )


# --- server info, fields, auth -----------------------------------------------------------------------
def test_server_info_is_anonymous_and_says_cloud(server: ServerThread) -> None:
    for version in ("2", "3"):
        info = httpx.get(f"{server.url}/rest/api/{version}/serverInfo", trust_env=False).json()
        assert info["deploymentType"] == "Cloud"
        assert info["versionNumbers"][0] == 1001


def test_fields_list_the_story_point_estimate(api: httpx.Client) -> None:
    fields = {f["id"]: f for f in api.get("field").json()}
    points = fields["customfield_10016"]
    assert points["name"] == "Story point estimate"
    assert points["schema"]["custom"] == "com.pyxis.greenhopper.jira:jsw-story-points"
    assert points["clauseNames"] == ["cf[10016]", "Story point estimate"]
    assert fields["assignee"]["schema"]["type"] == "user"


def test_auth_basic_on_cloud_bearer_on_data_center(server: ServerThread, org: SyntheticOrg) -> None:
    url = f"{server.url}/rest/api/2/myself"
    me = httpx.get(url, auth=(EMAIL, TOKEN), trust_env=False).json()
    assert me["emailAddress"] == EMAIL
    assert "accountId" in me
    for bad in (
        httpx.get(url, auth=(EMAIL, "nope"), trust_env=False),
        httpx.get(url, headers={"Authorization": f"Bearer {PAT}"}, trust_env=False),
        httpx.get(url, trust_env=False),
    ):
        assert errors_of(bad, 401) == ["Client must be authenticated to access this resource."]
    dc = JiraEmulator(org, pat=PAT, deployment="DataCenter")
    with ServerThread(dc) as dc_server:
        dc_url = f"{dc_server.url}/rest/api/2/myself"
        me = httpx.get(dc_url, headers={"Authorization": f"Bearer {PAT}"}, trust_env=False).json()
        assert (me["name"], "accountId" in me) == ("okrhub", False)
        assert httpx.get(dc_url, auth=(EMAIL, TOKEN), trust_env=False).status_code == 401
        info = httpx.get(f"{dc_server.url}/rest/api/2/serverInfo", trust_env=False).json()
        assert info["deploymentType"] == "Server"


def test_unknown_paths_answer_in_jiras_error_shape(api: httpx.Client) -> None:
    assert errors_of(api.get("nothing/here"), 404)[0].startswith("null for uri:")
    assert errors_of(api.get("search/approximate-count"), 405)


# --- search/jql ---------------------------------------------------------------------------------------
def page_through(api: httpx.Client, method: str, jql: str, **params: Any) -> tuple[list[Any], int]:
    issues: list[Any] = []
    token = None
    pages = 0
    while True:
        spec = {"jql": jql, **params, **({"nextPageToken": token} if token else {})}
        response = (
            api.post("search/jql", json=spec) if method == "POST" else api.get("search/jql", params=spec)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "total" not in body
        assert "startAt" not in body
        pages += 1
        issues += body["issues"]
        token = body.get("nextPageToken")
        if body["isLast"]:
            assert token is None, "the last page carries no token"
            return issues, pages
        assert token


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_search_jql_pages_with_next_page_token_until_is_last(
    api: httpx.Client, emulator: JiraEmulator, method: str
) -> None:
    expected = emulator.search("project = PLAT")
    fields: Any = "summary,customfield_10016" if method == "GET" else ["summary", "customfield_10016"]
    issues, pages = page_through(api, method, "project = PLAT", fields=fields, maxResults=100)
    assert keys(issues) == keys(expected)
    assert pages == -(-len(expected) // 100)
    first = issues[0]
    assert set(first) == {"id", "key", "self", "fields"}
    assert set(first["fields"]) == {"summary", "customfield_10016"}


def test_max_results_defaults_to_50_and_is_capped(api: httpx.Client) -> None:
    jql = {"jql": "project = PROD"}
    assert len(api.post("search/jql", json={**jql, "fields": ["summary"]}).json()["issues"]) == 50
    assert (
        len(api.post("search/jql", json={**jql, "fields": ["summary"], "maxResults": 1000}).json()["issues"])
        == 100
    )
    ids_only = api.post("search/jql", json={**jql, "maxResults": 5000}).json()
    assert len(ids_only["issues"]) > 1000
    assert set(ids_only["issues"][0]) == {"id", "key", "self"}


def test_fields_all_and_exclusions(api: httpx.Client) -> None:
    issue = api.post("search/jql", json={"jql": "project = SEC", "fields": ["*all", "-labels"]}).json()[
        "issues"
    ][0]
    fields = issue["fields"]
    assert "labels" not in fields
    assert fields["created"].endswith("+0000")
    assert fields["status"]["statusCategory"]["key"] in ("new", "indeterminate", "done")
    assert fields["issuetype"]["name"] in ("Story", "Bug", "Task", "Sub-task")


def test_hidden_emails_are_left_out(api: httpx.Client, emulator: JiraEmulator) -> None:
    hidden = next(i for i in emulator.issues if i.assignee and not emulator.users[i.assignee].email_visible)
    shown = next(i for i in emulator.issues if i.assignee and emulator.users[i.assignee].email_visible)
    body = api.post(
        "search/jql", json={"jql": f"key in ({hidden.key}, {shown.key})", "fields": ["assignee"]}
    ).json()
    users = {i["key"]: i["fields"]["assignee"] for i in body["issues"]}
    assert "emailAddress" not in users[hidden.key]
    assert users[hidden.key]["accountId"] == hidden.assignee
    assert users[shown.key]["emailAddress"] == emulator.users[shown.assignee or ""].email


def test_a_bad_page_token_is_refused(api: httpx.Client) -> None:
    first = api.post("search/jql", json={"jql": "project = ENG", "maxResults": 10}).json()
    token = first["nextPageToken"]
    assert errors_of(api.post("search/jql", json={"jql": "project = ENG", "nextPageToken": "garbage"}), 400)
    other = api.post("search/jql", json={"jql": "project = PLAT", "nextPageToken": token})
    assert errors_of(other, 400) == ["The provided next page token is invalid or expired."]


@pytest.mark.parametrize("jql", ["", "ORDER BY created DESC"])
def test_unbounded_jql_is_refused(api: httpx.Client, jql: str) -> None:
    assert errors_of(api.post("search/jql", json={"jql": jql}), 400) == [UNBOUNDED_MESSAGE]
    assert errors_of(api.post("search/approximate-count", json={"jql": jql}), 400) == [UNBOUNDED_MESSAGE]


def test_approximate_count(api: httpx.Client, emulator: JiraEmulator) -> None:
    jql = "project = ENG AND statusCategory != Done"
    assert api.post("search/approximate-count", json={"jql": jql}).json() == {
        "count": len(emulator.search(jql))
    }


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_old_search_is_gone(server: ServerThread, version: str, method: str) -> None:
    response = httpx.request(
        method,
        f"{server.url}/rest/api/{version}/search",
        params={"jql": "project = ENG"},
        auth=(EMAIL, TOKEN),
        trust_env=False,
    )
    assert errors_of(response, 410) == [REMOVED_MESSAGE]


def test_data_center_keeps_the_old_search(org: SyntheticOrg) -> None:
    dc = JiraEmulator(org, pat=PAT, deployment="DataCenter", now=NOW)
    headers = {"Authorization": f"Bearer {PAT}"}
    with ServerThread(dc) as dc_server:
        url = f"{dc_server.url}/rest/api/2/"
        body = httpx.get(
            url + "search", params={"jql": "project = DATA", "startAt": 40, "maxResults": 20}, headers=headers
        ).json()
        expected = dc.search("project = DATA")
        assert (body["startAt"], body["maxResults"], body["total"]) == (40, 20, len(expected))
        assert keys(body["issues"]) == keys(expected[40:60])
        assert "name" in body["issues"][0]["fields"]["reporter"]
        assert (
            httpx.post(url + "search/jql", json={"jql": "project = DATA"}, headers=headers).status_code == 404
        )


def test_the_burst_limit_answers_429_with_headers(api: httpx.Client, emulator: JiraEmulator) -> None:
    emulator.limiter.per_second = 2
    first = api.get("field")
    assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == ("2", "1")
    api.get("field")
    limited = api.get("field")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["RateLimit-Reason"] == "jira-burst-based"
    assert limited.headers["X-RateLimit-Reset"].endswith("Z")


# --- JQL errors over HTTP ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("storypoints > 3", "Field 'storypoints' does not exist or you do not have permission to view it."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ('summary ~ "open', "Error in the JQL Query: The quoted string 'open' has not been completed."),
        (r'labels = "a\qb"', "is an illegal JQL escape sequence"),
        ('created > "last week"', "Date value 'last week' for field 'created' is invalid."),
        ("status > Done", "The operator '>' is not supported by the 'status' field."),
        ("assignee = nobody()", "Unable to find JQL function 'nobody()'."),
        (
            "project = ENG status = Done",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'status'.",
        ),
        ("project ENG", "Error in the JQL Query: Expecting operator but got 'ENG'."),
        ("project in ENG", "Error in the JQL Query: Expecting '(' but got"),
        ("project = ENG ORDER BY labels", "Not able to sort using field 'labels'."),
        ("created = currentUser()", "The function 'currentUser' is not supported by the 'created' field."),
    ],
)
def test_jql_errors_use_jiras_words(api: httpx.Client, jql: str, message: str) -> None:
    messages = errors_of(api.post("search/jql", json={"jql": jql}), 400)
    assert any(message in m for m in messages), messages


def test_every_jql_error_is_reported_at_once(api: httpx.Client) -> None:
    messages = errors_of(api.get("search/jql", params={"jql": "foo = 1 AND bar = 2 AND project = ENG"}), 400)
    assert messages == [
        "Field 'foo' does not exist or you do not have permission to view it.",
        "Field 'bar' does not exist or you do not have permission to view it.",
    ]


# --- JQL meaning ---------------------------------------------------------------------------------------
def matching(emulator: JiraEmulator, jql: str, **kwargs: Any) -> set[str]:
    return set(keys(emulator.search(jql, **kwargs)))


def where(emulator: JiraEmulator, test: Any) -> set[str]:
    return {i.key for i in emulator.issues if test(i)}


def test_quoted_strings_unescape_quotes_and_backslashes(emulator: JiraEmulator) -> None:
    hostile = 'say "hi" \\ o\'neil'
    added = emulator.add_issue("SEC", labels=[hostile])
    assert quote(hostile) == r'"say \"hi\" \\ o' + "'" + r'neil"'
    assert matching(emulator, f"labels = {quote(hostile)}") == {added.key}
    assert matching(emulator, r"labels = 'say \"hi\" \\ o\'neil'") == {added.key}
    assert matching(emulator, r'labels = "say \u0022hi\u0022 \\ o' + "'" + 'neil"') == {added.key}
    assert parse_jql(r'summary ~ "tab\there"').where is not None


def test_equality_lists_and_empties(emulator: JiraEmulator) -> None:
    eng_or_sec = where(emulator, lambda i: i.project in ("ENG", "SEC"))
    assert matching(emulator, "project in (ENG, sec)") == eng_or_sec
    assert matching(emulator, 'project IN ("Engineering", 10004)') == eng_or_sec
    assert matching(emulator, "project = ENG AND assignee is EMPTY") == where(
        emulator, lambda i: i.project == "ENG" and i.assignee is None
    )
    someone = next(i.assignee for i in emulator.issues if i.assignee and i.project == "SEC")
    # As in Jira, != and NOT IN never match an empty field.
    assert matching(emulator, f'project = SEC AND assignee != "{someone}"') == where(
        emulator, lambda i: i.project == "SEC" and i.assignee not in (None, someone)
    )
    assert matching(emulator, f'project = SEC AND NOT assignee = "{someone}"') == where(
        emulator, lambda i: i.project == "SEC" and i.assignee != someone
    )
    assert matching(emulator, "project = SEC AND status NOT IN ('To Do', Done)") == where(
        emulator, lambda i: i.project == "SEC" and i.status in ("In Progress", "In Review")
    )
    assert matching(emulator, "project = SEC AND labels = okr") == where(
        emulator, lambda i: i.project == "SEC" and "okr" in i.labels
    )
    assert matching(emulator, "project = SEC AND labels != okr") == where(
        emulator, lambda i: i.project == "SEC" and i.labels and "okr" not in i.labels
    )
    assert matching(emulator, "project = SEC AND resolution = Unresolved") == where(
        emulator, lambda i: i.project == "SEC" and i.status != "Done"
    )


def test_precedence_of_and_or_not(emulator: JiraEmulator) -> None:
    jql = (
        "project = SEC AND issuetype = Bug OR "
        "project = INFRA AND NOT (statusCategory = Done OR priority = Low)"
    )
    assert matching(emulator, jql) == where(
        emulator,
        lambda i: (
            (i.project == "SEC" and i.issue_type == "Bug")
            or (i.project == "INFRA" and not (i.status == "Done" or i.priority == "Low"))
        ),
    )


def test_numbers_under_every_story_point_name(emulator: JiraEmulator) -> None:
    big = where(emulator, lambda i: i.project == "DATA" and (i.story_points or 0) >= 5)
    for name in ('"Story point estimate"', "cf[10016]", "customfield_10016", "'story POINT estimate'"):
        assert matching(emulator, f"project = DATA AND {name} >= 5") == big
    assert matching(emulator, "project = DATA AND cf[10016] in (0.5, 13)") == where(
        emulator, lambda i: i.project == "DATA" and i.story_points in (0.5, 13.0)
    )
    assert matching(emulator, "project = DATA AND cf[10016] is not empty") == where(
        emulator, lambda i: i.project == "DATA" and i.story_points is not None
    )


def test_dates_absolute_relative_and_functions(emulator: JiraEmulator) -> None:
    october = datetime(2026, 10, 1, tzinfo=UTC)
    assert matching(emulator, 'created >= "2026-10-01" AND created < "2026/11/01"') == where(
        emulator, lambda i: october <= i.created < datetime(2026, 11, 1, tzinfo=UTC)
    )
    assert matching(emulator, "resolved >= -30d") == where(
        emulator, lambda i: i.resolved is not None and i.resolved >= NOW - timedelta(days=30)
    )
    assert matching(emulator, 'updated > "-2w 3d"') == where(
        emulator, lambda i: i.updated > NOW - timedelta(days=17)
    )
    assert matching(emulator, "created >= startOfMonth(-1) AND created < startOfMonth()") == where(
        emulator, lambda i: october <= i.created < datetime(2026, 11, 1, tzinfo=UTC)
    )
    assert matching(emulator, "created > endOfYear(-1) AND created <= now()") == where(
        emulator, lambda i: i.created <= NOW
    )


def test_text_search_current_user_and_order(emulator: JiraEmulator) -> None:
    assert matching(emulator, 'project = ENG AND summary ~ "billing EXP*"') == where(
        emulator, lambda i: i.project == "ENG" and "billing export" in i.summary
    )
    assert matching(emulator, "project = ENG AND summary !~ billing") == where(
        emulator, lambda i: i.project == "ENG" and "billing" not in i.summary
    )
    mine = matching(emulator, "assignee = currentUser()", current_user=emulator.integration_user.account_id)
    assert mine == where(emulator, lambda i: i.assignee == emulator.integration_user.account_id)
    assert len(mine) == 5
    assert matching(emulator, "assignee = currentUser()") == set()
    ordered = emulator.search("project = SEC ORDER BY cf[10016] DESC, created ASC")
    points = [i.story_points for i in ordered]
    assert points[: points.count(None)] == [None] * points.count(None), "empty values first when descending"
    valued = [p for p in points if p is not None]
    assert valued == sorted(valued, reverse=True)
    default = emulator.search("project = SEC")
    assert [i.id for i in default] == sorted((i.id for i in default), reverse=True)


def test_users_by_account_id_or_visible_email(emulator: JiraEmulator) -> None:
    user = next(u for u in emulator.users.values() if u.email_visible and u is not emulator.integration_user)
    by_id = matching(emulator, f'assignee = "{user.account_id}"')
    assert matching(emulator, f'assignee = "{user.email.upper()}"') == by_id
    hidden = next(u for u in emulator.users.values() if not u.email_visible)
    with pytest.raises(JqlError, match="does not exist for the field 'assignee'"):
        emulator.search(f'assignee = "{hidden.email}"')


def test_remembered_results_follow_added_issues(api: httpx.Client, emulator: JiraEmulator) -> None:
    jql = {"jql": "project = SEC AND labels = fresh", "maxResults": 100}
    assert api.post("search/jql", json=jql).json()["issues"] == []
    added = emulator.add_issue("SEC", labels=["fresh"])
    assert keys(api.post("search/jql", json=jql).json()["issues"]) == [added.key]
