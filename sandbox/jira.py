"""A Jira Cloud (or Data Center) REST API emulator serving issues worked on by a `SyntheticOrg`.

Every person of the org is a Jira user (account id `Employee.jira_account_id`; terminated
people are deactivated users, `"active": false`); Engineering and Product people own several
thousand issues in projects ENG, PLAT, INFRA, DATA, SEC and PROD, deterministic from the org's
seed. About one user in five hides their email, so `emailAddress` is missing, as on Cloud.

Routes, under both `/rest/api/2/` and `/rest/api/3/` (the `jira` library speaks v2):

- `GET serverInfo` (anonymous allowed; `deploymentType` is `Cloud`, or `Server` for Data Center),
  `GET field` (with "Story point estimate", `customfield_10016`), `GET myself`;
- Cloud: `GET|POST search/jql` (`jql`, `fields`, `maxResults`, `nextPageToken`; answers
  `{"issues", "nextPageToken", "isLast"}` with no total; `maxResults` defaults to 50 and is
  capped at 100, or 5000 when only ids/keys are asked for; the token is left out on the last
  page, as Cloud does), `POST search/approximate-count` (`{"jql"}` -> `{"count"}`), and the old
  `GET|POST search`, which answers 410 with Atlassian's removal message;
- Data Center: the old `GET|POST search` with `startAt`/`maxResults`/`total`; no `search/jql`.

JQL is the subset `sandbox.jql` understands, over project, assignee, reporter, status,
statusCategory, issuetype, priority, resolution, labels, created, updated, resolved, key,
summary and "Story point estimate" (`cf[10016]`). Cloud refuses a query without a restriction
("Unbounded JQL queries are not allowed here..."). Errors are `{"errorMessages": [...],
"errors": {}}`. Auth is Basic `email:api_token` on Cloud and `Bearer <PAT>` on Data Center. A
burst limit (`rate_limit_per_second`) answers 429 with `Retry-After`, `X-RateLimit-*` and
`RateLimit-Reason` headers; while a limit is set, every response carries `X-RateLimit-Limit`
and `X-RateLimit-Remaining`.

Example:
    ```python
    app = JiraEmulator(generate_org(500, seed=7))
    with ServerThread(app) as server:
        httpx.post(f"{server.url}/rest/api/3/search/jql", auth=(app.email, app.api_token),
                   json={"jql": "project = ENG", "fields": ["customfield_10016"], "maxResults": 100})
    ```
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from typing_extensions import override
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.jql import CompiledJql, JqlContext, JqlError, JqlField, compile_jql
from sandbox.org import SyntheticOrg, people_rows
from sandbox.server import EmulatorApp, json_response

Deployment = Literal["Cloud", "DataCenter"]

STORY_POINTS_FIELD = "customfield_10016"
"""Where team-managed projects keep "Story point estimate" (the id differs per real site)."""
REMOVED_MESSAGE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
UNBOUNDED_MESSAGE = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
UNAUTHENTICATED_MESSAGE = "Client must be authenticated to access this resource."
BAD_TOKEN_MESSAGE = "The provided next page token is invalid or expired."  # noqa: S105 - not a secret
DEFAULT_MAX_RESULTS = 50
MAX_RESULTS_WITH_FIELDS = 100
MAX_RESULTS_IDS_ONLY = 5000
MAX_RESULTS_DATA_CENTER = 1000
RESULT_CACHE_SECONDS = 60.0
RESULT_CACHE_SIZE = 32
ISSUES_SINCE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ISSUES_UNTIL = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ProjectDef:
    """A Jira project and the org departments whose people work in it."""

    key: str
    name: str
    id: int
    departments: tuple[str, ...]


PROJECTS: tuple[ProjectDef, ...] = (
    ProjectDef("ENG", "Engineering", 10000, ("Product Engineering", "Engineering")),
    ProjectDef("PLAT", "Platform", 10001, ("Platform",)),
    ProjectDef("INFRA", "Infrastructure", 10002, ("Infrastructure",)),
    ProjectDef("DATA", "Data", 10003, ("Data",)),
    ProjectDef("SEC", "Security", 10004, ("Security",)),
    ProjectDef("PROD", "Product", 10005, ("Product Management", "Design", "Research", "Product")),
)
STATUSES: dict[str, tuple[str, str]] = {
    "To Do": ("10000", "new"),
    "In Progress": ("3", "indeterminate"),
    "In Review": ("10001", "indeterminate"),
    "Done": ("10002", "done"),
}
"""Status name to (id, status category key)."""
STATUS_CATEGORIES: dict[str, tuple[int, str, str]] = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
"""Status category key to (id, name, colour)."""
ISSUE_TYPES: dict[str, tuple[str, bool, int]] = {
    "Story": ("10001", False, 0),
    "Bug": ("10004", False, 0),
    "Task": ("10002", False, 0),
    "Sub-task": ("10003", True, -1),
}
"""Issue type name to (id, is a sub-task, hierarchy level)."""
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
LABELS = ("backend", "frontend", "okr", "customer", "tech-debt", "performance", "q3", "q4", "security")
_VERBS = ("Fix", "Add", "Refactor", "Migrate", "Document", "Speed up", "Remove", "Investigate", "Design")
_OBJECTS = (
    "login timeout on mobile",
    "billing export",
    "search indexing",
    "audit log retention",
    "onboarding checklist",
    "SSO settings page",
    "CI cache",
    "deploy pipeline",
    "data warehouse sync",
    "rate limiter",
    "notification emails",
    "dashboard widgets",
)


@dataclass(frozen=True, slots=True)
class JiraUser:
    """A Jira user: Cloud knows them by `account_id`, Data Center by `username`."""

    account_id: str
    display_name: str
    email: str
    email_visible: bool
    active: bool
    username: str
    key: str


@dataclass(slots=True)
class JiraIssue:
    """One issue; `assignee`/`reporter` are account ids, `story_points` the estimate or None."""

    id: int
    key: str
    project: str
    summary: str
    issue_type: str
    status: str
    priority: str
    assignee: str | None
    reporter: str | None
    created: datetime
    updated: datetime
    resolved: datetime | None
    labels: tuple[str, ...]
    story_points: float | None

    @property
    def status_category(self) -> str:
        """The status category's name: To Do, In Progress or Done."""
        return STATUS_CATEGORIES[STATUSES[self.status][1]][1]

    @property
    def resolution(self) -> str | None:
        """`Done` for resolved issues, else None (Unresolved)."""
        return "Done" if self.status == "Done" else None


