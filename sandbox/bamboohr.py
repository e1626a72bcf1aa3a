"""A BambooHR API emulator serving a `SyntheticOrg`, quirks included.

Routes live under `/api/gateway.php/{company}/v1/`, as on `api.bamboohr.com`:

- `GET employees/directory`: active people only, `{"fields": [...], "employees": [...]}`;
- `POST reports/custom?format=JSON`: every person, active and inactive, with the requested
  fields; unknown fields are dropped without a word; `Content-Type` must be exactly
  `application/json` or the body is read as XML (400 "Malformed XML");
- `GET employees/changed?since=ISO[&type=inserted|updated|deleted]`: a *map* keyed by id;
- `GET employees/{id}?fields=a,b`: one person as a flat object;
- `GET meta/fields`: the field catalogue, custom fields included;
- custom tables (ratings write-back): `POST employees/{id}/tables/{table}` appends a row (200, empty
  body; 406 + error header for a value outside a list field's options or an unknown field; 404 for an
  unknown employee or table), `GET employees/{id|all}/tables/{table}` lists rows, `GET meta/tables`
  describes the tables. One table, `customPerformanceRatings`, exists by default.

Numbers are strings, empty dates `0000-00-00`, errors are empty bodies with the reason in the
`X-BambooHR-Error-Message` header (and its triple-s twin). HTTP Basic auth with the API key as
the username; an optional requests-per-second limit answers 429 with `Retry-After`.

`POST /_sandbox/mutate` changes the org from another process (benchmarks), and
`POST /_sandbox/rate_limit` sets the limit.

Example:
    ```python
    org = generate_org(1000, seed=7)
    app = BambooHREmulator(org, company="acme", api_key="k")
    with ServerThread(app) as server:
        base = f"{server.url}/api/gateway.php/acme/v1"
        httpx.post(f"{base}/reports/custom", params={"format": "JSON"}, auth=("k", "x"),
                   json={"title": "t", "fields": ["firstName", "supervisorEId"]})
    ```
"""

from __future__ import annotations

import hmac
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from typing_extensions import override
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.org import Employee, SyntheticOrg, people_rows
from sandbox.server import EmulatorApp, json_response

EMPTY_DATE = "0000-00-00"
ERROR_HEADERS = ("X-BambooHR-Error-Message", "X-BambooHR-Error-Messsage")
"""BambooHR's error header, and the triple-s spelling its help pages document; both are sent."""

