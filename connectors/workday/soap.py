"""Workday Web Services (SOAP) for Performance_Management: envelopes, faults, and safe sending.

Workday answers every SOAP fault with HTTP 500, so a 500 is not "retry" here: a
`Client.validationError` fault is the tenant refusing one record (its `Validation_Error/Message`
is what the admin needs), while any other 500 is ambiguous. A write is never resent after an
ambiguous answer (the tenant may have stored it): only a 429 or a refused connection, which
prove nothing was stored, are retried; everything else is left to the caller's read-back.

Example:
    ```python
    soap = WorkdaySoap(settings, context=context, auth=client.auth)
    data = rating_data(employee_id="21001", review_type="Annual", start=..., end=..., rating="Meets")
    reply = soap.call(update_rating_request(data, version="v45.0"), resend_safe_only=True)
    ```
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx
from lxml import etree  # type: ignore[import-untyped]
from tenacity import retry_if_exception

from connectors.workday.settings import WorkdaySettings
from hub.contracts import ConnectorContext
from hub.errors import RateLimited, RecordRejected, SourceDataError, TransientError
from hub.http.client import ApiClient
from hub.http.policy import Action, Kind, Resolution
from hub.http.retry import RetrySettings, build_retrying

logger = logging.getLogger(__name__)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
BSVC = "urn:com.workday/bsvc"
VALIDATION_FAULT = "Client.validationError"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_SOAP_POLICY: Mapping[int, Resolution] = {500: Resolution(Action.SUCCEED, Kind.TRANSIENT)}
"""500 is read here (a fault body), not retried blindly by the HTTP layer."""


def _q(name: str) -> str:
    return f"{{{BSVC}}}{name}"


def add_ref(parent: Any, name: str, id_type: str, value: str) -> None:
    """Append `<bsvc:{name}><bsvc:ID bsvc:type="{id_type}">value</bsvc:ID></bsvc:{name}>`."""
    ref = etree.SubElement(parent, _q(name))
    ident = etree.SubElement(ref, _q("ID"))
    ident.set(_q("type"), id_type)
    ident.text = value


def ref_id(parent: Any, name: str) -> str | None:
    """The text of `{name}/ID` under `parent`, or None."""
    el = parent.find(f"{_q(name)}/{_q('ID')}")
    return el.text.strip() if el is not None and el.text else None


def child_text(parent: Any, name: str) -> str | None:
    """The text of the child `name`, or None."""
    el = parent.find(_q(name))
    return el.text.strip() if el is not None and el.text else None


def update_rating_request(
    *,
    version: str,
    employee_id: str,
    review_type: str,
    start: date,
    end: date,
    rating: str,
    comment: str | None,
) -> Any:
    """An `Update_Employee_Review_Rating_Request` element for one rating."""
    request = etree.Element(_q("Update_Employee_Review_Rating_Request"), nsmap={"bsvc": BSVC})
    request.set(_q("version"), version)
    data = etree.SubElement(request, _q("Employee_Review_Rating_Data"))
    add_ref(data, "Employee_Reference", "Employee_ID", employee_id)
    add_ref(data, "Review_Type_Reference", "Employee_Review_Type_ID", review_type)
    etree.SubElement(data, _q("Period_Start_Date")).text = start.isoformat()
    etree.SubElement(data, _q("Period_End_Date")).text = end.isoformat()
    add_ref(data, "Rating_Reference", "Review_Rating_ID", rating)
    if comment:
        etree.SubElement(data, _q("Comment")).text = comment
    return request


def get_reviews_request(
    *,
    version: str,
    review_type: str,
    start: date,
    end: date,
    employee_ids: list[str] | None,
    page: int,
    count: int,
) -> Any:
    """A `Get_Employee_Reviews_Request` for one review type and period (and optionally employees)."""
    request = etree.Element(_q("Get_Employee_Reviews_Request"), nsmap={"bsvc": BSVC})
    request.set(_q("version"), version)
    criteria = etree.SubElement(request, _q("Request_Criteria"))
    for employee_id in employee_ids or ():
        add_ref(criteria, "Employee_Reference", "Employee_ID", employee_id)
    add_ref(criteria, "Review_Type_Reference", "Employee_Review_Type_ID", review_type)
    etree.SubElement(criteria, _q("Period_Start_Date")).text = start.isoformat()
    etree.SubElement(criteria, _q("Period_End_Date")).text = end.isoformat()
    response_filter = etree.SubElement(request, _q("Response_Filter"))
    etree.SubElement(response_filter, _q("Page")).text = str(page)
    etree.SubElement(response_filter, _q("Count")).text = str(count)
    return request


def envelope(payload: Any) -> bytes:
    """`payload` in a SOAP 1.1 envelope (auth travels as a Bearer header, not WS-Security)."""
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV, "bsvc": BSVC})
    etree.SubElement(env, f"{{{SOAP_ENV}}}Header")
    etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(payload)
    return bytes(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


def describe_fault(fault: Any) -> str:
    """A fault in Workday's words: each Validation_Error's Message (Detail_Message, at Xpath)."""
    parts: list[str] = []
    for error in fault.iter(_q("Validation_Error")):
        message = child_text(error, "Message") or ""
        detail = child_text(error, "Detail_Message")
        xpath = child_text(error, "Xpath")
        text = message
        if detail and detail != message:
            text += f" ({detail})"
        if xpath:
            text += f" at {xpath}"
        parts.append(text)
    if parts:
        return "; ".join(parts)
    return (fault.findtext("faultstring") or "").strip()


def resend_safe(error: BaseException) -> bool:
    """Only a 429 or a refused connection prove the tenant stored nothing; only those are resent."""
    if isinstance(error, RateLimited) and error.status == httpx.codes.TOO_MANY_REQUESTS:
        return True
    return isinstance(error, TransientError) and isinstance(error.__cause__, httpx.ConnectError)


class WorkdaySoap:
    """Sends SOAP operations of one web service, translating faults into the hub's error tree.

    Args:
        settings: the connection's settings (URL, version, retry bounds).
        context: the hub's context (stats, transport, secrets).
        auth: the Bearer auth shared with the REST client (one token exchange for both).
    """

    def __init__(
        self,
        settings: WorkdaySettings,
        *,
        context: ConnectorContext,
        auth: httpx.Auth,
        service: str = "Performance_Management",
    ) -> None:
        self.connection = context.connection
        self.path = f"/ccx/service/{settings.tenant}/{service}/{settings.soap_version}"
        self.retry = context.retry or settings.retry
        self.stats = context.stats
        once = dataclasses.replace(context, retry=RetrySettings(max_attempts=1))
        self._api = ApiClient.for_connection(
            settings,
            once,
            auth=auth,
            headers={"Content-Type": "text/xml; charset=utf-8", "Accept": "text/xml"},
            policy_overrides=_SOAP_POLICY,
        )

    def call(self, payload: Any, *, record_key: str | None = None, resend_safe_only: bool = False) -> Any:
        """Send one operation and return the Body's first element.

        A validation fault raises `RecordRejected` (with `record_key`) carrying Workday's message;
        any other 500 raises `TransientError`. Reads retry every transient failure; writes
        (`resend_safe_only`) only the ones that prove nothing was stored.
        """
        retrying = build_retrying(self.retry, self.stats, describe=f"POST {self.path}")
        if resend_safe_only:
            retrying = retrying.copy(retry=retry_if_exception(resend_safe))
        body = envelope(payload)
        for attempt in retrying:
            with attempt:
                response = self._api.request("POST", self.path, content=body)
                return self._parse(response, record_key)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _parse(self, response: httpx.Response, record_key: str | None) -> Any:
        where = f"POST {self.path}"
        try:
            document = etree.fromstring(response.content, parser=_PARSER)
        except etree.XMLSyntaxError as exc:
            if response.status_code >= httpx.codes.INTERNAL_SERVER_ERROR:
                raise TransientError(
                    f"connection `{self.connection}`: {where} failed with HTTP {response.status_code} "
                    "and no SOAP fault; the tenant may or may not have applied it",
                    status=response.status_code,
                ) from exc
            raise SourceDataError(
                f"connection `{self.connection}`: {where} answered with a body that is not XML ({exc})",
                connection=self.connection,
                status=response.status_code,
            ) from exc
        body = document.find(f"{{{SOAP_ENV}}}Body")
        first = body[0] if body is not None and len(body) else None
        if first is None:
            raise SourceDataError(
                f"connection `{self.connection}`: {where} answered a SOAP envelope with an empty Body",
                connection=self.connection,
                status=response.status_code,
            )
        if etree.QName(first).localname != "Fault":
            return first
        code = (first.findtext("faultcode") or "").strip()
        said = describe_fault(first)
        if code.endswith(VALIDATION_FAULT) and record_key is not None:
            raise RecordRejected(record_key, said)
        raise TransientError(
            f"connection `{self.connection}`: {where} returned SOAP fault {code}: {said}",
            status=response.status_code,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._api.close()
