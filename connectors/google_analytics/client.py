"""A thin client over google-analytics-data's REST transport: session, counting, errors translated once.

The library sends a self-signed JWT made from the service-account key (no token endpoint call)
through a `google.auth.transport.requests.AuthorizedSession`. This module wires that session so
that:

- every request (retries, and the session's own re-send after a 401, included) is counted into
  `context.stats`, and `ca_bundle` is the CA used even when `REQUESTS_CA_BUNDLE` is set (requests
  lets that variable override `Session.verify`; here the adapter enforces it);
- google-auth's side calls (its "regional access boundary" lookup, a token refresh) cannot reach
  Google while the connection points elsewhere (the sandbox, an air-gapped proxy);
- `google.api_core` exceptions become `hub.errors` here and nowhere else.

Example:
    ```python
    client = Ga4Client(settings, context=context)
    reports = client.batch_run_reports("123456789", [{"dateRanges": [...], "metrics": [...]}])
    client.close()
    ```
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.services.beta_analytics_data.transports.rest import (
    BetaAnalyticsDataRestTransport,
)
from google.analytics.data_v1beta.types import (
    BatchRunReportsRequest,
    GetMetadataRequest,
    RunReportRequest,
)
from google.api_core import exceptions as google_errors
from google.auth import exceptions as auth_errors
from google.oauth2 import service_account
from google.protobuf import json_format
from requests.adapters import BaseAdapter, HTTPAdapter
from typing_extensions import override

from connectors.google_analytics.settings import SCOPE, GoogleAnalyticsSettings
from hub.contracts import ConnectorContext
from hub.errors import (
    AuthError,
    ConnectorError,
    PermissionDenied,
    QueryRejected,
    QuotaExhausted,
    RateLimited,
    SourceDataError,
    TransientError,
)
from hub.http.policy import parse_retry_after
from hub.http.retry import build_retrying
from hub.http.stats import CallStats
from hub.redact import redact

logger = logging.getLogger(__name__)

T = TypeVar("T")

GOOGLE_HOST_SUFFIX = "googleapis.com"
# google-auth is only partly annotated; the alias keeps its untyped constructor out of strict mypy.
_CREDENTIALS: Any = service_account.Credentials
_MAX_MESSAGE = 500


class _CountingAdapter(HTTPAdapter):
    """Counts every request into the run's stats and pins `verify` to the connection's CA bundle."""

    def __init__(self, stats: CallStats, verify: str | None) -> None:
        super().__init__()
        self._stats = stats
        self._verify = verify

    @override
    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if self._verify is not None:
            kwargs["verify"] = self._verify
        try:
            response = super().send(request, *args, **kwargs)
        except Exception:
            self._stats.record_call(None)
            raise
        self._stats.record_call(response.status_code)
        return response


class _OfflineAdapter(BaseAdapter):
    """Refuses every request: google-auth's side calls when the API is not Google's."""

    @override
    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        raise requests.ConnectionError(
            f"okrhub keeps google-auth offline for this connection (refused {request.method} {request.url})"
        )

    @override
    def close(self) -> None:
        """Nothing to release."""


def google_error(exc: google_errors.GoogleAPICallError) -> tuple[str, str]:
    """Google's canonical status (`RESOURCE_EXHAUSTED`, ...) and message from an API error."""
    response = getattr(exc, "response", None)
    try:
        error = response.json().get("error", {}) if response is not None else {}
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    message = error.get("message") if isinstance(error.get("message"), str) else None
    status = error.get("status") if isinstance(error.get("status"), str) else ""
    return str(status), (message or str(getattr(exc, "message", "")) or type(exc).__name__)