Getter = Callable[[Employee, Employee | None], Any]


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One BambooHR field: alias, numeric id, display name, type and how to read it off an employee."""

    alias: str
    number: int
    name: str
    type: str
    get: Getter


def _date(value: date | None) -> str:
    return value.isoformat() if value else EMPTY_DATE


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _employee_number(employee_id: str) -> str:
    # Distinct from the id on purpose: `supervisorId` is an employee *number*, a classic mix-up.
    return str(int(employee_id) + 9000)


FIELDS: tuple[FieldDef, ...] = (
    FieldDef("id", 1000, "Employee ID", "int", lambda e, m: e.employee_id),
    FieldDef("employeeNumber", 1, "Employee #", "text", lambda e, m: _employee_number(e.employee_id)),
    FieldDef("firstName", 4, "First Name", "text", lambda e, m: e.first_name),
    FieldDef("lastName", 5, "Last Name", "text", lambda e, m: e.last_name),
    FieldDef("preferredName", 1280, "Preferred Name", "text", lambda e, m: None),
    FieldDef("displayName", 1358, "Display Name", "text", lambda e, m: e.display_name),
    FieldDef("workEmail", 15, "Work Email", "email", lambda e, m: e.email),
    FieldDef("jobTitle", 17, "Job Title", "list", lambda e, m: e.title),
    FieldDef("department", 4004, "Department", "list", lambda e, m: e.department),
    FieldDef("division", 4005, "Division", "list", lambda e, m: e.division),
    FieldDef("location", 18, "Location", "list", lambda e, m: e.location),
    FieldDef("supervisorEId", 1360, "Supervisor EID", "int", lambda e, m: m.employee_id if m else None),
    FieldDef(
        "supervisorId",
        1359,
        "Supervisor ID",
        "int",
        lambda e, m: _employee_number(m.employee_id) if m else None,
    ),
    FieldDef("supervisor", 1610, "Supervisor", "employee", lambda e, m: m.display_name if m else None),
    FieldDef("supervisorEmail", 1611, "Supervisor email", "email", lambda e, m: m.email if m else None),
    FieldDef("status", 1614, "Status", "status", lambda e, m: e.status),
    FieldDef("employmentHistoryStatus", 1615, "Employment Status", "list", lambda e, m: e.employment_status),
    FieldDef("hireDate", 1613, "Hire Date", "date", lambda e, m: _date(e.hire_date)),
    FieldDef("terminationDate", 1612, "Termination Date", "date", lambda e, m: _date(e.termination_date)),
    FieldDef("customCostCenter", 4001, "Cost Center", "list", lambda e, m: e.cost_centre),
    FieldDef("customJobLevel", 4002, "Job Level", "list", lambda e, m: e.job_level),
    FieldDef("customSalesforceUserId", 4003, "Salesforce User ID", "text", lambda e, m: e.salesforce_user_id),
    FieldDef("customJiraAccountId", 4006, "Jira Account ID", "text", lambda e, m: e.jira_account_id),
    FieldDef("lastChanged", 1609, "Last Changed", "timestamp", lambda e, m: _timestamp(e.last_changed)),
)
"""The fields reports can ask for, by alias; a numeric id (as text) works too."""


@dataclass(frozen=True, slots=True)
class TableField:
    """One field of a custom table; `options` lists the allowed values of a list field."""

    alias: str
    number: int
    name: str
    type: str
    options: tuple[str, ...] | None = None


RATING_OPTIONS: tuple[str, ...] = ("Below", "Partially meets", "Meets", "Exceeds", "Outstanding")
"""The default options of the ratings table's list field."""


def ratings_table(options: tuple[str, ...] = RATING_OPTIONS) -> tuple[TableField, ...]:
    """The fields of the default `customPerformanceRatings` table."""
    return (
        TableField("customReviewCycle", 4501, "Review Cycle", "text"),
        TableField("customRating", 4502, "Rating", "list", options),
        TableField("customRatingDate", 4503, "Rating Date", "date"),
        TableField("customRatingComment", 4504, "Rating Comment", "textarea"),
    )


_BY_NAME: dict[str, FieldDef] = {f.alias: f for f in FIELDS} | {str(f.number): f for f in FIELDS}

DIRECTORY_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("displayName", "text", "Display name"),
    ("firstName", "text", "First name"),
    ("lastName", "text", "Last name"),
    ("preferredName", "text", "Preferred name"),
    ("jobTitle", "list", "Job title"),
    ("workPhone", "text", "Work Phone"),
    ("mobilePhone", "text", "Mobile Phone"),
    ("workEmail", "email", "Work Email"),
    ("department", "list", "Department"),
    ("location", "list", "Location"),
    ("division", "list", "Division"),
    ("linkedIn", "text", "LinkedIn URL"),
    ("pronouns", "list", "Pronouns"),
    ("workPhoneExtension", "text", "Work Ext."),
    ("supervisor", "employee", "Manager"),
    ("photoUploaded", "bool", "Employee photo"),
    ("photoUrl", "url", "Photo URL"),
    ("canUploadPhoto", "bool", "Can upload photo"),
)


