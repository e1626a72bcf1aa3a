"""A loopback Workday: OAuth2 refresh-token exchange, REST workers and supervisory orgs, and RaaS.

It serves the synthetic company in the shapes the connector reads (see `VENDOR_APIS.md` §2):

- `POST /ccx/oauth2/{tenant}/token`: `grant_type=refresh_token`, client credentials as HTTP Basic
  or form fields; OAuth error bodies (`invalid_client`, `invalid_grant`) on refusal;
- REST Common v1 under `/ccx/api/v1/{tenant}` (and `/ccx/api/common/v1/{tenant}`, since tenants
  differ): `workers`, `workers/{id}`, `workers/{id}/directReports`, `supervisoryOrganizations`,
  `supervisoryOrganizations/{id}`; `limit` defaults to 20 and may not exceed 100; the collection
  lists active workers only; errors are `{"error", "errors": [{"error", "field", "location"}]}`;
- RaaS `GET /ccx/service/customreport2/{tenant}/{owner}/{report}?format=json[&Updated_From=ISO]`:
  `{"Report_Entry": [...]}` with every worker, terminated ones included, empty values omitted;
- SOAP `POST /ccx/service/{tenant}/Performance_Management/v{NN.N}` (Bearer auth):
  `Update_Employee_Review_Rating_Request` stores one rating per (employee, review type, period) and
  echoes it (plus the review's WID); `Get_Employee_Reviews_Request` lists stored reviews (criteria:
  employees, review type, period; paged by `Response_Filter/Page`, `Count`); an unknown employee or
  rating value is a SOAP validation fault (HTTP 500, `SOAP-ENV:Client.validationError`).
  `rating_writes` counts every stored write, so tests can prove a rating was sent once;
- a custom object on workers (`.../workers/{worker}/customObjects/{alias}` under each REST prefix,
  and a RaaS report of every instance) for ratings kept outside reviews: see
  `sandbox/workday_custom_objects.py`; `custom_objects.writes` counts its stored writes.

Supervisory organizations are modelled the way Workday has them: every manager manages one org and
sits in it; the people reporting to them are members of it. The org of a department's manager
carries the department's key and name; other managers get a team org named after them. Each org's
superior is the org of its manager's manager, so "manager of my org, or of the superior org when I
manage my own" gives back exactly the synthetic `manager_id`.

The Common v1 Swagger lists no superior-org field on supervisory orgs; public derived schemas
call it `superiorOrganization`, which this emulator serves (UNVERIFIED against a tenant).

Example:
    ```python
    app = WorkdayEmulator(org)
    with ServerThread(app) as server:
        token = httpx.post(
            f"{server.url}/ccx/oauth2/acme/token",
            auth=("okrhub-sandbox", "sandbox-workday-secret"),
            data={"grant_type": "refresh_token", "refresh_token": "sandbox-workday-refresh"},
        ).json()["access_token"]
        app.expire_tokens()  # the next call with that token gets 401 invalid_token
    ```
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from lxml import etree  # type: ignore[import-untyped]
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.org import Employee, SyntheticOrg
from sandbox.server import EmulatorApp, json_response
from sandbox.workday_custom_objects import CustomObjectDefinition, CustomObjectStore

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
BSVC = "urn:com.workday/bsvc"
RATING_IDS: tuple[str, ...] = (
    "Below_Expectations",
    "Partially_Meets_Expectations",
    "Meets_Expectations",
    "Exceeds_Expectations",
    "Outstanding",
)
"""The `Review_Rating_ID`s the emulated tenant knows."""
_MAX_PAGE_COUNT = 999

REST_PREFIXES = ("/ccx/api/v1", "/ccx/api/common/v1")
"""Where the REST surface answers; the connector's `rest_prefix` picks one."""
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class SupOrg:
    """One supervisory organization as the emulator serves it."""

    wid: str
    ref_id: str
    name: str
    manager_id: str
    superior_wid: str | None