class Ga4Client:
    """The Data API methods the connector uses, with errors from `hub.errors` only.

    Args:
        settings: the connection's settings.
        context: what the hub hands the connector; `context.retry`, when set, overrides the
            settings' retry policy, and `context.secrets` are redacted from every message.
    """

    def __init__(self, settings: GoogleAnalyticsSettings, *, context: ConnectorContext) -> None:
        self.settings = settings
        self.connection = context.connection
        self.base_url = settings.url()
        self.stats = context.stats
        self.retry = context.retry or settings.retry
        info = settings.key_info()
        self.service_account_email = str(info["client_email"])
        key = str(info["private_key"])
        self.secrets = (
            context.secrets
            | {key, str(info.get("private_key_id", "")), settings.service_account_json.get_secret_value()}
            | {line for line in key.splitlines() if not line.startswith("-----")}
        )
        self._info = info
        self._api: Any = None

    # --- API methods ---------------------------------------------------------------------------
    def batch_run_reports(
        self, property_id: str, requests_json: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Run up to five reports on one property in one call; each answer as the API's JSON."""
        reports = [self._report_request(property_id, body) for body in requests_json]
        request = BatchRunReportsRequest(property=f"properties/{property_id}", requests=reports)
        what = f"batchRunReports ({len(reports)} reports) on property {property_id}"
        response = self._call(
            what, property_id, lambda api: api.batch_run_reports(request=request, timeout=self._timeout)
        )
        answers = [self._as_json(report) for report in response.reports]
        if len(answers) != len(reports):
            raise SourceDataError(
                f"connection `{self.connection}`: {what} answered {len(answers)} reports for "
                f"{len(reports)} requests; the response cannot be matched to the queries",
                connection=self.connection,
            )
        return answers

    def run_report(self, property_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Run one report on one property; the answer as the API's JSON."""
        request = self._report_request(property_id, body)
        request.property = f"properties/{property_id}"
        response = self._call(
            f"runReport on property {property_id}",
            property_id,
            lambda api: api.run_report(request=request, timeout=self._timeout),
        )
        return self._as_json(response)

    def get_metadata(self, property_id: str) -> dict[str, Any]:
        """The dimensions and metrics of a property (`0`: those every property has)."""
        request = GetMetadataRequest(name=f"properties/{property_id}/metadata")
        response = self._call(
            f"getMetadata of property {property_id}",
            property_id,
            lambda api: api.get_metadata(request=request, timeout=self._timeout),
        )
        return self._as_json(response)

    def close(self) -> None:
        """Close the HTTP session."""
        if self._api is not None:
            self._api.transport.close()
            self._api = None

    # --- internals -------------------------------------------------------------------------------
    def _report_request(self, property_id: str, body: Mapping[str, Any]) -> Any:
        try:
            return RunReportRequest.from_json(json.dumps(body))
        except (json_format.ParseError, TypeError, ValueError) as exc:
            raise QueryRejected(
                f"connection `{self.connection}`: a report for GA4 property {property_id} is not a valid "
                f"RunReportRequest: {self._clean(str(exc))}",
                connection=self.connection,
            ) from exc

    @property
    def _timeout(self) -> float:
        return self.settings.timeout_seconds

    def _library(self) -> Any:
        # Built on first use, so a key that cannot sign surfaces from check() or run_queries().
        if self._api is None:
            try:
                credentials = _CREDENTIALS.from_service_account_info(
                    self._info, scopes=[SCOPE]
                ).with_always_use_jwt_access(True)
            except (ValueError, auth_errors.GoogleAuthError) as exc:
                raise AuthError(
                    f"connection `{self.connection}`: the service-account key in `service_account_json` "
                    f"cannot sign requests ({self._clean(str(exc)) or type(exc).__name__}). Download a new "
                    f"JSON key for {self.service_account_email} in Cloud IAM > Service accounts > Keys.",
                    connection=self.connection,
                ) from exc
            transport: Any = BetaAnalyticsDataRestTransport(
                host=self.base_url, credentials=credentials, always_use_jwt_access=True
            )
            self._wire(transport._session)
            self._api = BetaAnalyticsDataClient(transport=transport)
        return self._api

    def _wire(self, session: requests.Session) -> None:
        # The REST transport's AuthorizedSession (`_session`, the one private attribute touched
        # here): count and pin the CA on its adapters; keep its side session for google-auth's
        # own calls offline unless the API really is Google's.
        ca_bundle = str(self.settings.ca_bundle) if self.settings.ca_bundle else None
        adapter = _CountingAdapter(self.stats, ca_bundle)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        host = urlsplit(self.base_url).hostname or ""
        if host == GOOGLE_HOST_SUFFIX or host.endswith("." + GOOGLE_HOST_SUFFIX):
            return
        side = getattr(session, "_auth_request_session", None)
        if isinstance(side, requests.Session):
            for prefix in ("https://", "http://"):
                side.mount(prefix, _OfflineAdapter())

    def _call(self, what: str, property_id: str, call: Callable[[Any], T]) -> T:
        api = self._library()
        logger.info("connection `%s`: %s", self.connection, what)
        for attempt in build_retrying(
            self.retry, self.stats, describe=f"connection `{self.connection}`: {what}"
        ):
            with attempt, self._translate(what, property_id):
                return call(api)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _as_json(self, message: Any) -> dict[str, Any]:
        try:
            return dict(json_format.MessageToDict(type(message).pb(message)))
        except (TypeError, ValueError) as exc:  # pragma: no cover - the library parsed it already
            raise SourceDataError(
                f"connection `{self.connection}`: GA4 answered a report that cannot be read: {exc}",
                connection=self.connection,
            ) from exc

    def _clean(self, text: str) -> str:
        return redact(text, self.secrets)[:_MAX_MESSAGE]

    @contextmanager
    def _translate(self, what: str, property_id: str) -> Iterator[None]:
        try:
            yield
        except google_errors.GoogleAPICallError as exc:
            self._raise_api_error(exc, what, property_id)
        except json_format.ParseError as exc:
            # A 200 whose JSON does not parse was cut short on the way; reports are safe to re-read.
            raise TransientError(
                f"connection `{self.connection}`: {what} returned a body that is not a valid report "
                f"({self._clean(str(exc))}); the response was probably cut short. If it keeps "
                "happening, check what answers at `base_url`."
            ) from exc
        except auth_errors.RefreshError as exc:
            raise AuthError(
                f"connection `{self.connection}`: the service-account key could not sign a token for {what} "
                f"({self._clean(str(exc))}). Download a new JSON key for {self.service_account_email}.",
                connection=self.connection,
            ) from exc
        except requests.exceptions.SSLError as exc:
            raise ConnectorError(
                f"connection `{self.connection}`: TLS verification of {self.base_url} failed for {what} "
                f"({self._clean(str(exc))}). If a proxy or the sandbox answers there, point `ca_bundle` at "
                "the PEM of the CA that signed its certificate.",
                connection=self.connection,
            ) from exc
        except (requests.RequestException, auth_errors.TransportError) as exc:
            raise TransientError(
                f"connection `{self.connection}`: {what} at {self.base_url} failed before an answer: "
                f"{self._clean(str(exc)) or type(exc).__name__}"
            ) from exc

    def _raise_api_error(
        self, exc: google_errors.GoogleAPICallError, what: str, property_id: str
    ) -> NoReturn:
        status, raw_message = google_error(exc)
        message = self._clean(raw_message)
        code = exc.code if isinstance(exc.code, int) else None
        where = f"HTTP {code} from {what} at {self.base_url}"
        email = self.service_account_email
        prefix = f"connection `{self.connection}`"
        if isinstance(exc, google_errors.Unauthorized):
            raise AuthError(
                f"{prefix}: Google rejected the credentials of service account {email} ({where}): {message} "
                f"Check the JSON key that `service_account_json` references: it may have been deleted or "
                f"disabled in Google Cloud IAM, or belong to another service account; create a new key for "
                f"{email} and update the secret.",
                connection=self.connection,
                status=code,
            ) from exc
        if isinstance(exc, google_errors.Forbidden):
            raise PermissionDenied(
                f"{prefix}: service account {email} may not read GA4 property {property_id} ({where}): "
                f"{message} In Google Analytics, open Admin > Property access management of property "
                f"{property_id} and add {email} as a Viewer; also check that the Google Analytics Data API "
                "is enabled in the service account's Cloud project.",
                connection=self.connection,
                status=code,
            ) from exc
        if isinstance(exc, google_errors.TooManyRequests):
            if status == "RESOURCE_EXHAUSTED":
                raise QuotaExhausted(
                    f"{prefix}: GA4 property {property_id} has spent its quota ({message}); its remaining "
                    "queries are skipped this run. Property tokens refresh hourly and daily (midnight "
                    "Pacific); fewer or narrower queries spend fewer tokens.",
                    connection=self.connection,
                    status=code,
                    scope=f"property {property_id}",
                ) from exc
            self._raise_retryable(exc, where, message, code)
        if isinstance(exc, google_errors.BadRequest):
            raise QueryRejected(
                f"{prefix}: GA4 property {property_id} refused the report: {message}",
                connection=self.connection,
                status=code,
            ) from exc
        if isinstance(exc, google_errors.ServerError) or (code is not None and code >= 500):
            self._raise_retryable(exc, where, message, code)
        if isinstance(exc, google_errors.NotFound):
            raise ConnectorError(
                f"{prefix}: {where}: {message}. Is `base_url` the Data API root "
                "(https://analyticsdata.googleapis.com)?",
                connection=self.connection,
                status=code,
            ) from exc
        raise ConnectorError(
            f"{prefix}: {where}: {message}", connection=self.connection, status=code
        ) from exc

    def _raise_retryable(
        self, exc: google_errors.GoogleAPICallError, where: str, message: str, code: int | None
    ) -> NoReturn:
        response = getattr(exc, "response", None)
        header = response.headers.get("Retry-After") if response is not None else None
        retry_after = parse_retry_after(header)
        text = f"connection `{self.connection}`: {where}: {message}"
        if code == 429 or retry_after is not None:
            raise RateLimited(text, retry_after=retry_after, status=code) from exc
        raise TransientError(text, status=code) from exc