class _BadRequest(Exception):
    """A request the real API answers with an error status; carries the header text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RateLimiter:
    """A sliding one-second window; `None` turns limiting off."""

    def __init__(self, per_second: float | None = None) -> None:
        self.per_second = per_second
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def wait_needed(self) -> float:
        """0 when this request may pass (and count it), else the seconds until one may."""
        if not self.per_second:
            return 0.0
        now = time.monotonic()
        with self._lock:
            while self._hits and self._hits[0] <= now - 1.0:
                self._hits.popleft()
            if len(self._hits) < self.per_second:
                self._hits.append(now)
                return 0.0
            return self._hits[0] + 1.0 - now


class BambooHREmulator(EmulatorApp):
    """BambooHR's v1 API over a synthetic org (see the module docstring for routes and quirks).

    Args:
        org: the company to serve; changes to it show at once.
        company: the company domain in the URL path.
        api_key: the one API key accepted (as the Basic-auth username).
        rate_limit_per_second: requests per second before answering 429; None for no limit.
        tables: custom tables by alias (default: `customPerformanceRatings`).
    """

    name = "bamboohr"

    def __init__(
        self,
        org: SyntheticOrg,
        *,
        company: str = "acme",
        api_key: str = "sandbox-bamboohr-key",
        rate_limit_per_second: float | None = None,
        tables: Mapping[str, tuple[TableField, ...]] | None = None,
    ) -> None:
        self.org = org
        self.company = company
        self.api_key = api_key
        self.limiter = RateLimiter(rate_limit_per_second)
        self.tables: dict[str, tuple[TableField, ...]] = dict(
            tables if tables is not None else {"customPerformanceRatings": ratings_table()}
        )
        self.table_rows: dict[str, list[dict[str, str]]] = {name: [] for name in self.tables}
        self._next_row = 1
        super().__init__()

    @override
    def rules(self) -> Iterable[Rule]:
        """The BambooHR routes, plus `/_sandbox/<action>` for `admin`."""
        base = "/api/gateway.php/<company>/v1"
        return (
            Rule(f"{base}/employees/directory", endpoint="directory", methods=["GET"]),
            Rule(f"{base}/employees/changed", endpoint="changed", methods=["GET"]),
            Rule(f"{base}/employees/<employee_id>", endpoint="employee", methods=["GET"]),
            Rule(f"{base}/employees/<employee_id>/tables/<table>", endpoint="table_add", methods=["POST"]),
            Rule(f"{base}/employees/<employee_id>/tables/<table>", endpoint="table_rows", methods=["GET"]),
            Rule(f"{base}/meta/tables", endpoint="meta_tables", methods=["GET"]),
            Rule(f"{base}/reports/custom", endpoint="custom_report", methods=["POST"]),
            Rule(f"{base}/meta/fields", endpoint="meta_fields", methods=["GET"]),
            Rule("/_sandbox/<action>", endpoint="sandbox_admin", methods=["GET", "POST"]),
        )

    # --- errors and guards -----------------------------------------------------------------------
    @staticmethod
    def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        """An error as BambooHR sends it: empty body, the reason in the error headers."""
        response = Response(b"", status=status, headers=dict(headers or {}))
        for header in ERROR_HEADERS:
            response.headers[header] = message
        return response

    @override
    def http_error(self, request: Request, exc: HTTPException) -> Response:
        """Unknown URL or method: BambooHR answers 404 for both, with an empty body."""
        return self.error(404, f"No route for {request.method} {request.path}")

    def _guard(self, request: Request, company: str, *, json_accept: bool = True) -> Response | None:
        wait = self.limiter.wait_needed()
        if wait > 0:
            return self.error(429, "Rate limit exceeded", {"Retry-After": str(max(1, math.ceil(wait)))})
        auth = request.authorization
        username = auth.username if auth is not None and auth.type == "basic" else None
        if not username or not hmac.compare_digest(username.encode(), self.api_key.encode()):
            return self.error(401, "Invalid API key or the key is missing")
        if company != self.company:
            return self.error(404, f"Company {company!r} not found")
        if json_accept and request.headers.get("Accept", "").strip() != "application/json":
            # The real API answers XML unless asked exactly for JSON; the emulator only speaks JSON.
            return self.error(404, "Unsupported Accept header; the emulator serves application/json only")
        return None

    # --- routes ----------------------------------------------------------------------------------
    def on_directory(self, request: Request, company: str) -> Response:
        """`GET employees/directory`: active employees with the directory's fixed keys."""
        if (refused := self._guard(request, company)) is not None:
            return refused
        with self.org.lock:
            people = [e for e in people_rows(self.org) if e.is_active]
            managers = self.org.employees
            employees = [_directory_entry(e, managers.get(e.manager_id or "")) for e in people]
        if not employees:
            return self.error(404, "No employees in the directory")
        fields = [{"id": key, "type": kind, "name": name} for key, kind, name in DIRECTORY_FIELDS]
        return json_response({"fields": fields, "employees": employees})

    def on_custom_report(self, request: Request, company: str) -> Response:
        """`POST reports/custom?format=JSON`: every person (active and inactive), requested fields only."""
        if (refused := self._guard(request, company, json_accept=False)) is not None:
            return refused
        if request.args.get("format", "").upper() != "JSON":
            return self.error(404, "Unsupported format; the emulator serves format=JSON only")
        if request.headers.get("Content-Type", "").strip() != "application/json":
            return self.error(400, "Malformed XML")
        try:
            spec = json.loads(request.get_data())
            title, fields, wanted = _report_spec(spec)
            ids, changed_after = _report_filters(spec.get("filters") or {})
        except _BadRequest as exc:
            return self.error(exc.status, exc.message)
        except (ValueError, AttributeError):
            return self.error(400, "Malformed JSON request body")
        body = self._report_body(title, fields, wanted, ids, changed_after)
        return Response(body, status=200, content_type="application/json")

    def _report_body(
        self,
        title: str,
        fields: list[dict[str, str]],
        wanted: list[tuple[str, Getter]],
        ids: list[str] | None,
        changed_after: datetime | None,
    ) -> bytes:
        with self.org.lock:
            everyone = self.org.employees
            people = people_rows(self.org, ids)
            if changed_after is not None:
                people = [e for e in people if e.last_changed >= changed_after]
            # One comprehension, the manager looked up once per person: 100k rows in well under a second.
            rows = [
                {"id": e.employee_id, **{key: get(e, manager) for key, get in wanted}}
                for e in people
                for manager in (everyone.get(e.manager_id or ""),)
            ]
        return json.dumps(
            {"title": title, "fields": fields, "employees": rows}, separators=(",", ":")
        ).encode()

    def on_changed(self, request: Request, company: str) -> Response:
        """`GET employees/changed?since=`: a map of id to `{id, action, lastChanged}`."""
        if (refused := self._guard(request, company)) is not None:
            return refused
        raw_since = request.args.get("since")
        if not raw_since:
            return self.error(400, "Missing required parameter: since")
        try:
            since = _parse_timestamp(raw_since)
        except ValueError:
            return self.error(400, f"Invalid since parameter {raw_since!r}; send ISO 8601 with + as %2B")
        kind = request.args.get("type", "").lower()
        if kind not in ("", "inserted", "updated", "deleted"):
            return self.error(400, f"Invalid type {kind!r}")
        changes = [c for c in self.org.changed_since(since) if not kind or c[1].lower() == kind]
        employees = {
            employee_id: {"id": employee_id, "action": action, "lastChanged": _timestamp(when)}
            for employee_id, action, when in sorted(changes, key=lambda c: (c[2], int(c[0])))
        }
        latest = max((when for _, _, when in changes), default=since)
        return json_response({"latest": _timestamp(latest), "employees": employees})

    def on_employee(self, request: Request, company: str, employee_id: str) -> Response:
        """`GET employees/{id}?fields=`: one person's requested fields as a flat object."""
        if (refused := self._guard(request, company)) is not None:
            return refused
        names = [n for n in request.args.get("fields", "firstName,lastName").split(",") if n.strip()]
        with self.org.lock:
            emp = self.org.employees.get(employee_id)
            if emp is None:
                return self.error(404, f"Employee {employee_id} not found")
            manager = self.org.employees.get(emp.manager_id or "")
            row = {"id": emp.employee_id} | {
                n.strip(): _BY_NAME[n.strip()].get(emp, manager) for n in names if n.strip() in _BY_NAME
            }
        return json_response(row)

    def on_meta_fields(self, request: Request, company: str) -> Response:
        """`GET meta/fields`: every field with its numeric id, name, type and alias."""
        if (refused := self._guard(request, company)) is not None:
            return refused
        return json_response(
            [{"id": f.number, "name": f.name, "type": f.type, "alias": f.alias} for f in FIELDS]
        )

    def rows_of(self, table: str, employee_id: str | None = None) -> list[dict[str, str]]:
        """The rows of a custom table (one employee's, or everyone's), for tests and benchmarks."""
        with self.org.lock:
            rows = self.table_rows.get(table, [])
            return [dict(r) for r in rows if employee_id is None or r["employeeId"] == employee_id]

    def on_table_add(self, request: Request, company: str, employee_id: str, table: str) -> Response:
        """`POST employees/{id}/tables/{table}`: append one row; 200 with an empty body."""
        if (refused := self._guard(request, company, json_accept=False)) is not None:
            return refused
        try:
            values = json.loads(request.get_data())
        except ValueError:
            return self.error(400, "Malformed JSON request body")
        if not isinstance(values, dict) or not values:
            return self.error(400, "The request body must be a JSON object of field values")
        with self.org.lock:
            if employee_id not in self.org.employees:
                return self.error(404, f"Employee {employee_id} not found")
            fields = self.tables.get(table)
            if fields is None:
                return self.error(404, f"Table {table!r} not found")
            known = {f.alias: f for f in fields} | {str(f.number): f for f in fields}
            row: dict[str, str] = {}
            for name, value in values.items():
                field_def = known.get(str(name))
                if field_def is None:
                    return self.error(406, f"Field {name!r} does not exist in table {table!r}")
                text = "" if value is None else str(value)
                if field_def.options is not None and text and text not in field_def.options:
                    return self.error(
                        406,
                        f"Invalid value {text!r} for field {field_def.alias} ({field_def.name}); "
                        f"allowed values: {', '.join(field_def.options)}",
                    )
                row[field_def.alias] = text
            self.table_rows[table].append({"id": str(self._next_row), "employeeId": employee_id, **row})
            self._next_row += 1
        return Response(b"", status=200)

    def on_table_rows(self, request: Request, company: str, employee_id: str, table: str) -> Response:
        """`GET employees/{id|all}/tables/{table}`: the table's rows as a JSON array."""
        if (refused := self._guard(request, company)) is not None:
            return refused
        if table not in self.tables:
            return self.error(404, f"Table {table!r} not found")
        if employee_id != "all" and employee_id not in self.org.employees:
            return self.error(404, f"Employee {employee_id} not found")
        return json_response(self.rows_of(table, None if employee_id == "all" else employee_id))

    def on_meta_tables(self, request: Request, company: str) -> Response:
        """`GET meta/tables`: every custom table with its fields."""
        if (refused := self._guard(request, company)) is not None:
            return refused
        return json_response(
            [
                {
                    "alias": alias,
                    "fields": [
                        {"id": f.number, "name": f.name, "alias": f.alias, "type": f.type} for f in fields
                    ],
                }
                for alias, fields in self.tables.items()
            ]
        )

    def on_sandbox_admin(self, request: Request, action: str) -> Response:
        """Route `/_sandbox/<action>` to `admin`."""
        return self.admin(request, action)

    # --- the sandbox's own admin API ---------------------------------------------------------------
    @override
    def admin(self, request: Request, action: str) -> Response:
        """`POST /_sandbox/mutate`, `POST /_sandbox/rate_limit`, `GET /_sandbox/org`.

        mutate takes any of `{"change_ratio": 0.01, "seed": 1}`, `{"terminate": ["1042"]}`,
        `{"rehire": [...]}`, `{"delete": [...]}` and `{"hire": ["<manager id>", ...]}` (one new
        report per entry) and answers `{"changed": [ids...]}`. rate_limit takes
        `{"per_second": 5}` (null turns it off).
        """
        try:
            if action == "mutate" and request.method == "POST":
                return json_response({"changed": self.apply_mutation(request.get_json(force=True))})
            if action == "rate_limit" and request.method == "POST":
                value = request.get_json(force=True).get("per_second")
                self.limiter.per_second = float(value) if value is not None else None
                return json_response({"per_second": self.limiter.per_second})
            if action == "org" and request.method == "GET":
                with self.org.lock:
                    active = sum(1 for e in self.org.employees.values() if e.is_active)
                    size = len(self.org.employees)
                return json_response({"size": size, "active": active, "clock": _timestamp(self.org.clock)})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)
        return json_response({"error": f"unknown sandbox action {request.method} {action!r}"}, status=404)

    def apply_mutation(self, spec: Mapping[str, Any]) -> list[str]:
        """Apply a mutate spec (see `admin`) to the org; return the ids changed, in id order."""
        known = {"change_ratio", "seed", "terminate", "rehire", "delete", "hire"}
        if unknown := set(spec) - known:
            raise ValueError(f"unknown mutate keys {sorted(unknown)}; use {sorted(known)}")
        changed: set[str] = set()
        with self.org.lock:
            for key in ("terminate", "rehire", "delete", "hire"):
                for employee_id in spec.get(key, ()):
                    if str(employee_id) not in self.org.employees:
                        raise KeyError(f"no employee {employee_id} to {key}")
            if spec.get("change_ratio"):
                changed.update(self.org.mutate(float(spec["change_ratio"]), seed=spec.get("seed")))
            for employee_id in map(str, spec.get("terminate", ())):
                changed.add(self.org.terminate(employee_id).employee_id)
            for employee_id in map(str, spec.get("rehire", ())):
                changed.add(self.org.rehire(employee_id).employee_id)
            for employee_id in map(str, spec.get("delete", ())):
                self.org.delete(employee_id)
                changed.add(employee_id)
            for manager_id in map(str, spec.get("hire", ())):
                changed.add(self.org.hire(manager_id).employee_id)
        return sorted(changed, key=int)