@dataclass(slots=True)
class OrgIndex:
    """The supervisory-org view of one state of the synthetic company."""

    orgs: dict[str, SupOrg] = field(default_factory=dict)
    org_of_manager: dict[str, str] = field(default_factory=dict)
    primary: dict[str, str] = field(default_factory=dict)
    everyone: list[Employee] = field(default_factory=list)
    active: list[Employee] = field(default_factory=list)
    by_wid: dict[str, Employee] = field(default_factory=dict)
    by_id: dict[str, Employee] = field(default_factory=dict)
    reports: dict[str, list[Employee]] = field(default_factory=dict)


def _wid(*parts: object) -> str:
    return hashlib.md5("/".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def build_index(org: SyntheticOrg) -> OrgIndex:
    """The supervisory orgs, primary orgs and lookups of `org` as it is now."""
    index = OrgIndex()
    with org.lock:
        people = sorted(org.employees.values(), key=lambda e: int(e.employee_id))
        departments = list(org.departments.values())
    index.everyone = people
    index.active = [e for e in people if e.is_active]
    employees = index.by_id = {e.employee_id: e for e in people}
    index.by_wid = {e.workday_id: e for e in people}
    for emp in index.active:
        if emp.manager_id:
            index.reports.setdefault(emp.manager_id, []).append(emp)
    managed_dept = {d.manager_id: d for d in reversed(departments) if d.manager_id in employees}
    managers = {e.manager_id for e in people if e.manager_id in employees} | set(managed_dept)
    for manager_id in sorted(managers, key=int):
        dept = managed_dept.get(manager_id)
        manager = employees[manager_id]
        if dept is not None:
            wid, ref_id, name = dept.workday_id, dept.key, dept.name
        else:
            wid = _wid("suporg", manager_id)
            ref_id = f"{manager.department_key}-{manager_id}"
            name = f"{manager.department} ({manager.display_name})"
        index.org_of_manager[manager_id] = wid
        index.orgs[wid] = SupOrg(wid, ref_id, name, manager_id, None)
    for wid, sup in list(index.orgs.items()):
        boss = employees[sup.manager_id].manager_id
        superior = index.org_of_manager.get(boss) if boss else None
        index.orgs[wid] = SupOrg(sup.wid, sup.ref_id, sup.name, sup.manager_id, superior)
    dept_org = {d.key: index.org_of_manager[d.manager_id] for d in departments if d.manager_id in managers}
    for emp in people:
        primary = index.org_of_manager.get(emp.employee_id)
        if primary is None and emp.manager_id:
            primary = index.org_of_manager.get(emp.manager_id)
        if primary is None:
            primary = dept_org.get(emp.department_key)
        if primary is not None:
            index.primary[emp.employee_id] = primary
    return index


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _compact(row: dict[str, Any]) -> dict[str, Any]:
    """`row` without empty values: Workday omits them in RaaS and REST bodies alike."""
    return {key: value for key, value in row.items() if value is not None and value != ""}


def parse_instant(text: str) -> datetime:
    """An ISO date or date-time (`Z`, an offset, or naive meaning UTC) as an aware datetime."""
    value = text.strip()
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _rest_error(
    status: int, message: str, *, field_name: str | None = None, location: str | None = None
) -> Response:
    where = location or ("query" if field_name else None)
    errors = [_compact({"error": message, "field": field_name, "location": where})]
    return json_response({"error": message, "errors": errors}, status=status)


def _oauth_error(status: int, error: str, description: str) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="workday"'} if error == "invalid_client" else None
    return json_response({"error": error, "error_description": description}, status=status, headers=headers)


class WorkdayEmulator(EmulatorApp):
    """Workday's OAuth token endpoint, REST Common v1 workers/orgs and one RaaS report, over one org.

    Example:
        ```python
        app = WorkdayEmulator(generate_org(200), report_name="okrhub_workers")
        with ServerThread(app) as server:
            app.faults.inject(Fault(kind="expire_token", after=2))
            ...  # the 3rd request finds every issued token revoked
        ```
    """

    name = "workday"

    def __init__(
        self,
        org: SyntheticOrg,
        *,
        tenant: str = "acme",
        client_id: str = "okrhub-sandbox",
        client_secret: str = "sandbox-workday-secret",  # noqa: S107 - a sandbox fixture, not a secret
        refresh_token: str = "sandbox-workday-refresh",  # noqa: S107
        report_owner: str = "isu_okrhub",
        report_name: str = "okrhub_workers",
        token_ttl_seconds: int = 3600,
        rating_ids: tuple[str, ...] = RATING_IDS,
        custom_object: CustomObjectDefinition | None = None,
    ) -> None:
        self.org = org
        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.report_owner = report_owner
        self.report_name = report_name
        self.token_ttl_seconds = token_ttl_seconds
        self.tokens_issued = 0
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self._index: tuple[tuple[object, ...], OrgIndex] | None = None
        self.rating_ids = rating_ids
        self.reviews: dict[tuple[str, str, str, str], dict[str, str]] = {}
        """Stored reviews by (employee id, review type id, period start, period end)."""
        self.rating_writes: list[tuple[str, str]] = []
        """(employee id, rating id) of every write stored, duplicates included."""
        self.custom_objects = CustomObjectStore(
            custom_object or CustomObjectDefinition(), lambda: self.rating_ids
        )
        """The ratings custom object on workers; its values are checked against `rating_ids`."""
        super().__init__()

    # --- routing and plumbing ---------------------------------------------------------------------
    def rules(self) -> Iterable[Rule]:
        """Token, REST and RaaS routes."""
        yield Rule("/ccx/oauth2/<tenant>/token", endpoint="token", methods=["POST"])
        for prefix in REST_PREFIXES:
            base = f"{prefix}/<tenant>"
            defaults = {"prefix": prefix}
            yield Rule(f"{base}/workers", endpoint="workers", methods=["GET"], defaults=defaults)
            yield Rule(f"{base}/workers/<worker_id>", endpoint="worker", methods=["GET"], defaults=defaults)
            yield Rule(
                f"{base}/workers/<worker_id>/directReports",
                endpoint="direct_reports",
                methods=["GET"],
                defaults=defaults,
            )
            yield Rule(
                f"{base}/supervisoryOrganizations", endpoint="orgs", methods=["GET"], defaults=defaults
            )
            yield Rule(
                f"{base}/supervisoryOrganizations/<org_id>",
                endpoint="sup_org",
                methods=["GET"],
                defaults=defaults,
            )
            objects = f"{base}/workers/<worker_id>/customObjects/<alias>"
            yield Rule(objects, endpoint="custom_objects", methods=["GET", "POST", "PUT"], defaults=defaults)
            yield Rule(
                f"{objects}/<instance_id>",
                endpoint="custom_object",
                methods=["GET", "PATCH"],
                defaults=defaults,
            )
        yield Rule("/ccx/service/customreport2/<tenant>/<owner>/<report>", endpoint="report", methods=["GET"])
        yield Rule(
            "/ccx/service/<tenant>/Performance_Management/<version>", endpoint="performance", methods=["POST"]
        )

    def http_error(self, request: Request, exc: HTTPException) -> Response:
        """Routing errors in Workday's REST error shape."""
        return _rest_error(exc.code or 500, exc.description or exc.name or "error")

    def expire_tokens(self) -> None:
        """Revoke every access token issued so far (the `expire_token` fault)."""
        with self._lock:
            self._tokens.clear()

    def index(self) -> OrgIndex:
        """The supervisory-org view of the org, rebuilt whenever the org changed."""
        with self.org.lock:
            key = (self.org.clock, len(self.org.employees), len(self.org.departments), len(self.org.deleted))
        cached = self._index
        if cached is not None and cached[0] == key:
            return cached[1]
        index = build_index(self.org)
        self._index = (key, index)
        return index

    def _authorize(self, request: Request, tenant: str) -> Response | None:
        if tenant != self.tenant:
            return _rest_error(404, f"tenant `{tenant}` does not exist", location="path")
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return self._invalid_token("no bearer token in the Authorization header")
        with self._lock:
            expiry = self._tokens.get(token.strip())
            if expiry is not None and expiry < time.monotonic():
                del self._tokens[token.strip()]
                expiry = None
        if expiry is None:
            return self._invalid_token("the access token is invalid or has expired")
        return None

    @staticmethod
    def _invalid_token(description: str) -> Response:
        return json_response(
            {"error": "invalid_token", "error_description": description},
            status=401,
            headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
        )

    # --- OAuth --------------------------------------------------------------------------------------
    def on_token(self, request: Request, tenant: str) -> Response:
        """Exchange the refresh token for an access token."""
        if tenant != self.tenant:
            return _oauth_error(404, "invalid_request", f"tenant `{tenant}` does not exist")
        form = request.form
        if form.get("grant_type") != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", "grant_type must be refresh_token")
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, client_secret = auth.username, auth.password
        else:
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if not client_id or not client_secret:
            return _oauth_error(401, "invalid_client", "client authentication is missing")
        if not (
            secrets.compare_digest(client_id, self.client_id)
            and secrets.compare_digest(client_secret, self.client_secret)
        ):
            return _oauth_error(401, "invalid_client", "unknown client or wrong client secret")
        if not secrets.compare_digest(form.get("refresh_token", ""), self.refresh_token):
            return _oauth_error(400, "invalid_grant", "the refresh token is invalid, expired or revoked")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl_seconds
            self.tokens_issued += 1
        return json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl_seconds}
        )

    # --- REST ----------------------------------------------------------------------------------------
    def _paging(self, request: Request) -> tuple[int, int] | Response:
        values: dict[str, int] = {}
        for name, default in (("limit", DEFAULT_LIMIT), ("offset", 0)):
            raw = request.args.get(name)
            try:
                values[name] = default if raw is None or raw == "" else int(raw)
            except ValueError:
                return _rest_error(
                    400, f"invalid value for {name}: {raw!r} is not an integer", field_name=name
                )
        if not 1 <= values["limit"] <= MAX_LIMIT:
            return _rest_error(
                400,
                f"invalid value for limit: {values['limit']}; must be between 1 and {MAX_LIMIT}",
                field_name="limit",
                location="query",
            )
        if values["offset"] < 0:
            return _rest_error(400, "invalid value for offset: must be zero or more", field_name="offset")
        return values["limit"], values["offset"]

    def _ref(self, request: Request, prefix: str, resource: str, wid: str, descriptor: str) -> dict[str, str]:
        href = f"{request.host_url.rstrip('/')}{prefix}/{self.tenant}/{resource}/{wid}"
        return {"id": wid, "descriptor": descriptor, "href": href}

    def _worker(self, request: Request, prefix: str, emp: Employee, index: OrgIndex) -> dict[str, Any]:
        primary = index.orgs.get(index.primary.get(emp.employee_id, ""))
        return _compact(
            {
                **self._ref(request, prefix, "workers", emp.workday_id, emp.display_name),
                "primaryWorkEmail": emp.email,
                "businessTitle": emp.title,
                "isManager": emp.employee_id in index.org_of_manager,
                "primarySupervisoryOrganization": (
                    self._ref(request, prefix, "supervisoryOrganizations", primary.wid, primary.name)
                    if primary
                    else None
                ),
                "location": {"id": _wid("location", emp.location), "descriptor": emp.location}
                if emp.location
                else None,
            }
        )

    def _sup_org(self, request: Request, prefix: str, sup: SupOrg, index: OrgIndex) -> dict[str, Any]:
        manager = index.by_id.get(sup.manager_id)
        superior = index.orgs.get(sup.superior_wid or "")
        base = f"{request.host_url.rstrip('/')}{prefix}/{self.tenant}"
        return _compact(
            {
                **self._ref(request, prefix, "supervisoryOrganizations", sup.wid, sup.name),
                "name": sup.name,
                "code": sup.ref_id,
                "manager": (
                    self._ref(request, prefix, "workers", manager.workday_id, manager.display_name)
                    if manager is not None and manager.is_active
                    else None
                ),
                "workers": f"{base}/supervisoryOrganizations/{sup.wid}/workers",
                "superiorOrganization": (
                    self._ref(request, prefix, "supervisoryOrganizations", superior.wid, superior.name)
                    if superior
                    else None
                ),
            }
        )

    def _find_worker(self, worker_id: str, index: OrgIndex) -> Employee | None:
        if worker_id.startswith("Employee_ID="):
            emp = index.by_id.get(worker_id.removeprefix("Employee_ID="))
        else:
            emp = index.by_wid.get(worker_id)
        return emp if emp is not None and emp.is_active else None

    def on_workers(self, request: Request, tenant: str, prefix: str) -> Response:
        """One page of active workers."""
        return self._collection(request, tenant, prefix, lambda index: index.active, self._worker)

    def on_direct_reports(self, request: Request, tenant: str, prefix: str, worker_id: str) -> Response:
        """One page of a worker's active direct reports."""
        denied = self._authorize(request, tenant)
        if denied is not None:
            return denied
        manager = self._find_worker(worker_id, self.index())
        if manager is None:
            return _rest_error(404, f"worker `{worker_id}` not found", location="path")
        return self._collection(
            request, tenant, prefix, lambda index: index.reports.get(manager.employee_id, []), self._worker
        )

    def on_orgs(self, request: Request, tenant: str, prefix: str) -> Response:
        """One page of supervisory organizations."""
        return self._collection(
            request, tenant, prefix, lambda index: list(index.orgs.values()), self._sup_org
        )

    def _collection(self, request: Request, tenant: str, prefix: str, items: Any, render: Any) -> Response:
        denied = self._authorize(request, tenant)
        if denied is not None:
            return denied
        paging = self._paging(request)
        if isinstance(paging, Response):
            return paging
        limit, offset = paging
        index = self.index()
        everything = items(index)
        page = everything[offset : offset + limit]
        return json_response(
            {"total": len(everything), "data": [render(request, prefix, x, index) for x in page]}
        )

    def on_worker(self, request: Request, tenant: str, prefix: str, worker_id: str) -> Response:
        """One active worker, by WID or `Employee_ID=...`."""
        denied = self._authorize(request, tenant)
        if denied is not None:
            return denied
        index = self.index()
        emp = self._find_worker(worker_id, index)
        if emp is None:
            return _rest_error(404, f"worker `{worker_id}` not found", location="path")
        years = max(0, (datetime.now(UTC).date() - emp.hire_date).days // 365)
        return json_response({**self._worker(request, prefix, emp, index), "yearsOfService": str(years)})

    def on_sup_org(self, request: Request, tenant: str, prefix: str, org_id: str) -> Response:
        """One supervisory organization, by WID or `Organization_Reference_ID=...`."""
        denied = self._authorize(request, tenant)
        if denied is not None:
            return denied
        index = self.index()
        wanted = org_id.removeprefix("Organization_Reference_ID=")
        sup = index.orgs.get(org_id) or next((o for o in index.orgs.values() if o.ref_id == wanted), None)
        if sup is None:
            return _rest_error(404, f"supervisory organization `{org_id}` not found", location="path")
        return json_response(self._sup_org(request, prefix, sup, index))

    # --- custom objects (sandbox/workday_custom_objects.py) -------------------------------------------
    def _custom_object_target(
        self, request: Request, tenant: str, prefix: str, worker_id: str, alias: str
    ) -> tuple[Employee, str] | Response:
        denied = self._authorize(request, tenant)
        if denied is not None:
            return denied
        index = self.index()
        if worker_id.startswith("Employee_ID="):
            emp = index.by_id.get(worker_id.removeprefix("Employee_ID="))
        else:
            emp = index.by_wid.get(worker_id)
        if emp is None:
            return _rest_error(404, f"worker `{worker_id}` not found", location="path")
        if alias != self.custom_objects.definition.alias:
            return _rest_error(404, f"custom object `{alias}` does not exist", location="path")
        worker = f"{request.host_url.rstrip('/')}{prefix}/{self.tenant}/workers/{emp.workday_id}"
        href = f"{worker}/customObjects/{alias}"
        return emp, href

    def on_custom_objects(
        self, request: Request, tenant: str, prefix: str, worker_id: str, alias: str
    ) -> Response:
        """A worker's instances of the custom object: list or read, create, replace."""
        target = self._custom_object_target(request, tenant, prefix, worker_id, alias)
        if isinstance(target, Response):
            return target
        return self.custom_objects.handle_collection(request, *target, self._paging(request))

    def on_custom_object(
        self, request: Request, tenant: str, prefix: str, worker_id: str, alias: str, instance_id: str
    ) -> Response:
        """One instance of the custom object on a worker: read or update."""
        target = self._custom_object_target(request, tenant, prefix, worker_id, alias)
        if isinstance(target, Response):
            return target
        return self.custom_objects.handle_instance(request, *target, instance_id)

    # --- RaaS ----------------------------------------------------------------------------------------
    def on_report(self, request: Request, tenant: str, owner: str, report: str) -> Response:
        """The workers report (`Updated_From` keeps workers changed since) or the ratings instances."""
        denied = self._authorize(request, tenant)
        if denied is not None:
            return denied
        ratings_report = self.custom_objects.definition.report_name
        if owner != self.report_owner or report not in (self.report_name, ratings_report):
            return _rest_error(404, f"report `{owner}/{report}` does not exist", location="path")
        if request.args.get("format", "") != "json":
            return _rest_error(400, "this report is served as format=json only", field_name="format")
        if report == ratings_report:
            rows = self.custom_objects.report_rows(self.index().by_id)
            return Response(json.dumps({"Report_Entry": rows}), status=200, content_type="application/json")
        since: datetime | None = None
        raw = request.args.get("Updated_From")
        if raw:
            try:
                since = parse_instant(raw)
            except ValueError:
                return _rest_error(
                    400,
                    f"prompt Updated_From is not a date-time: {raw!r}",
                    field_name="Updated_From",
                    location="query",
                )
        index = self.index()
        people = index.everyone if since is None else [e for e in index.everyone if e.last_changed >= since]
        rows = [self._report_row(emp, index) for emp in people]
        body = json.dumps({"Report_Entry": rows}, separators=(",", ":"))
        return Response(body, status=200, content_type="application/json")

    # --- SOAP Performance_Management -----------------------------------------------------------------
    def writes_for(self, employee_id: str) -> int:
        """How many rating writes were stored for one employee."""
        with self._lock:
            return sum(1 for who, _ in self.rating_writes if who == employee_id)

    def on_performance(self, request: Request, tenant: str, version: str) -> Response:
        """The Performance_Management web service: rating updates and review reads."""
        denied = self._authorize(request, tenant)
        if denied is not None:
            return soap_fault(
                "SOAP-ENV:Client.authenticationError", "Invalid username or password", status=401
            )
        try:
            envelope = etree.fromstring(request.get_data(), parser=_SAFE_PARSER)
        except etree.XMLSyntaxError as exc:
            return soap_fault("SOAP-ENV:Client", f"Malformed XML: {exc}")
        body = envelope.find(f"{{{SOAP_ENV}}}Body")
        operation = body[0] if body is not None and len(body) else None
        if operation is None:
            return soap_fault("SOAP-ENV:Client", "The SOAP Body is empty")
        name = etree.QName(operation).localname
        if name == "Update_Employee_Review_Rating_Request":
            return self._update_rating(operation, version)
        if name == "Get_Employee_Reviews_Request":
            return self._get_reviews(operation, version)
        return soap_fault("SOAP-ENV:Client", f"Operation {name} is not supported by this emulator")

    def _update_rating(self, operation: Any, version: str) -> Response:
        data = operation.find(f"{{{BSVC}}}Employee_Review_Rating_Data")
        base = "/bsvc:Update_Employee_Review_Rating_Request[1]/bsvc:Employee_Review_Rating_Data[1]"
        if data is None:
            return validation_fault("Element Employee_Review_Rating_Data is required", "", base)
        employee_id = _ref_id(data, "Employee_Reference")
        review_type = _ref_id(data, "Review_Type_Reference") or ""
        rating = _ref_id(data, "Rating_Reference")
        start, end = _text(data, "Period_Start_Date"), _text(data, "Period_End_Date")
        comment = _text(data, "Comment")
        if employee_id is None or employee_id not in self.index().by_id:
            return validation_fault(
                f"Invalid ID value.  '{employee_id}' is not a valid ID value for type = 'Employee_ID'",
                f"Employee '{employee_id}' does not exist in tenant {self.tenant}",
                f"{base}/bsvc:Employee_Reference[1]",
            )
        if rating is None or rating not in self.rating_ids:
            return validation_fault(
                f"Invalid ID value.  '{rating}' is not a valid ID value for type = 'Review_Rating_ID'",
                f"Review rating '{rating}' is not one of the ratings of review type '{review_type}'",
                f"{base}/bsvc:Rating_Reference[1]",
            )
        key = (employee_id, review_type, start or "", end or "")
        wid = _wid("review", *key)
        with self._lock:
            self.reviews[key] = {"rating": rating, "comment": comment or "", "wid": wid}
            self.rating_writes.append((employee_id, rating))
        response = etree.Element(f"{{{BSVC}}}Update_Employee_Review_Rating_Response", nsmap={"bsvc": BSVC})
        response.set(f"{{{BSVC}}}version", version)
        echo = etree.SubElement(response, f"{{{BSVC}}}Employee_Review_Rating_Data")
        _review_elements(echo, key, self.reviews[key])
        _add_ref(response, "Employee_Review_Reference", "WID", wid)
        return soap_response(response)

    def _get_reviews(self, operation: Any, version: str) -> Response:
        criteria = operation.find(f"{{{BSVC}}}Request_Criteria")
        wanted: set[str] | None = None
        review_type = start = end = None
        if criteria is not None:
            ids = [
                el.text or ""
                for ref in criteria.findall(f"{{{BSVC}}}Employee_Reference")
                for el in ref.findall(f"{{{BSVC}}}ID")
            ]
            wanted = set(ids) if ids else None
            review_type = _ref_id(criteria, "Review_Type_Reference")
            start, end = _text(criteria, "Period_Start_Date"), _text(criteria, "Period_End_Date")
        filt = operation.find(f"{{{BSVC}}}Response_Filter")
        page = int(_text(filt, "Page") or 1) if filt is not None else 1
        count = min(int(_text(filt, "Count") or 100), _MAX_PAGE_COUNT) if filt is not None else 100
        with self._lock:
            rows = sorted(
                (key, dict(value))
                for key, value in self.reviews.items()
                if (wanted is None or key[0] in wanted)
                and (review_type is None or key[1] == review_type)
                and (start is None or key[2] == start)
                and (end is None or key[3] == end)
            )
        total_pages = max(1, -(-len(rows) // count))
        response = etree.Element(f"{{{BSVC}}}Get_Employee_Reviews_Response", nsmap={"bsvc": BSVC})
        response.set(f"{{{BSVC}}}version", version)
        results = etree.SubElement(response, f"{{{BSVC}}}Response_Results")
        for tag, number in (("Total_Results", len(rows)), ("Total_Pages", total_pages), ("Page", page)):
            etree.SubElement(results, f"{{{BSVC}}}{tag}").text = str(number)
        chunk = rows[(page - 1) * count : page * count]
        etree.SubElement(results, f"{{{BSVC}}}Page_Results").text = str(len(chunk))
        data = etree.SubElement(response, f"{{{BSVC}}}Response_Data")
        for review_key, stored in chunk:
            review = etree.SubElement(data, f"{{{BSVC}}}Employee_Review")
            _add_ref(review, "Employee_Review_Reference", "WID", stored["wid"])
            _review_elements(etree.SubElement(review, f"{{{BSVC}}}Employee_Review_Data"), review_key, stored)
        return soap_response(response)

    @staticmethod
    def _report_row(emp: Employee, index: OrgIndex) -> dict[str, Any]:
        sup = index.orgs.get(index.primary.get(emp.employee_id, ""))
        return _compact(
            {
                "Employee_ID": emp.employee_id,
                "Worker_WID": emp.workday_id,
                "Legal_Name_-_First_Name": emp.first_name,
                "Legal_Name_-_Last_Name": emp.last_name,
                "Preferred_Name": emp.display_name,
                "Email_-_Primary_Work": emp.email,
                "Business_Title": emp.title,
                "Supervisory_Organization": sup.name if sup else None,
                "Supervisory_Organization_ID": sup.ref_id if sup else None,
                "Manager_Employee_ID": emp.manager_id,
                "Cost_Center": emp.cost_centre,
                "Location": emp.location,
                "Management_Level": emp.job_level,
                "Hire_Date": _iso(emp.hire_date),
                "Termination_Date": _iso(emp.termination_date),
                "Active_Status": "1" if emp.is_active else "0",
                "Salesforce_User_ID": emp.salesforce_user_id,
                "Jira_Account_ID": emp.jira_account_id,
            }
        )


_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _ref_id(parent: Any, name: str) -> str | None:
    ref = parent.find(f"{{{BSVC}}}{name}")
    if ref is None:
        return None
    ident = ref.find(f"{{{BSVC}}}ID")
    return ident.text.strip() if ident is not None and ident.text else None


def _text(parent: Any, name: str) -> str | None:
    el = parent.find(f"{{{BSVC}}}{name}")
    return el.text.strip() if el is not None and el.text else None


def _add_ref(parent: Any, name: str, id_type: str, value: str) -> None:
    ref = etree.SubElement(parent, f"{{{BSVC}}}{name}")
    ident = etree.SubElement(ref, f"{{{BSVC}}}ID")
    ident.set(f"{{{BSVC}}}type", id_type)
    ident.text = value


def _review_elements(parent: Any, key: tuple[str, str, str, str], value: dict[str, str]) -> None:
    employee_id, review_type, start, end = key
    _add_ref(parent, "Employee_Reference", "Employee_ID", employee_id)
    _add_ref(parent, "Review_Type_Reference", "Employee_Review_Type_ID", review_type)
    etree.SubElement(parent, f"{{{BSVC}}}Period_Start_Date").text = start
    etree.SubElement(parent, f"{{{BSVC}}}Period_End_Date").text = end
    _add_ref(parent, "Rating_Reference", "Review_Rating_ID", value["rating"])
    if value.get("comment"):
        etree.SubElement(parent, f"{{{BSVC}}}Comment").text = value["comment"]


def soap_response(payload: Any, status: int = 200) -> Response:
    """`payload` in a SOAP 1.1 envelope, as `text/xml`."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"env": SOAP_ENV})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(payload)
    body = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return Response(body, status=status, content_type="text/xml; charset=utf-8")


def soap_fault(code: str, message: str, *, detail: Any = None, status: int = 500) -> Response:
    """A SOAP 1.1 fault; Workday answers every fault with HTTP 500 (auth ones here with 401)."""
    fault = etree.Element(f"{{{SOAP_ENV}}}Fault", nsmap={"SOAP-ENV": SOAP_ENV})
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = message
    if detail is not None:
        etree.SubElement(fault, "detail").append(detail)
    return soap_response(fault, status=status)


def validation_fault(message: str, detail_message: str, xpath: str) -> Response:
    """Workday's `Client.validationError` fault with one `Validation_Error`."""
    validation = etree.Element(f"{{{BSVC}}}Validation_Fault", nsmap={"wd": BSVC})
    error = etree.SubElement(validation, f"{{{BSVC}}}Validation_Error")
    etree.SubElement(error, f"{{{BSVC}}}Message").text = message
    etree.SubElement(error, f"{{{BSVC}}}Detail_Message").text = detail_message or message
    etree.SubElement(error, f"{{{BSVC}}}Xpath").text = xpath
    return soap_fault(
        "SOAP-ENV:Client.validationError", "Validation error occurred. " + message, detail=validation
    )
