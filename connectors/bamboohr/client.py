"""A thin BambooHR client over `ApiClient`: auth, the error header, and errors translated once.

BambooHR puts the reason for an error in a response header (`X-BambooHR-Error-Message`, spelt
`...-Messsage` in its own help pages; both are read), sends empty bodies on errors, and answers
big reports in one unpaginated body, which is spooled to disk and parsed as a stream here so
memory stays flat at 100,000 people.

Example:
    ```python
    client = BambooHRClient(settings, context=context)
    for row in client.custom_report(["id", "firstName", "supervisorEId"]):
        ...
    client.close()
    ```
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

import httpx
import ijson

from connectors.bamboohr.settings import BambooHRSettings
from hub.contracts import ConnectorContext
from hub.errors import AuthError, ConnectorError, SourceDataError
from hub.http.client import ApiClient
from hub.http.policy import Action, Kind, Resolution
from hub.redact import redact

logger = logging.getLogger(__name__)

ERROR_HEADERS = ("X-BambooHR-Error-Message", "X-BambooHR-Error-Messsage")
"""Where BambooHR explains an error; the triple-s spelling is the one its help pages document."""

POLICY_OVERRIDES: Mapping[int, Resolution] = {
    # Until 2026-09-16 BambooHR throttled with 503 (+ Retry-After); since then with 429. Both retry,
    # and `Retry-After` is honoured whichever status carries it.
    429: Resolution(Action.RETRY, Kind.TRANSIENT),
    503: Resolution(Action.RETRY, Kind.TRANSIENT),
}

REPORT_TITLE = "okrhub org sync"
_MAX_ERROR_TEXT = 300


def describe_error(response: httpx.Response) -> str:
    """The reason BambooHR gave for an error response, from either spelling of its error header."""
    for header in ERROR_HEADERS:
        text = str(response.headers.get(header, "")).strip()
        if text:
            return text
    return ""


class BambooHRClient:
    """The BambooHR v1 endpoints the connector uses, with errors from `hub.errors` only.

    Args:
        settings: the connection's settings.
        context: what the hub hands the connector; `context.retry`, when set, overrides the
            settings' retry policy (tests shorten the waits this way), and `context.transport`
            replaces the network.
    """

    def __init__(self, settings: BambooHRSettings, *, context: ConnectorContext) -> None:
        key = settings.api_key.get_secret_value()
        self.connection = context.connection
        self.base_url = settings.url()
        self._secrets = context.secrets | {key}
        self._last_detail = ""
        self._warned: set[tuple[str, ...]] = set()
        self._api = ApiClient.for_connection(
            settings,
            context,
            auth=httpx.BasicAuth(key, "x"),
            headers={"Accept": "application/json"},
            policy_overrides=POLICY_OVERRIDES,
            describe_error=self._describe,
            secrets=self._secrets,
        )

    def get_json(self, path: str, *, params: Mapping[str, str] | None = None) -> Any:
        """`GET path` and its parsed JSON body; a body that is not JSON is a `SourceDataError`."""
        where = f"GET {path}"
        with self._translate(where):
            response = self._api.request("GET", path, params=params)
        try:
            return response.json()
        except ValueError as exc:
            raise self._bad_body(where, exc, status=response.status_code) from exc

    def custom_report(
        self, fields: Sequence[str], *, employee_ids: Sequence[str] | None = None
    ) -> Iterator[Any]:
        """Stream the rows of a custom report of `fields` (everyone, or only `employee_ids`).

        Rows are dicts keyed by field id, `id` always present. The whole report is downloaded
        first (retried as a whole if cut short), then parsed row by row.
        """
        body: dict[str, Any] = {"title": REPORT_TITLE, "fields": list(fields)}
        if employee_ids is not None:
            body["filters"] = {"employeeIds": list(employee_ids)}
        params = {"format": "JSON", "onlyCurrent": "false"}
        return self._rows("POST", "reports/custom", params=params, json=body, expect_fields=fields)

    def directory(self) -> Iterator[Any]:
        """Stream the employee directory's rows (active people only)."""
        return self._rows("GET", "employees/directory")

    def close(self) -> None:
        """Close the HTTP connections."""
        self._api.close()

    # --- internals -------------------------------------------------------------------------------
    def _describe(self, response: httpx.Response) -> str:
        # Remembered so the AuthError below can quote BambooHR's reason (redacted, like ApiClient's).
        self._last_detail = redact(describe_error(response), self._secrets)
        return self._last_detail

    def _rows(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        expect_fields: Sequence[str] = (),
    ) -> Iterator[Any]:
        where = f"{method} {path}"
        with self._translate(where), self._api.download(method, path, params=params, json=json) as body:
            if expect_fields:
                self._warn_dropped_fields(body, expect_fields, where)
            count = 0
            try:
                for row in ijson.items(body, "employees.item", use_float=True):
                    if not isinstance(row, dict):
                        raise SourceDataError(
                            f"connection `{self.connection}`: {where} returned an employee that is not an "
                            f"object ({type(row).__name__}); the response cannot be trusted",
                            connection=self.connection,
                        )
                    count += 1
                    yield row
            except (ijson.JSONError, UnicodeDecodeError) as exc:
                raise self._bad_body(where, exc, after_rows=count) from exc
            if count == 0:
                self._require_employee_list(body, where)
            logger.debug("connection `%s`: %s returned %d rows", self.connection, where, count)

    def _warn_dropped_fields(self, body: IO[bytes], expected: Sequence[str], where: str) -> None:
        # BambooHR drops unknown or forbidden fields without an error; say so, or a hidden
        # `supervisorEId` would quietly flatten the whole tree. Reads only the head of the body.
        announced: list[str] | None = None
        try:
            for prefix, event, value in ijson.parse(body):
                if (prefix, event) == ("fields", "start_array"):
                    announced = []
                elif prefix == "fields.item.id" and announced is not None and event in ("string", "number"):
                    announced.append(str(value))
                elif (prefix, event) in (("fields", "end_array"), ("employees", "start_array")):
                    break
        except (ijson.JSONError, UnicodeDecodeError):
            pass  # the full parse that follows reports it
        finally:
            body.seek(0)
        if announced is None:
            return
        dropped = tuple(name for name in expected if name != "id" and name not in announced)
        if dropped and dropped not in self._warned:
            self._warned.add(dropped)
            logger.warning(
                "connection `%s`: %s left out field(s) %s: unknown to this company or hidden from the API "
                "user, so the hub fields they feed stay empty. Check the field map against GET meta/fields "
                "and the API user's access level.",
                self.connection,
                where,
                ", ".join(dropped),
            )

    def _require_employee_list(self, body: IO[bytes], where: str) -> None:
        # No rows at all: make sure that is an empty list, not a body of some other shape.
        body.seek(0)
        try:
            document = json.load(body)
        except ValueError as exc:
            raise self._bad_body(where, exc) from exc
        if not isinstance(document, dict) or not isinstance(document.get("employees"), list):
            shape = sorted(document) if isinstance(document, dict) else type(document).__name__
            raise SourceDataError(
                f"connection `{self.connection}`: {where} returned no `employees` list (got {shape}); "
                "refusing to treat that as an empty company",
                connection=self.connection,
            )

    def _bad_body(
        self, where: str, exc: Exception, *, status: int | None = None, after_rows: int = 0
    ) -> SourceDataError:
        reason = (
            redact(str(exc), self._secrets).splitlines()[0][:_MAX_ERROR_TEXT]
            if str(exc)
            else type(exc).__name__
        )
        rows = f" after {after_rows} employees" if after_rows else ""
        return SourceDataError(
            f"connection `{self.connection}`: {where} returned a body that is not valid JSON{rows} "
            f"({reason}); the response was probably cut short, so the read stopped rather than report "
            "fewer people. Run the sync again; if it keeps failing, BambooHR is sending broken reports.",
            connection=self.connection,
            status=status,
        )

    @contextmanager
    def _translate(self, where: str) -> Iterator[None]:
        try:
            yield
        except AuthError as exc:
            said = f": {self._last_detail}" if self._last_detail else ""
            raise AuthError(
                f"connection `{self.connection}`: BambooHR rejected the API key (HTTP {exc.status} from "
                f"{where} at {self.base_url}){said}. Check the API key that connection `{self.connection}` "
                "references in its `api_key` setting: it may be mistyped, revoked, or belong to a "
                "deactivated user.",
                connection=self.connection,
                status=exc.status,
            ) from exc
        except ConnectorError as exc:
            if exc.status != 404 or type(exc) is not ConnectorError:
                raise
            raise ConnectorError(
                f"{exc.message}. BambooHR answers 404 for an unknown company or URL: check that "
                f"`base_url` of connection `{self.connection}` ends in /api/gateway.php/<companyDomain>/v1",
                connection=self.connection,
                status=404,
            ) from exc
