"""Workday as a rating sink through a custom object on the worker (REST), read back by cycle key.

Some tenants keep the final rating in a custom object (Workday Extend) instead of a review. The
object is addressed by its web service alias on a worker; each instance carries the review
cycle key in `review_cycle_field`, so a cycle is found without `review_periods`.

- `instances: multi`: a write reads the worker's instances (GET), then updates the one for the
  cycle (PATCH `.../{id}`) or creates one (POST). An instance that already holds the same values
  is confirmed without writing.
- `instances: single`: a write replaces the worker's one instance (PUT, create or update).

A write is resent only after a 429 or a refused connection, which prove nothing was stored; a
500 or a timeout comes back `retry` and the write-back job reads the worker back before deciding.
A 400 (Workday's validation, such as a rating value its list does not hold) or a 404 (no such
worker) is `rejected` with Workday's own error text.

Example:
    ```python
    ratings = WorkdayCustomObjectRatings(settings, context=context, client=client)
    outcomes = list(ratings.write_ratings(writes))
    held = list(ratings.read_ratings(review_cycle="2026-annual", employee_ids=["21001"]))
    ```
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
import ijson
from tenacity import retry_if_exception

from connectors.normalize import to_text
from connectors.workday.client import WorkdayClient, describe_workday_error
from connectors.workday.settings import CustomObjectRatings, CustomObjectReport, WorkdaySettings
from connectors.workday.soap import resend_safe
from hub.contracts import ConnectorContext
from hub.errors import ConfigError, ConnectorError, RecordRejected, SourceDataError, TransientError
from hub.http.client import ApiClient
from hub.http.policy import Action, Kind, Resolution
from hub.http.retry import RetrySettings, build_retrying
from hub.ratings_contract import HcmRating, RatingWrite, WriteOutcome

logger = logging.getLogger(__name__)

PAGE_LIMIT = 100
"""Instances per page of a worker's collection (Workday REST allows at most 100)."""
_REJECTED_STATUSES = frozenset({400, 404, 409, 412, 422})
_POLICY: Mapping[int, Resolution] = {400: Resolution(Action.SKIP, Kind.RECORD)}
"""A 400 on a write is Workday refusing that record (its validation); reads still fail on it."""
_ORG_REPORT_COLUMNS = {"Employee_ID": "Employee_ID", "WID": "Worker_WID"}
"""Columns of the org report (see README) holding each kind of worker id."""