def _parse_timestamp(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _report_spec(spec: Any) -> tuple[str, list[dict[str, str]], list[tuple[str, Getter]]]:
    if not isinstance(spec, dict) or not isinstance(spec.get("fields"), list):
        raise _BadRequest(400, "The request body must name the report's fields")
    names = [str(name) for name in spec["fields"]][:400]
    known = list(dict.fromkeys(name for name in names if name in _BY_NAME))  # unknown ones: silently dropped
    fields = [{"id": name, "type": _BY_NAME[name].type, "name": _BY_NAME[name].name} for name in known]
    wanted = [(name, _BY_NAME[name].get) for name in known if name != "id"]
    return str(spec.get("title") or "Report"), fields, wanted


def _report_filters(filters: Any) -> tuple[list[str] | None, datetime | None]:
    if not isinstance(filters, dict):
        raise _BadRequest(400, "filters must be an object")
    ids = filters.get("employeeIds")
    if ids is not None and not isinstance(ids, list):
        raise _BadRequest(400, "filters.employeeIds must be a list")
    last_changed = filters.get("lastChanged")
    after = None
    if isinstance(last_changed, dict) and last_changed.get("value"):
        try:
            after = _parse_timestamp(str(last_changed["value"]))
        except ValueError:
            raise _BadRequest(400, f"Invalid lastChanged value {last_changed['value']!r}") from None
    return ([str(i) for i in ids] if ids is not None else None), after


def _directory_entry(emp: Employee, manager: Employee | None) -> dict[str, Any]:
    return {
        "id": emp.employee_id,
        "displayName": emp.display_name,
        "firstName": emp.first_name,
        "lastName": emp.last_name,
        "preferredName": None,
        "jobTitle": emp.title,
        "workPhone": None,
        "mobilePhone": None,
        "workEmail": emp.email,
        "department": emp.department,
        "location": emp.location,
        "division": emp.division,
        "linkedIn": None,
        "pronouns": None,
        "workPhoneExtension": None,
        "supervisor": manager.display_name if manager else None,
        "photoUploaded": False,
        "photoUrl": f"https://images.bamboohr.example/photos/{emp.employee_id}.jpg",
        "canUploadPhoto": 1,
    }