class _Refused(Exception):
    """A request Jira answers with an error body."""

    def __init__(self, status: int, *messages: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, messages)
        self.status = status
        self.messages = list(messages)
        self.headers = dict(headers or {})


class BurstLimiter:
    """Requests per sliding second; `per_second=None` turns limiting off."""

    def __init__(self, per_second: float | None = None) -> None:
        self.per_second = per_second
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self) -> tuple[float, int]:
        """(seconds to wait, 0 when this request may pass and is counted; requests left this second)."""
        if not self.per_second:
            return 0.0, 0
        limit = math.floor(self.per_second)
        now = time.monotonic()
        with self._lock:
            while self._hits and self._hits[0] <= now - 1.0:
                self._hits.popleft()
            if len(self._hits) < limit:
                self._hits.append(now)
                return 0.0, limit - len(self._hits)
            return self._hits[0] + 1.0 - now, 0


def jira_timestamp(when: datetime) -> str:
    """Jira's datetime format: `2026-10-14T16:22:31.482+0000`."""
    when = when.astimezone(UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}+0000"


def _digest(*parts: object) -> str:
    return hashlib.md5("/".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


class JiraEmulator(EmulatorApp):
    """Jira's REST API over a synthetic org's issues (see the module docstring for what it serves).

    Args:
        org: the company whose people are the Jira users and assignees.
        email: the integration account's email (Cloud Basic-auth username).
        api_token: the integration account's API token (Cloud).
        pat: the personal access token accepted on Data Center.
        deployment: `Cloud` (search/jql, 410 on the old search) or `DataCenter` (old search only).
        seed: seed of the issue data; the org's seed when None.
        rate_limit_per_second: burst limit before answering 429; None for none.
        now: what `now()` and relative dates mean; the real clock when None.

    `issues` and `users` are public for tests to compute expected values from; add issues with
    `add_issue` (searches remember recent results until the data changes through it).
    """

    name = "jira"

    def __init__(
        self,
        org: SyntheticOrg,
        *,
        email: str = "okrhub@acme.example",
        api_token: str = "sandbox-jira-token",  # noqa: S107 - a sandbox credential, public on purpose
        pat: str = "sandbox-jira-pat",
        deployment: Deployment = "Cloud",
        seed: int | None = None,
        rate_limit_per_second: float | None = None,
        now: datetime | None = None,
    ) -> None:
        self.org = org
        self.email = email
        self.api_token = api_token
        self.pat = pat
        self.deployment: Deployment = deployment
        self.limiter = BurstLimiter(rate_limit_per_second)
        self.fixed_now = now
        self.lock = threading.RLock()
        self.integration_user = JiraUser(
            account_id=_digest("jira-integration", email)[:24],
            display_name="okrhub integration",
            email=email,
            email_visible=True,
            active=True,
            username="okrhub",
            key="JIRAUSER10000",
        )
        self.users: dict[str, JiraUser] = {self.integration_user.account_id: self.integration_user}
        for number, employee in enumerate(people_rows(org), start=10001):
            self.users[employee.jira_account_id] = JiraUser(
                account_id=employee.jira_account_id,
                display_name=employee.display_name,
                email=employee.email,
                email_visible=int(_digest("email-visibility", employee.jira_account_id), 16) % 5 != 0,
                active=employee.is_active,
                username=employee.email.split("@")[0],
                key=f"JIRAUSER{number}",
            )
        self._by_login = {u.username.lower(): u.account_id for u in self.users.values()} | {
            u.email.lower(): u.account_id for u in self.users.values() if u.email_visible
        }
        self.issues: list[JiraIssue] = _generate_issues(org, self.integration_user.account_id, seed)
        self._next_number = {p.key: sum(1 for i in self.issues if i.project == p.key) for p in PROJECTS}
        self._data_version = 0
        self._results: dict[tuple[str, str | None], tuple[int, float, list[JiraIssue]]] = {}
        self._fields = self._jql_fields()
        super().__init__()

    # --- data helpers for tests --------------------------------------------------------------------
    def now(self) -> datetime:
        """What `now()` means for this emulator."""
        return self.fixed_now or datetime.now(UTC)

    def add_issue(
        self,
        project: str,
        *,
        summary: str = "Added by a test",
        assignee: str | None = None,
        labels: Iterable[str] = (),
        story_points: float | None = None,
        issue_type: str = "Story",
        status: str = "To Do",
        created: datetime | None = None,
    ) -> JiraIssue:
        """Add one issue to `project` (a key such as ENG) and return it."""
        with self.lock:
            self._next_number[project] += 1
            when = created or ISSUES_UNTIL
            issue = JiraIssue(
                id=max(i.id for i in self.issues) + 1,
                key=f"{project}-{self._next_number[project]}",
                project=project,
                summary=summary,
                issue_type=issue_type,
                status=status,
                priority="Medium",
                assignee=assignee,
                reporter=self.integration_user.account_id,
                created=when,
                updated=when,
                resolved=when if status == "Done" else None,
                labels=tuple(labels),
                story_points=story_points,
            )
            self.issues.append(issue)
            self._data_version += 1
            return issue

    def search(self, jql: str, *, current_user: str | None = None) -> list[JiraIssue]:
        """The issues `jql` matches, in result order (raises `sandbox.jql.JqlError`)."""
        return self._compile(jql, current_user).apply(self._snapshot())

    def _snapshot(self) -> list[JiraIssue]:
        with self.lock:
            return list(self.issues)

    def _matching(self, query: CompiledJql, current_user: str | None) -> list[JiraIssue]:
        # Paging a big result re-runs its query once per page; remember recent results for a
        # minute (until `add_issue` changes the data) so a 100,000-issue emulator stays fast.
        key = (query.text, current_user)
        now = time.monotonic()
        with self.lock:
            version = self._data_version
            cached = self._results.get(key)
            if cached is not None and cached[0] == version and now - cached[1] < RESULT_CACHE_SECONDS:
                return cached[2]
        found = query.apply(self._snapshot())
        with self.lock:
            if len(self._results) >= RESULT_CACHE_SIZE:
                self._results.pop(next(iter(self._results)))
            self._results[key] = (version, now, found)
        return found

    def _compile(self, jql: str, current_user: str | None) -> CompiledJql:
        context = JqlContext(now=self.now(), current_user=current_user)
        return compile_jql(jql, self._fields, context, sort_default=lambda issue: -issue.id)

    # --- JQL fields --------------------------------------------------------------------------------
    def _jql_fields(self) -> dict[str, JqlField]:
        projects = {p.key.lower(): p.key for p in PROJECTS} | {p.name.lower(): p.key for p in PROJECTS}
        projects |= {str(p.id): p.key for p in PROJECTS}
        categories = {name.lower(): name for _, name, _ in STATUS_CATEGORIES.values()}
        categories |= {key: name for key, (_, name, _) in STATUS_CATEGORIES.items()}

        def among(names: Iterable[str]) -> Any:
            table = {name.lower(): name for name in names}
            return lambda text: table.get(text.lower())

        def user(text: str) -> str | None:
            if self.deployment == "Cloud" and text in self.users:
                return text
            return self._by_login.get(text.lower())

        def issue_key(text: str) -> str | None:
            wanted = text.upper()
            return wanted if any(i.key == wanted for i in self._snapshot()) else None

        points = JqlField("Story point estimate", "number", lambda i: i.story_points)
        created = JqlField("created", "date", lambda i: i.created)
        updated = JqlField("updated", "date", lambda i: i.updated)
        resolved = JqlField("resolved", "date", lambda i: i.resolved)
        issue_type = JqlField("issuetype", "value", lambda i: i.issue_type, among(ISSUE_TYPES))
        key = JqlField("key", "value", lambda i: i.key, issue_key)
        return {
            "project": JqlField("project", "value", lambda i: i.project, lambda t: projects.get(t.lower())),
            "assignee": JqlField("assignee", "value", lambda i: i.assignee, user, user=True),
            "reporter": JqlField("reporter", "value", lambda i: i.reporter, user, user=True),
            "status": JqlField("status", "value", lambda i: i.status, among(STATUSES)),
            "statuscategory": JqlField(
                "statusCategory", "value", lambda i: i.status_category, lambda t: categories.get(t.lower())
            ),
            "issuetype": issue_type,
            "type": issue_type,
            "priority": JqlField("priority", "value", lambda i: i.priority, among(PRIORITIES)),
            "resolution": JqlField(
                "resolution",
                "value",
                lambda i: i.resolution,
                among(["Done"]),
                empty_aliases=frozenset({"unresolved"}),
            ),
            "labels": JqlField("labels", "multi", lambda i: i.labels, sortable=False),
            "created": created,
            "createddate": created,
            "updated": updated,
            "updateddate": updated,
            "resolved": resolved,
            "resolutiondate": resolved,
            "key": key,
            "issuekey": key,
            "summary": JqlField("summary", "text", lambda i: i.summary),
            "text": JqlField("text", "text", lambda i: i.summary, sortable=False),
            "story point estimate": points,
            "cf[10016]": points,
            STORY_POINTS_FIELD: points,
            "story points": JqlField("Story Points", "number", lambda i: None),
            "cf[10028]": JqlField("Story Points", "number", lambda i: None),
        }

    # --- routing, auth, limits ---------------------------------------------------------------------
    @override
    def rules(self) -> Iterable[Rule]:
        """Jira's REST routes under v2, v3 and latest, plus `/_sandbox/<action>`."""
        base = "/rest/api/<any('2', '3', latest):version>"
        return (
            Rule(f"{base}/serverInfo", endpoint="server_info", methods=["GET"]),
            Rule(f"{base}/field", endpoint="fields", methods=["GET"]),
            Rule(f"{base}/myself", endpoint="myself", methods=["GET"]),
            Rule(f"{base}/search/jql", endpoint="search_jql", methods=["GET", "POST"]),
            Rule(f"{base}/search/approximate-count", endpoint="approximate_count", methods=["POST"]),
            Rule(f"{base}/search", endpoint="search_legacy", methods=["GET", "POST"]),
            Rule("/_sandbox/<action>", endpoint="sandbox_admin", methods=["GET", "POST"]),
        )

    @staticmethod
    def error(status: int, *messages: str, headers: Mapping[str, str] | None = None) -> Response:
        """An error as Jira sends it: `{"errorMessages": [...], "errors": {}}`."""
        return json_response({"errorMessages": list(messages), "errors": {}}, status, dict(headers or {}))

    @override
    def http_error(self, request: Request, exc: HTTPException) -> Response:
        """Unknown path or method, in Jira's error shape."""
        if exc.code == 405:
            return self.error(405, f"Method {request.method} is not allowed for {request.path}.")
        return self.error(exc.code or 404, f"null for uri: {request.url}")

    def _authenticate(self, request: Request, *, anonymous: bool) -> JiraUser | None:
        """The signed-in user (None: anonymous, when allowed); `_Refused(401)` otherwise."""
        header = request.headers.get("Authorization", "")
        if not header and anonymous:
            return None
        scheme, _, credentials = header.partition(" ")
        if self.deployment == "Cloud" and scheme.lower() == "basic":
            try:
                username, _, password = base64.b64decode(credentials).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                username, password = "", ""
            if hmac.compare_digest(username.encode(), self.email.encode()) and hmac.compare_digest(
                password.encode(), self.api_token.encode()
            ):
                return self.integration_user
        if (
            self.deployment == "DataCenter"
            and scheme.lower() == "bearer"
            and hmac.compare_digest(credentials.strip().encode(), self.pat.encode())
        ):
            return self.integration_user
        raise _Refused(
            401,
            UNAUTHENTICATED_MESSAGE,
            headers={
                "WWW-Authenticate": 'Basic realm="protected-area"',
                "X-Seraph-LoginReason": "AUTHENTICATED_FAILED",
            },
        )

    def _limit_headers(self) -> dict[str, str]:
        wait, remaining = self.limiter.take()
        if self.limiter.per_second is None:
            return {}
        limit = str(math.floor(self.limiter.per_second))
        if wait > 0:
            reset = datetime.now(UTC) + timedelta(seconds=wait)
            raise _Refused(
                429,
                "Rate limit exceeded.",
                headers={
                    "Retry-After": str(max(1, math.ceil(wait))),
                    "X-RateLimit-Limit": limit,
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{reset:%Y-%m-%dT%H:%MZ}",
                    "RateLimit-Reason": "jira-burst-based",
                },
            )
        return {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": str(remaining)}

    def _serve(self, request: Request, answer: Any, *, anonymous: bool = False) -> Response:
        """Authenticate, apply the burst limit, then answer with `answer(request, user)`."""
        try:
            user = self._authenticate(request, anonymous=anonymous)
            headers = self._limit_headers()
            response: Response = answer(request, user)
        except _Refused as refused:
            return self.error(refused.status, *refused.messages, headers=refused.headers)
        except JqlError as exc:
            return self.error(400, *exc.messages)
        response.headers.update(headers)
        return response

    # --- endpoints -----------------------------------------------------------------------------------
    def on_server_info(self, request: Request, version: str) -> Response:
        """`GET serverInfo`: the deployment type the `jira` library decides Cloud-ness by."""

        def answer(request: Request, _user: JiraUser | None) -> Response:
            cloud = self.deployment == "Cloud"
            return json_response(
                {
                    "baseUrl": request.host_url.rstrip("/"),
                    "displayUrl": request.host_url.rstrip("/"),
                    "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.5",
                    "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 5],
                    "deploymentType": "Cloud" if cloud else "Server",
                    "buildNumber": 100289 if cloud else 9120005,
                    "buildDate": "2026-11-17T00:00:00.000+0000",
                    "serverTime": jira_timestamp(datetime.now(UTC)),
                    "scmInfo": "4c3b1b0f9d1e6f5f8a1f1f0b2d9c3a6e7f8b9c0d",
                    "serverTitle": "Jira",
                    "defaultLocale": {"locale": "en_US"},
                    "serverTimeZone": "Etc/UTC",
                }
            )

        return self._serve(request, answer, anonymous=True)

    def on_fields(self, request: Request, version: str) -> Response:
        """`GET field`: system fields and the story-point custom fields."""
        return self._serve(request, lambda _request, _user: json_response(FIELD_CATALOGUE))

    def on_myself(self, request: Request, version: str) -> Response:
        """`GET myself`: the integration account."""

        def answer(request: Request, user: JiraUser | None) -> Response:
            assert user is not None  # _serve refuses anonymous callers here
            return json_response({**self.render_user(user, request, version), "locale": "en_US"})

        return self._serve(request, answer)

    def on_search_jql(self, request: Request, version: str) -> Response:
        """`GET|POST search/jql`: one page of an enhanced search, paged by `nextPageToken`."""
        if self.deployment != "Cloud":
            return self.error(404, f"null for uri: {request.url}")

        def answer(request: Request, user: JiraUser | None) -> Response:
            spec = _search_spec(request)
            jql = str(spec.get("jql") or "")
            include, ids_only = _field_selection(spec.get("fields"))
            cap = MAX_RESULTS_IDS_ONLY if ids_only else MAX_RESULTS_WITH_FIELDS
            asked = _int_param(spec, "maxResults", DEFAULT_MAX_RESULTS)
            limit = min(asked if asked > 0 else DEFAULT_MAX_RESULTS, cap)
            offset = _read_token(spec.get("nextPageToken"), jql)
            current = user.account_id if user else None
            query = self._compile(jql, current)
            if not query.bounded:
                raise _Refused(400, UNBOUNDED_MESSAGE)
            found = self._matching(query, current)
            page = found[offset : offset + limit]
            body: dict[str, Any] = {"issues": [self.render_issue(i, request, version, include) for i in page]}
            if offset + limit < len(found):
                body["nextPageToken"] = _make_token(jql, offset + limit)
            body["isLast"] = offset + limit >= len(found)
            return json_response(body)

        return self._serve(request, answer)

    def on_approximate_count(self, request: Request, version: str) -> Response:
        """`POST search/approximate-count`: `{"jql"}` -> `{"count"}` (exact here; bounded JQL only)."""
        if self.deployment != "Cloud":
            return self.error(404, f"null for uri: {request.url}")

        def answer(request: Request, user: JiraUser | None) -> Response:
            jql = str(_search_spec(request).get("jql") or "")
            query = self._compile(jql, user.account_id if user else None)
            if not query.bounded:
                raise _Refused(400, UNBOUNDED_MESSAGE)
            return json_response({"count": sum(1 for i in self._snapshot() if query.matches(i))})

        return self._serve(request, answer)

    def on_search_legacy(self, request: Request, version: str) -> Response:
        """`GET|POST search`: 410 Gone on Cloud; `startAt` paging with a `total` on Data Center."""
        if self.deployment == "Cloud":
            return self._serve(
                request, lambda _request, _user: self.error(410, REMOVED_MESSAGE), anonymous=True
            )

        def answer(request: Request, user: JiraUser | None) -> Response:
            spec = _search_spec(request)
            raw_fields = spec.get("fields")
            include, _ = _field_selection(raw_fields if raw_fields else ["*navigable"])
            start = max(0, _int_param(spec, "startAt", 0))
            limit = min(max(0, _int_param(spec, "maxResults", DEFAULT_MAX_RESULTS)), MAX_RESULTS_DATA_CENTER)
            current = user.account_id if user else None
            query = self._compile(str(spec.get("jql") or ""), current)
            found = self._matching(query, current)
            issues = [self.render_issue(i, request, version, include) for i in found[start : start + limit]]
            return json_response(
                {
                    "expand": "names,schema",
                    "startAt": start,
                    "maxResults": limit,
                    "total": len(found),
                    "issues": issues,
                }
            )

        return self._serve(request, answer)

    def on_sandbox_admin(self, request: Request, action: str) -> Response:
        """Route `/_sandbox/<action>` to `admin`."""
        return self.admin(request, action)

    @override
    def admin(self, request: Request, action: str) -> Response:
        """`POST /_sandbox/rate_limit` `{"per_second": 5}` (null: off); `GET /_sandbox/issues` (counts)."""
        if action == "rate_limit" and request.method == "POST":
            value = (request.get_json(force=True, silent=True) or {}).get("per_second")
            self.limiter.per_second = float(value) if value is not None else None
            return json_response({"per_second": self.limiter.per_second})
        if action == "issues" and request.method == "GET":
            issues = self._snapshot()
            per_project = {p.key: sum(1 for i in issues if i.project == p.key) for p in PROJECTS}
            return json_response({"count": len(issues), "projects": per_project})
        return json_response({"error": f"unknown sandbox action {request.method} {action!r}"}, status=404)

    # --- rendering -----------------------------------------------------------------------------------
    def render_user(self, user: JiraUser, request: Request, version: str) -> dict[str, Any]:
        """A user as Cloud (account id, email only when visible) or Data Center (name, key) shows it."""
        base = f"{request.host_url}rest/api/{version}"
        if self.deployment == "Cloud":
            shown: dict[str, Any] = {
                "self": f"{base}/user?accountId={user.account_id}",
                "accountId": user.account_id,
                "accountType": "atlassian",
            }
            if user.email_visible:
                shown["emailAddress"] = user.email
        else:
            shown = {
                "self": f"{base}/user?username={user.username}",
                "key": user.key,
                "name": user.username,
                "emailAddress": user.email,
            }
        return shown | {"displayName": user.display_name, "active": user.active, "timeZone": "Etc/UTC"}

    def render_issue(
        self, issue: JiraIssue, request: Request, version: str, include: frozenset[str] | None
    ) -> dict[str, Any]:
        """An issue with the fields in `include` (None: every field; empty: ids only)."""
        base = f"{request.host_url}rest/api/{version}"
        shown: dict[str, Any] = {"id": str(issue.id), "key": issue.key, "self": f"{base}/issue/{issue.id}"}
        if include is not None and not include:
            return shown
        renderers = self._renderers(issue, base, request, version)
        wanted = renderers if include is None else [name for name in renderers if name in include]
        shown["fields"] = {name: renderers[name]() for name in wanted}
        return shown

    def _renderers(self, issue: JiraIssue, base: str, request: Request, version: str) -> dict[str, Any]:
        project = next(p for p in PROJECTS if p.key == issue.project)
        status_id, category_key = STATUSES[issue.status]
        category_id, category_name, colour = STATUS_CATEGORIES[category_key]
        type_id, subtask, level = ISSUE_TYPES[issue.issue_type]

        def user(account_id: str | None) -> dict[str, Any] | None:
            return self.render_user(self.users[account_id], request, version) if account_id else None

        return {
            "summary": lambda: issue.summary,
            "issuetype": lambda: {
                "self": f"{base}/issuetype/{type_id}",
                "id": type_id,
                "name": issue.issue_type,
                "subtask": subtask,
                "hierarchyLevel": level,
            },
            "status": lambda: {
                "self": f"{base}/status/{status_id}",
                "id": status_id,
                "name": issue.status,
                "statusCategory": {
                    "self": f"{base}/statuscategory/{category_id}",
                    "id": category_id,
                    "key": category_key,
                    "colorName": colour,
                    "name": category_name,
                },
            },
            "project": lambda: {
                "self": f"{base}/project/{project.id}",
                "id": str(project.id),
                "key": project.key,
                "name": project.name,
                "projectTypeKey": "software",
            },
            "assignee": lambda: user(issue.assignee),
            "reporter": lambda: user(issue.reporter),
            "priority": lambda: {
                "self": f"{base}/priority/{PRIORITIES[issue.priority]}",
                "id": PRIORITIES[issue.priority],
                "name": issue.priority,
            },
            "resolution": lambda: {"id": "10000", "name": "Done"} if issue.resolution else None,
            "labels": lambda: list(issue.labels),
            "created": lambda: jira_timestamp(issue.created),
            "updated": lambda: jira_timestamp(issue.updated),
            "resolutiondate": lambda: jira_timestamp(issue.resolved) if issue.resolved else None,
            STORY_POINTS_FIELD: lambda: issue.story_points,
            "customfield_10028": lambda: None,
        }


def _field_entry(
    field_id: str, name: str, schema: dict[str, Any], clause_names: list[str], *, custom: bool = False
) -> dict[str, Any]:
    return {
        "id": field_id,
        "key": field_id,
        "name": name,
        "custom": custom,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": clause_names,
        "schema": schema,
    }


FIELD_CATALOGUE: list[dict[str, Any]] = [
    _field_entry("summary", "Summary", {"type": "string", "system": "summary"}, ["summary"]),
    _field_entry(
        "issuetype", "Issue Type", {"type": "issuetype", "system": "issuetype"}, ["issuetype", "type"]
    ),
    _field_entry("status", "Status", {"type": "status", "system": "status"}, ["status"]),
    _field_entry("project", "Project", {"type": "project", "system": "project"}, ["project"]),
    _field_entry("assignee", "Assignee", {"type": "user", "system": "assignee"}, ["assignee"]),
    _field_entry("reporter", "Reporter", {"type": "user", "system": "reporter"}, ["reporter"]),
    _field_entry("priority", "Priority", {"type": "priority", "system": "priority"}, ["priority"]),
    _field_entry("resolution", "Resolution", {"type": "resolution", "system": "resolution"}, ["resolution"]),
    _field_entry("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}, ["labels"]),
    _field_entry("created", "Created", {"type": "datetime", "system": "created"}, ["created", "createdDate"]),
    _field_entry("updated", "Updated", {"type": "datetime", "system": "updated"}, ["updated", "updatedDate"]),
    _field_entry(
        "resolutiondate",
        "Resolved",
        {"type": "datetime", "system": "resolutiondate"},
        ["resolutiondate", "resolved"],
    ),
    _field_entry(
        "issuekey", "Key", {"type": "string", "system": "issuekey"}, ["id", "issue", "issuekey", "key"]
    ),
    _field_entry(
        STORY_POINTS_FIELD,
        "Story point estimate",
        {
            "type": "number",
            "custom": "com.pyxis.greenhopper.jira:jsw-story-points",
            "customId": 10016,
        },
        ["cf[10016]", "Story point estimate"],
        custom=True,
    ),
    _field_entry(
        "customfield_10028",
        "Story Points",
        {
            "type": "number",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
            "customId": 10028,
        },
        ["cf[10028]", "Story Points"],
        custom=True,
    ),
]
"""What `GET field` answers: the system fields the emulator serves and two story-point fields."""
_ALL_FIELDS = frozenset(entry["id"] for entry in FIELD_CATALOGUE) - {"issuekey"}


# --- request parsing -----------------------------------------------------------------------------------
def _search_spec(request: Request) -> dict[str, Any]:
    """The search parameters, from the JSON body (POST) or the query string (GET)."""
    if request.method == "POST":
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            raise _Refused(400, "Unexpected character in the request body: it is not valid JSON.") from None
        if not isinstance(body, dict):
            raise _Refused(400, "The request body must be a JSON object.")
        return body
    spec: dict[str, Any] = {key: request.args.get(key) for key in request.args if key != "fields"}
    if "fields" in request.args:
        spec["fields"] = [part for value in request.args.getlist("fields") for part in value.split(",")]
    return spec


def _int_param(spec: Mapping[str, Any], name: str, default: int) -> int:
    value = spec.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _Refused(400, f"The '{name}' parameter must be a number, not '{value}'.") from None
    return number


def _field_selection(raw: Any) -> tuple[frozenset[str] | None, bool]:
    """(fields to render, None for all; whether only ids/keys were asked for)."""
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])
    names = [str(name).strip() for name in items if str(name).strip()]
    include: set[str] = set()
    everything = False
    for name in names:
        if name in ("*all", "*navigable"):
            everything = True
        elif not name.startswith("-") and name not in ("id", "key"):
            include.add(name)
    excluded = {name[1:] for name in names if name.startswith("-")}
    if everything:
        return frozenset(_ALL_FIELDS - excluded), False
    chosen = frozenset(include - excluded)
    return chosen, not chosen


def _make_token(jql: str, offset: int) -> str:
    raw = json.dumps({"q": _digest(jql)[:12], "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: Any, jql: str) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(str(token) + "=" * (-len(str(token)) % 4))
        spec = json.loads(raw)
        same_query = spec["q"] == _digest(jql)[:12]
        offset = int(spec["o"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        same_query, offset = False, 0
    if not same_query or offset < 0:
        raise _Refused(400, BAD_TOKEN_MESSAGE)
    return offset


# --- data ------------------------------------------------------------------------------------------------
def _generate_issues(org: SyntheticOrg, integration_account: str, seed: int | None) -> list[JiraIssue]:
    rng = random.Random((org.seed if seed is None else seed) * 7_368_787 + 11)
    home = {dept: p.key for p in PROJECTS for dept in p.departments}
    people = [e for e in people_rows(org) if e.division in ("Engineering", "Product")]
    drafts: list[tuple[str, str | None]] = []
    for person in people:
        own = home.get(person.department, "ENG")
        for _ in range(rng.randint(18, 42)):
            project = own if rng.random() < 0.8 else rng.choice(PROJECTS).key
            drafts.append((project, person.jira_account_id))
    drafts += [(rng.choice(PROJECTS).key, None) for _ in range(max(1, len(drafts) // 12))]
    drafts += [("ENG", integration_account) for _ in range(5)]
    reporters = [p.jira_account_id for p in people] or [integration_account]
    span = (ISSUES_UNTIL - ISSUES_SINCE).total_seconds()
    type_names, status_names, priority_names = list(ISSUE_TYPES), list(STATUSES), list(PRIORITIES)
    raw: list[dict[str, Any]] = []
    for project, assignee in drafts:
        created = ISSUES_SINCE + timedelta(seconds=rng.uniform(0, span))
        issue_type = rng.choices(type_names, cum_weights=(45, 70, 92, 100))[0]
        status = rng.choices(status_names, cum_weights=(20, 38, 45, 100))[0]
        updated = created + timedelta(seconds=rng.uniform(0, (ISSUES_UNTIL - created).total_seconds()))
        raw.append(
            {
                "project": project,
                "summary": f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)}",
                "issue_type": issue_type,
                "status": status,
                "priority": rng.choices(priority_names, cum_weights=(4, 20, 75, 95, 100))[0],
                "assignee": assignee,
                "reporter": rng.choice(reporters),
                "created": created,
                "updated": updated,
                "resolved": updated if status == "Done" else None,
                "labels": tuple(sorted(rng.sample(LABELS, rng.choice((0, 0, 1, 1, 2))))),
                "story_points": _story_points(rng, issue_type),
            }
        )
    raw.sort(key=lambda fields: fields["created"])
    numbers: dict[str, int] = {}
    issues = []
    for index, fields in enumerate(raw):
        numbers[fields["project"]] = numbers.get(fields["project"], 0) + 1
        issues.append(
            JiraIssue(id=10001 + index, key=f"{fields['project']}-{numbers[fields['project']]}", **fields)
        )
    return issues


def _story_points(rng: random.Random, issue_type: str) -> float | None:
    if issue_type == "Story":
        return float(rng.choice((1, 2, 3, 5, 8, 13))) if rng.random() < 0.85 else None
    if issue_type in ("Bug", "Task"):
        return rng.choice((0.5, 1.0, 2.0, 3.0)) if rng.random() < 0.4 else None
    return None