class WorkdayCustomObjectRatings:
    """Writes and reads ratings held in a custom object on the worker, for one Workday connection."""

    def __init__(
        self, settings: WorkdaySettings, *, context: ConnectorContext, client: WorkdayClient
    ) -> None:
        if settings.custom_object is None:
            raise ConfigError(
                f"connection `{context.connection}` has ratings_mode `custom_object` but no "
                "`custom_object` settings",
                field="custom_object",
            )
        self.settings = settings
        self.co: CustomObjectRatings = settings.custom_object
        self.connection = context.connection
        self.id_type = settings.worker_id_type()
        self.retry = context.retry or settings.retry
        self.stats = context.stats
        self.client = client
        once = dataclasses.replace(context, retry=RetrySettings(max_attempts=1))
        self._api = ApiClient.for_connection(
            settings,
            once,
            auth=client.auth,
            headers={"Accept": "application/json"},
            policy_overrides=_POLICY,
            describe_error=describe_workday_error,
            secrets=client.api.secrets,
        )

    # --- paths and values -----------------------------------------------------------------------------
    def worker_path(self, employee_id: str) -> str:
        """The REST path of one worker's instances of the custom object."""
        ref = employee_id if self.id_type == "WID" else f"Employee_ID={employee_id}"
        return self.co.path.format(
            tenant=quote(self.settings.tenant, safe=""),
            worker=quote(ref, safe="="),
            alias=quote(self.co.alias, safe=""),
        )

    def _body(self, write: RatingWrite) -> dict[str, str]:
        co = self.co
        body = {co.review_cycle_field: write.review_cycle, co.rating_field: write.value}
        if co.period_start_field:
            body[co.period_start_field] = write.period_start.isoformat()
        if co.period_end_field:
            body[co.period_end_field] = write.period_end.isoformat()
        if co.comment_field and write.comment:
            body[co.comment_field] = write.comment
        return body

    # --- writes ---------------------------------------------------------------------------------------
    def write_ratings(self, writes: Sequence[RatingWrite]) -> Iterator[WriteOutcome]:
        """One write per rating (plus a read of the worker's instances when they are multi)."""
        for write in writes:
            yield self._write(write)

    def _write(self, write: RatingWrite) -> WriteOutcome:
        key = write.idempotency_key
        if write.field != self.settings.ratings_field:
            return WriteOutcome(
                idempotency_key=key,
                status="rejected",
                detail=f"the custom object `{self.co.alias}` holds one rating "
                f"(`{self.settings.ratings_field}`), not `{write.field}`; set `ratings_field` of "
                f"connection `{self.connection}`",
            )
        body = self._body(write)
        path = self.worker_path(write.employee_id)
        try:
            if self.co.instances == "single":
                reply = self._send("PUT", path, body, key)
            else:
                current = self._current(write.employee_id, write.review_cycle)
                instance_id = to_text(current.get("id")) if current is not None else None
                if current is not None and _holds(current, body):
                    return WriteOutcome(idempotency_key=key, status="confirmed", hcm_reference=instance_id)
                if instance_id is not None:
                    reply = self._send("PATCH", f"{path}/{quote(instance_id, safe='')}", body, key)
                else:
                    reply = self._send("POST", path, body, key)
        except RecordRejected as exc:
            return WriteOutcome(idempotency_key=key, status="rejected", detail=exc.reason)
        except TransientError as exc:
            return WriteOutcome(idempotency_key=key, status="retry", detail=exc.message)
        except ConnectorError as exc:
            if type(exc) is not ConnectorError or exc.status not in _REJECTED_STATUSES:
                raise  # auth, permission, unusable bodies: an admin must act for every write
            hint = (
                f"; check that the worker exists and that `custom_object.alias` ({self.co.alias}) and "
                "`custom_object.path` match the tenant"
                if exc.status == httpx.codes.NOT_FOUND
                else ""
            )
            return WriteOutcome(idempotency_key=key, status="rejected", detail=exc.message + hint)
        return WriteOutcome(idempotency_key=key, status="confirmed", hcm_reference=_instance_id(reply))

    def _send(self, method: str, path: str, body: dict[str, str], key: str) -> httpx.Response:
        retrying = build_retrying(self.retry, self.stats, describe=f"{method} {path}").copy(
            retry=retry_if_exception(resend_safe)
        )
        for attempt in retrying:
            with attempt:
                return self._api.request(method, path, json=body, record_key=key)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    # --- reads ----------------------------------------------------------------------------------------
    def read_ratings(
        self, *, review_cycle: str, employee_ids: Sequence[str] | None = None
    ) -> Iterator[HcmRating]:
        """The ratings held for this cycle: the named workers one call each, or the whole cycle."""
        if employee_ids is None and self.co.report is not None:
            yield from self._read_report(self.co.report, review_cycle)
            return
        if employee_ids is None:
            employee_ids = self._all_workers()
            logger.warning(
                "connection `%s`: reading the custom object `%s` of %d workers one call each; add "
                "`custom_object.report` (a report listing every instance) to read a cycle in one call",
                self.connection,
                self.co.alias,
                len(employee_ids),
            )
        for employee_id in dict.fromkeys(employee_ids):
            instance = self._current(employee_id, review_cycle)
            rating = self._rating(employee_id, review_cycle, instance) if instance is not None else None
            if rating is not None:
                yield rating

    def _rating(self, employee_id: str, review_cycle: str, instance: Mapping[str, Any]) -> HcmRating | None:
        value = to_text(_fields(instance).get(self.co.rating_field))
        if value is None:
            return None
        return HcmRating(
            employee_id=employee_id,
            review_cycle=review_cycle,
            field=self.settings.ratings_field,
            value=value,
            hcm_reference=_instance_id(instance),
        )

    def _current(self, employee_id: str, review_cycle: str) -> dict[str, Any] | None:
        """The worker's instance for this cycle (the last one listed, if someone made several)."""
        matching = [
            item
            for item in self._instances(employee_id)
            if to_text(_fields(item).get(self.co.review_cycle_field)) == review_cycle
        ]
        if len(matching) > 1:
            logger.warning(
                "connection `%s`: worker %s holds %d instances of `%s` for review cycle `%s`; using the "
                "last one listed (%s)",
                self.connection,
                employee_id,
                len(matching),
                self.co.alias,
                review_cycle,
                _instance_id(matching[-1]),
            )
        return matching[-1] if matching else None

    def _instances(self, employee_id: str) -> list[dict[str, Any]]:
        """Every instance on one worker; none when Workday says 404 (no instance, or no such worker)."""
        path = self.worker_path(employee_id)
        if self.co.instances == "single":
            payload = self._get(path)
            return [payload] if payload else []
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            payload = self._get(path, params={"limit": PAGE_LIMIT, "offset": offset})
            if payload is None:
                return items
            total, data = payload.get("total"), payload.get("data")
            if not isinstance(data, list) or isinstance(total, bool) or not isinstance(total, int):
                raise self._bad_body(path, "lacks an integer `total` or a `data` list")
            items.extend(item for item in data if isinstance(item, dict))
            offset += len(data)
            if not data or offset >= total:
                return items

    def _get(self, path: str, *, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        try:
            for attempt in build_retrying(self.retry, self.stats, describe=f"GET {path}"):
                with attempt:
                    response = self._api.request("GET", path, params=params)
        except ConnectorError as exc:
            if type(exc) is ConnectorError and exc.status == httpx.codes.NOT_FOUND:
                return None
            raise
        try:
            payload = response.json()
        except ValueError as exc:
            raise self._bad_body(path, "is not JSON (truncated?)") from exc
        if not isinstance(payload, dict):
            raise self._bad_body(path, "is not a JSON object")
        return payload

    def _read_report(self, report: CustomObjectReport, review_cycle: str) -> Iterator[HcmRating]:
        owner = quote(report.owner or self.settings.report_owner or "")
        path = f"/ccx/service/customreport2/{quote(self.settings.tenant)}/{owner}/{quote(report.name)}"
        held: dict[str, HcmRating] = {}
        try:
            with self.client.api.download("GET", path, params={"format": "json"}) as body:
                for row in ijson.items(body, "Report_Entry.item"):
                    if not isinstance(row, dict):
                        continue
                    if to_text(row.get(self.co.review_cycle_field)) != review_cycle:
                        continue
                    who = to_text(row.get(report.worker_column))
                    value = to_text(row.get(self.co.rating_field))
                    if who is None or value is None:
                        continue
                    reference = to_text(row.get(report.instance_column)) if report.instance_column else None
                    held[who] = HcmRating(
                        employee_id=who,
                        review_cycle=review_cycle,
                        field=self.settings.ratings_field,
                        value=value,
                        hcm_reference=reference,
                    )
        except ijson.JSONError as exc:
            raise self._bad_body(path, f"is not complete JSON ({exc})") from exc
        yield from held.values()

    def _all_workers(self) -> list[str]:
        """Every worker's id, from the org report (`raas`) or the REST workers (`rest`, active only)."""
        if self.settings.mode == "raas":
            column = _ORG_REPORT_COLUMNS[self.id_type]
            ids: list[str] = []
            try:
                with self.client.report({}) as body:
                    for row in ijson.items(body, "Report_Entry.item"):
                        who = to_text(row.get(column)) if isinstance(row, dict) else None
                        if who is not None:
                            ids.append(who)
            except ijson.JSONError as exc:
                raise self._bad_body(self.client.report_path(), f"is not complete JSON ({exc})") from exc
            return ids
        if self.id_type != "WID":
            raise ConfigError(
                f"connection `{self.connection}`: the REST workers resource carries no Employee_ID, so "
                "a whole review cycle cannot be read with worker_id_type `Employee_ID` in mode `rest`; "
                "add `custom_object.report` or set `custom_object.worker_id_type: WID`",
                field="custom_object.report",
            )
        wids: list[str] = []
        offset = 0
        while True:
            total, page = self.client.page("workers", limit=self.settings.page_size, offset=offset)
            wids.extend(wid for wid in (to_text(w.get("id")) for w in page) if wid is not None)
            offset += len(page)
            if not page or offset >= total:
                return wids

    def _bad_body(self, path: str, what: str) -> SourceDataError:
        return SourceDataError(
            f"connection `{self.connection}`: Workday's answer to GET {path} {what}",
            connection=self.connection,
        )

    def close(self) -> None:
        """Close the HTTP connections of the writes (the shared client is the connector's)."""
        self._api.close()


def _fields(instance: Mapping[str, Any]) -> Mapping[str, Any]:
    """An instance's field values: flat (`{id, descriptor, <alias>: value}`) or under `data`."""
    nested = instance.get("data")
    return {**instance, **nested} if isinstance(nested, dict) else instance


def _instance_id(source: httpx.Response | Mapping[str, Any]) -> str | None:
    if isinstance(source, httpx.Response):
        try:
            payload = source.json()
        except ValueError:
            return None
        return to_text(payload.get("id")) if isinstance(payload, dict) else None
    return to_text(source.get("id"))


def _holds(instance: Mapping[str, Any], body: Mapping[str, str]) -> bool:
    """Whether the instance already holds every value of `body`."""
    fields = _fields(instance)
    return all(to_text(fields.get(name)) == value for name, value in body.items())
