"""A loopback Salesforce: OAuth token endpoint, SOQL query with paging, limits, and the org's data.

It serves the synthetic company in the shapes `VENDOR_APIS.md` §3 records, over TLS (simple-salesforce
only speaks `https://`; see `sandbox.tls`):

- `POST /services/oauth2/token`: `grant_type=refresh_token` (client id and secret as form fields
  or HTTP Basic) or `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256
  assertion, verified against `jwt_public_key` (`iss` = client id, `sub` = `jwt_username`, `aud`
  = https://login.salesforce.com, https://test.salesforce.com or this server's URL, `exp` within
  five minutes). Refusals are OAuth bodies: `invalid_grant` ("expired access/refresh token",
  "invalid assertion", "audience is invalid", "user hasn't approved this consumer"),
  `invalid_client_id`, `invalid_client`, `unsupported_grant_type`;
- `GET /services/data/vXX.X/query[/]?q=SOQL` (and `queryAll`): the SOQL subset of `sandbox.soql`;
  at most 2,000 records a batch (`Sforce-Query-Options: batchSize=N`, clamped to 200..2000), the rest
  behind `nextRecordsUrl` = `/services/data/vXX.X/query/01g...-2000`, served by
  `GET /services/data/vXX.X/query/<locator>`; a user holds at most 10 open cursors (the oldest is
  dropped, and its locator then answers 400 `INVALID_QUERY_LOCATOR`). Aggregate queries are never
  paged, and more than 2,000 aggregate rows is a 400 (message UNVERIFIED);
- `GET /services/data/vXX.X/limits[/]`: `DailyApiRequests` `Max`/`Remaining` and a few others;
- every authenticated REST call counts against `daily_limit` and is answered with
  `Sforce-Limit-Info: api-usage=N/LIMIT`; once spent, calls get 403 `REQUEST_LIMIT_EXCEEDED`;
- errors are JSON arrays `[{"message", "errorCode"}]`: 400 `MALFORMED_QUERY`, `INVALID_FIELD`,
  `INVALID_TYPE`, `INVALID_QUERY_FILTER_OPERATOR`, `INVALID_QUERY_LOCATOR`; 401
  `INVALID_SESSION_ID` ("Session expired or invalid"); 404 `NOT_FOUND` for an unknown API version.

Data, deterministic from the seed (the org's by default): a `User` per employee (`Id` = the
employee's `salesforce_user_id`, `IsActive` false for leavers, `ManagerId` from the reporting line),
about two `Account`s per Sales person, and 6-24 `Opportunity` records per Sales-division person
(`OwnerId` = their user id): about 3,000 for a 500-person company, created 2024-01 to 2026-10,
closing up to 2026-12-31, `Amount` in whole tens (3% null), `StageName` one of Prospecting,
Negotiation, Closed Won, Closed Lost.

Example:
    ```python
    tls = make_tls(tmp_path)
    app = SalesforceEmulator(generate_org(500))
    with ServerThread(app, ssl_context=tls.context) as server:
        token = requests.post(f"{server.url}/services/oauth2/token", data={
            "grant_type": "refresh_token", "client_id": "okrhub-sandbox",
            "client_secret": "sandbox-salesforce-secret", "refresh_token": "sandbox-salesforce-refresh",
        }, verify=str(tls.ca_pem)).json()["access_token"]
        app.expire_tokens()   # the next call with that token gets 401 INVALID_SESSION_ID
    ```
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
import secrets
import threading
import time as clock
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import jwt
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.org import SyntheticOrg, people_rows
from sandbox.server import EmulatorApp, json_response
from sandbox.soql import Dataset, SObjectType, SoqlError, execute

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
MAX_AGGREGATE_ROWS = 2000
MAX_OPEN_CURSORS = 10
OLDEST_VERSION = 31.0
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
JWT_MAX_LIFETIME_SECONDS = 300
ORG_ID = "00D5g000004OKRHEA4"
INTEGRATION_USER_ID = "0055g00000OKRHUBAA"

USER = SObjectType(
    "User",
    {
        "Id": "id", "Username": "string", "Name": "string", "FirstName": "string", "LastName": "string",
        "Email": "email", "IsActive": "boolean", "Title": "string", "Department": "string",
        "Division": "string", "EmployeeNumber": "string", "ManagerId": "reference", "CreatedDate": "datetime",
    },
    {"Manager": ("ManagerId", "User")},
)  # fmt: skip
ACCOUNT = SObjectType(
    "Account",
    {
        "Id": "id", "Name": "string", "Industry": "picklist", "Type": "picklist", "BillingCountry": "string",
        "AnnualRevenue": "currency", "OwnerId": "reference", "CreatedDate": "datetime",
    },
    {"Owner": ("OwnerId", "User")},
)  # fmt: skip
OPPORTUNITY = SObjectType(
    "Opportunity",
    {
        "Id": "id", "Name": "string", "AccountId": "reference", "OwnerId": "reference", "Amount": "currency",
        "StageName": "picklist", "CloseDate": "date", "CreatedDate": "datetime", "IsWon": "boolean",
        "IsClosed": "boolean", "Type": "picklist", "Probability": "percent", "LeadSource": "picklist",
    },
    {"Owner": ("OwnerId", "User"), "Account": ("AccountId", "Account")},
)  # fmt: skip
ID_PREFIXES = {"User": "005", "Account": "001", "Opportunity": "006"}
STAGES = ("Prospecting", "Negotiation", "Closed Won", "Closed Lost")
PAST_STAGE_WEIGHTS = (5, 10, 50, 35)
"""Stage odds (in `STAGES` order) of an opportunity whose close date has passed."""
OPEN_STAGE_WEIGHTS = (50, 35, 10, 5)
"""Stage odds of an opportunity closing in the last two months of 2026."""
PROBABILITY = {"Prospecting": 10.0, "Negotiation": 75.0, "Closed Won": 100.0, "Closed Lost": 0.0}
OPPORTUNITY_TYPES = ("New Business", "Existing Business", "Renewal")
LEAD_SOURCES = ("Web", "Partner Referral", "Trade Show", "Phone Inquiry", None)
INDUSTRIES = ("Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Energy", "Media")
COUNTRIES = ("United States", "United Kingdom", "Germany", "France", "Japan", "Brazil", "India")
ACCOUNT_WORDS = (
    ("Blue", "Northern", "Quantum", "Silver", "Apex", "Summit", "Harbor", "Cedar", "Vertex", "Nimbus"),
    ("Logistics", "Analytics", "Foods", "Robotics", "Health", "Energy", "Systems", "Capital", "Media"),
    ("Inc", "Ltd", "GmbH", "SA", "LLC", "Group"),
)
CREATED_FROM = datetime(2024, 1, 1, tzinfo=UTC)
CREATED_UNTIL = datetime(2026, 10, 31, tzinfo=UTC)
LAST_CLOSE_DATE = date(2026, 12, 31)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def case_safe_id(id15: str) -> str:
    """The 18-character, case-insensitive form of a 15-character Salesforce id."""
    suffix = ""
    for chunk in range(3):
        flags = sum(1 << i for i, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]) if "A" <= char <= "Z")
        suffix += _SUFFIX[flags]
    return id15 + suffix


def record_id(prefix: str, number: int) -> str:
    """A deterministic 18-character id with a three-character key prefix (`006` for opportunities)."""
    digits = ""
    for _ in range(6):
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return case_safe_id(f"{prefix}5g0000{digits}")


def build_dataset(org: SyntheticOrg, seed: int) -> Dataset:
    """Users, accounts and opportunities for `org`, the same for the same org and seed."""
    rng = random.Random(seed * 1_000_003 + 11)
    dataset = Dataset((USER, ACCOUNT, OPPORTUNITY))
    people = [e for e in people_rows(org) if e.salesforce_user_id]
    by_id = {e.employee_id: e for e in people}
    for emp in people:
        manager = by_id.get(emp.manager_id) if emp.manager_id else None
        dataset.insert(
            "User",
            {
                "Id": emp.salesforce_user_id,
                "Username": emp.email,
                "Name": emp.display_name,
                "FirstName": emp.first_name,
                "LastName": emp.last_name,
                "Email": emp.email,
                "IsActive": emp.is_active,
                "Title": emp.title,
                "Department": emp.department,
                "Division": emp.division,
                "EmployeeNumber": emp.employee_id,
                "ManagerId": manager.salesforce_user_id if manager else None,
                "CreatedDate": datetime.combine(emp.hire_date, time(9, 0), UTC),
            },
        )
    sellers = [e for e in people if e.division == "Sales"]
    accounts = [_account(rng, number, sellers) for number in range(1, max(10, 2 * len(sellers)) + 1)]
    for account in accounts:
        dataset.insert("Account", account)
    number = 0
    span = int((CREATED_UNTIL - CREATED_FROM).total_seconds())
    for seller in sellers:
        for _ in range(rng.randint(6, 24)):
            number += 1
            account = rng.choice(accounts)
            created = CREATED_FROM + timedelta(seconds=rng.randrange(span))
            close = min(created.date() + timedelta(days=rng.randint(14, 240)), LAST_CLOSE_DATE)
            weights = PAST_STAGE_WEIGHTS if close < date(2026, 11, 1) else OPEN_STAGE_WEIGHTS
            stage = rng.choices(STAGES, weights=weights)[0]
            amount = None if rng.random() < 0.03 else float(round(rng.lognormvariate(10.2, 0.7) / 10) * 10)
            dataset.insert(
                "Opportunity",
                {
                    "Id": record_id("006", number),
                    "Name": f"{account['Name']} - {rng.choice(('Platform', 'Expansion', 'Pilot', 'Suite'))}",
                    "AccountId": account["Id"],
                    "OwnerId": seller.salesforce_user_id,
                    "Amount": amount,
                    "StageName": stage,
                    "CloseDate": close,
                    "CreatedDate": created,
                    "IsWon": stage == "Closed Won",
                    "IsClosed": stage.startswith("Closed"),
                    "Type": rng.choice(OPPORTUNITY_TYPES),
                    "Probability": PROBABILITY[stage],
                    "LeadSource": rng.choice(LEAD_SOURCES),
                },
            )
    return dataset


def _account(rng: random.Random, number: int, sellers: list[Any]) -> dict[str, Any]:
    first, second, third = (rng.choice(words) for words in ACCOUNT_WORDS)
    return {
        "Id": record_id("001", number),
        "Name": f"{first} {second} {third}",
        "Industry": rng.choice(INDUSTRIES),
        "Type": rng.choice(("Customer", "Prospect", "Partner")),
        "BillingCountry": rng.choice(COUNTRIES),
        "AnnualRevenue": float(rng.randrange(1, 500) * 100_000),
        "OwnerId": rng.choice(sellers).salesforce_user_id if sellers else None,
        "CreatedDate": CREATED_FROM + timedelta(days=rng.randrange(0, 600)),
    }


def rest_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """A REST API error: a JSON array of one `{"message", "errorCode"}`."""
    return json_response(
        [{"message": message, "errorCode": code}], status=status, headers=dict(headers or {})
    )


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    """An OAuth token endpoint error body."""
    return json_response({"error": error, "error_description": description}, status=status)


@dataclass
class _Cursor:
    records: list[dict[str, Any]]
    batch_size: int
    user: str


class SalesforceEmulator(EmulatorApp):
    """Salesforce's token endpoint and REST query/limits resources over one synthetic org.

    Args:
        org: the company whose people become users and opportunity owners.
        client_id: the connected app's consumer key.
        client_secret: the connected app's consumer secret (required by the refresh-token flow).
        refresh_token: the one refresh token this org honours.
        version: the newest API version served (older ones down to 31.0 answer too).
        daily_limit: the org's `DailyApiRequests` maximum.
        seed: seed of the synthetic records; the org's seed by default.
        today: the day relative date literals count from; the real UTC date by default.
        jwt_public_key: PEM public key (or certificate's key) JWT assertions are verified with;
            the JWT bearer flow is refused without it.
        jwt_username: the user JWT assertions may name in `sub`.

    Example:
        ```python
        app = SalesforceEmulator(generate_org(500), daily_limit=1000)
        app.set_api_usage(999)          # the next REST call is the last one allowed today
        app.faults.inject(Fault(kind="expire_token", path="/query/01g"))  # expire mid-paging
        ```
    """

    name = "salesforce"

    def __init__(
        self,
        org: SyntheticOrg,
        *,
        client_id: str = "okrhub-sandbox",
        client_secret: str = "sandbox-salesforce-secret",  # noqa: S107 - a sandbox fixture, not a secret
        refresh_token: str = "sandbox-salesforce-refresh",  # noqa: S107
        version: str = "59.0",
        daily_limit: int = 100_000,
        seed: int | None = None,
        today: date | None = None,
        jwt_public_key: bytes | str | None = None,
        jwt_username: str = "integration@okrhub.sandbox",
    ) -> None:
        self.org = org
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.version = version
        self.daily_limit = daily_limit
        self.today = today or datetime.now(UTC).date()
        self.jwt_public_key = jwt_public_key
        self.jwt_username = jwt_username
        self.dataset = build_dataset(org, org.seed if seed is None else seed)
        self.api_used = 0
        self.tokens_issued = 0
        self._tokens: dict[str, str] = {}
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._lock = threading.RLock()
        super().__init__()

    # --- for tests ------------------------------------------------------------------------------------
    def records(self, sobject: str) -> list[dict[str, Any]]:
        """The raw records of one object (Python values: dates, datetimes, floats)."""
        with self._lock:
            return list(self.dataset.records[sobject])

    def insert(self, sobject: str, **fields: Any) -> str:
        """Add a record (an Id is made up when not given) and return its Id."""
        with self._lock:
            if "Id" not in fields:
                number = 900_000 + len(self.dataset.records[sobject])
                fields["Id"] = record_id(ID_PREFIXES[sobject], number)
            return str(self.dataset.insert(sobject, fields)["Id"])

    def issued_tokens(self) -> list[str]:
        """The access tokens currently valid (to prove none of them leaks into logs)."""
        with self._lock:
            return list(self._tokens)

    def set_api_usage(self, used: int) -> None:
        """Pretend the org already spent `used` of today's API requests."""
        with self._lock:
            self.api_used = used

    def expire_tokens(self) -> None:
        """Invalidate every access token issued so far (the `expire_token` fault)."""
        with self._lock:
            self._tokens.clear()

    def admin(self, request: Request, action: str) -> Response:
        """`POST /_sandbox/api_usage {"used": N}` sets today's API usage."""
        if action == "api_usage" and request.method == "POST":
            self.set_api_usage(int(request.get_json(force=True)["used"]))
            return json_response({"used": self.api_used, "limit": self.daily_limit})
        return super().admin(request, action)

    # --- routing --------------------------------------------------------------------------------------
    def rules(self) -> Iterable[Rule]:
        """Token, versions, query, query-more and limits routes."""
        yield Rule("/services/oauth2/token", endpoint="token", methods=["POST"])
        yield Rule("/services/data", endpoint="versions", methods=["GET"])
        yield Rule("/services/data/", endpoint="versions", methods=["GET"])
        for resource in ("query", "queryAll"):
            yield Rule(f"/services/data/v<version>/{resource}", endpoint="query", methods=["GET"])
            yield Rule(f"/services/data/v<version>/{resource}/", endpoint="query", methods=["GET"])
            yield Rule(f"/services/data/v<version>/{resource}/<locator>", endpoint="more", methods=["GET"])
        yield Rule("/services/data/v<version>/limits", endpoint="limits", methods=["GET"])
        yield Rule("/services/data/v<version>/limits/", endpoint="limits", methods=["GET"])
        yield Rule("/_sandbox/<action>", endpoint="admin", methods=["GET", "POST"])

    def on_admin(self, request: Request, action: str) -> Response:
        """Dispatch `/_sandbox/<action>` to `admin`."""
        return self.admin(request, action)

    def http_error(self, request: Request, exc: HTTPException) -> Response:
        """Routing errors in Salesforce's REST error shape."""
        if exc.code == 405:
            return rest_error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")
        return rest_error(exc.code or 500, "NOT_FOUND", "The requested resource does not exist")

    def on_versions(self, request: Request) -> Response:
        """The API versions served, newest last."""
        newest = int(float(self.version))
        return json_response(
            [
                {"label": f"v{v}.0", "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
                for v in range(int(OLDEST_VERSION), newest + 1)
            ]
        )

    # --- OAuth ----------------------------------------------------------------------------------------
    def on_token(self, request: Request) -> Response:
        """Exchange a refresh token or a JWT assertion for an access token."""
        form = request.form
        grant = form.get("grant_type", "")
        if grant == "refresh_token":
            refused = self._check_refresh(request)
            username = "integration@okrhub.sandbox"
        elif grant == JWT_GRANT:
            refused, username = self._check_jwt(request, form.get("assertion", ""))
        else:
            return oauth_error("unsupported_grant_type", "grant type not supported")
        if refused is not None:
            return refused
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        host = request.host_url.rstrip("/")
        issued_at = str(int(clock.time() * 1000))
        identity = f"{host}/id/{ORG_ID}/{INTEGRATION_USER_ID}"
        signature = base64.b64encode(
            hmac.new(self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        with self._lock:
            self._tokens[token] = username
            self.tokens_issued += 1
        return json_response(
            {
                "access_token": token,
                "signature": signature,
                "scope": "api",
                "instance_url": host,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            }
        )

    def _check_refresh(self, request: Request) -> Response | None:
        form = request.form
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, client_secret = auth.username or "", auth.password or ""
        else:
            client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if not secrets.compare_digest(client_id, self.client_id):
            return oauth_error("invalid_client_id", "client identifier invalid")
        if not secrets.compare_digest(client_secret, self.client_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        if not secrets.compare_digest(form.get("refresh_token", ""), self.refresh_token):
            return oauth_error("invalid_grant", "expired access/refresh token")
        return None

    def _check_jwt(self, request: Request, assertion: str) -> tuple[Response | None, str]:
        if self.jwt_public_key is None:
            return oauth_error("invalid_grant", "invalid assertion"), ""
        try:
            claims = jwt.decode(
                assertion,
                key=self.jwt_public_key,
                algorithms=["RS256"],
                options={"require": ["iss", "sub", "aud", "exp"], "verify_aud": False},
            )
        except jwt.PyJWTError:
            return oauth_error("invalid_grant", "invalid assertion"), ""
        if claims["exp"] > clock.time() + JWT_MAX_LIFETIME_SECONDS:
            return oauth_error("invalid_grant", "invalid assertion"), ""
        if claims["iss"] != self.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid"), ""
        audiences = {*JWT_AUDIENCES, request.host_url.rstrip("/")}
        aud = claims["aud"]
        if not any(a.rstrip("/") in audiences for a in ([aud] if isinstance(aud, str) else aud)):
            return oauth_error("invalid_grant", "audience is invalid"), ""
        if claims["sub"] != self.jwt_username:
            return oauth_error("invalid_grant", "user hasn't approved this consumer"), ""
        return None, str(claims["sub"])

    # --- REST -----------------------------------------------------------------------------------------
    def _admit(self, request: Request, version: str) -> tuple[Response | None, str]:
        """Check the version, the session and the daily limit; count the call. (refusal, user)."""
        try:
            known = OLDEST_VERSION <= float(version) <= float(self.version) and version.endswith(".0")
        except ValueError:
            known = False
        if not known:
            return rest_error(404, "NOT_FOUND", "The requested resource does not exist"), ""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            user = self._tokens.get(token.strip()) if scheme.lower() in ("bearer", "oauth") else None
            if user is None:
                return rest_error(
                    401,
                    "INVALID_SESSION_ID",
                    "Session expired or invalid",
                    headers={"WWW-Authenticate": 'Token realm="Salesforce"'},
                ), ""
            if self.api_used >= self.daily_limit:
                return rest_error(
                    403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", headers=self._limit_info()
                ), user
            self.api_used += 1
        return None, user

    def _limit_info(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.daily_limit}"}

    def _answer(self, payload: Any, status: int = 200) -> Response:
        with self._lock:
            headers = self._limit_info()
        if status >= 400:
            return rest_error(status, payload[0], payload[1], headers=headers)
        return json_response(payload, status=status, headers=headers)

    def on_query(self, request: Request, version: str) -> Response:
        """Run a SOQL query; the first batch, with `nextRecordsUrl` when there is more."""
        refused, user = self._admit(request, version)
        if refused is not None:
            return refused
        soql = request.args.get("q", "")
        if not soql.strip():
            return self._answer(("MALFORMED_QUERY", "A query string has to be specified"), 400)
        try:
            with self._lock:
                result = execute(soql, self.dataset, today=self.today, version=version)
        except SoqlError as exc:
            return self._answer((exc.error_code, exc.message), 400)
        records = result.records
        if result.aggregate and len(records) > MAX_AGGREGATE_ROWS:
            return self._answer(
                (
                    "MALFORMED_QUERY",
                    "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a "
                    "single batch",
                ),
                400,
            )
        batch = _batch_size(request)
        if result.aggregate or len(records) <= batch:
            return self._answer({"totalSize": result.total_size, "done": True, "records": records})
        cursor_id = "01g" + "".join(secrets.choice(_BASE62) for _ in range(15))
        with self._lock:
            self._cursors[cursor_id] = _Cursor(records, batch, user)
            mine = [key for key, cursor in self._cursors.items() if cursor.user == user]
            for stale in mine[:-MAX_OPEN_CURSORS]:
                del self._cursors[stale]
        return self._answer(
            {
                "totalSize": result.total_size,
                "done": False,
                "nextRecordsUrl": f"/services/data/v{version}/query/{cursor_id}-{batch}",
                "records": records[:batch],
            }
        )

    def on_more(self, request: Request, version: str, locator: str) -> Response:
        """The next batch of an open query cursor."""
        refused, _user = self._admit(request, version)
        if refused is not None:
            return refused
        match = re.fullmatch(r"(01g[0-9A-Za-z]{15})-(\d+)", locator)
        with self._lock:
            cursor = self._cursors.get(match.group(1)) if match else None
        if match is None or cursor is None or not 0 < int(match.group(2)) < len(cursor.records):
            return self._answer(("INVALID_QUERY_LOCATOR", "invalid query locator"), 400)
        start = int(match.group(2))
        batch = _batch_size(request, default=cursor.batch_size)
        end = start + batch
        body: dict[str, Any] = {"totalSize": len(cursor.records), "done": end >= len(cursor.records)}
        if end < len(cursor.records):
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{match.group(1)}-{end}"
        body["records"] = cursor.records[start:end]
        return self._answer(body)

    def on_limits(self, request: Request, version: str) -> Response:
        """The org's limits; `DailyApiRequests` reflects the calls made so far (this one included)."""
        refused, _user = self._admit(request, version)
        if refused is not None:
            return refused
        with self._lock:
            remaining = max(0, self.daily_limit - self.api_used)
        return self._answer(
            {
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
                "DailyApiRequests": {"Max": self.daily_limit, "Remaining": remaining},
                "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DataStorageMB": {"Max": 1024, "Remaining": 1002},
                "FileStorageMB": {"Max": 2048, "Remaining": 2048},
            }
        )


def _batch_size(request: Request, default: int = DEFAULT_BATCH_SIZE) -> int:
    options = request.headers.get("Sforce-Query-Options", "")
    match = re.search(r"batchSize\s*=\s*(\d+)", options)
    if match is None:
        return default
    return max(MIN_BATCH_SIZE, min(DEFAULT_BATCH_SIZE, int(match.group(1))))
