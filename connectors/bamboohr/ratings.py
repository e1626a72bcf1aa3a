"""BambooHR as a rating sink: one custom-table row per rating, read back from the `all` table read.

BambooHR has no rating field; ratings go into a customer-defined custom table (`ratings.table`
in the connection settings). A POST adds a row, so a resent write is a duplicate row: a write is
resent only after a 429 or a refused connection, which prove nothing was stored. Any other
failure comes back as `retry` and the job reads the table back before deciding to send again.

Example:
    ```python
    ratings = BambooHRRatings(settings, context=context)
    outcomes = list(ratings.write_ratings(writes))
    held = list(ratings.read_ratings(review_cycle="2026-annual"))
    ```
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import retry_if_exception

from connectors.bamboohr.client import POLICY_OVERRIDES, describe_error
from connectors.bamboohr.settings import BambooHRSettings
from connectors.normalize import to_text
from hub.contracts import ConnectorContext
from hub.errors import ConnectorError, RateLimited, RecordRejected, SourceDataError, TransientError
from hub.http.client import ApiClient
from hub.http.retry import RetrySettings, build_retrying
from hub.ratings_contract import HcmRating, RatingWrite, WriteOutcome

logger = logging.getLogger(__name__)


def _resend_safe(error: BaseException) -> bool:
    """Only a 429 or a refused connection prove BambooHR stored nothing; only those are resent."""
    if isinstance(error, RateLimited) and error.status == httpx.codes.TOO_MANY_REQUESTS:
        return True
    return isinstance(error, TransientError) and isinstance(error.__cause__, httpx.ConnectError)


class BambooHRRatings:
    """Writes and reads rating rows of one BambooHR custom table."""

    def __init__(self, settings: BambooHRSettings, *, context: ConnectorContext) -> None:
        key = settings.api_key.get_secret_value()
        self.settings = settings
        self.table = settings.ratings
        self.connection = context.connection
        self.retry = context.retry or settings.retry
        self.stats = context.stats
        once = dataclasses.replace(context, retry=RetrySettings(max_attempts=1))
        self._api = ApiClient.for_connection(
            settings,
            once,
            auth=httpx.BasicAuth(key, "x"),
            headers={"Accept": "application/json"},
            policy_overrides=POLICY_OVERRIDES,
            describe_error=describe_error,
            secrets=frozenset({key}),
        )

    def _path(self, employee_id: str) -> str:
        return f"employees/{quote(employee_id, safe='')}/tables/{quote(self.table.table, safe='')}"

    def _row(self, write: RatingWrite, column: str) -> dict[str, str]:
        row = {self.table.review_cycle_field: write.review_cycle, column: write.value}
        if self.table.date_field:
            row[self.table.date_field] = write.period_end.isoformat()
        if self.table.comment_field and write.comment:
            row[self.table.comment_field] = write.comment
        return row

    def write_ratings(self, writes: Sequence[RatingWrite]) -> Iterator[WriteOutcome]:
        """One POST per write; a 406 (a value not among the options) is `rejected` with the reason."""
        for write in writes:
            yield self._write(write)

    def _write(self, write: RatingWrite) -> WriteOutcome:
        key = write.idempotency_key
        column = self.table.rating_fields.get(write.field)
        if column is None:
            return WriteOutcome(
                idempotency_key=key,
                status="rejected",
                detail=f"no table field for rating `{write.field}` in `ratings.rating_fields` of "
                f"connection `{self.connection}` (known: {', '.join(sorted(self.table.rating_fields))})",
            )
        path = self._path(write.employee_id)
        retrying = build_retrying(self.retry, self.stats, describe=f"POST {path}").copy(
            retry=retry_if_exception(_resend_safe)
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._api.request("POST", path, json=self._row(write, column), record_key=key)
        except RecordRejected as exc:
            return WriteOutcome(idempotency_key=key, status="rejected", detail=exc.reason)
        except TransientError as exc:
            return WriteOutcome(idempotency_key=key, status="retry", detail=exc.message)
        except ConnectorError as exc:
            if type(exc) is not ConnectorError or exc.status not in (400, 404, 412):
                raise  # auth, permission, unusable bodies: an admin must act for every write
            return WriteOutcome(idempotency_key=key, status="rejected", detail=exc.message)
        return WriteOutcome(idempotency_key=key, status="confirmed")

    def read_ratings(
        self, *, review_cycle: str, employee_ids: Sequence[str] | None = None
    ) -> Iterator[HcmRating]:
        """The latest row per employee and rating field for this cycle, from one `all` table read."""
        path = self._path("all")
        for attempt in build_retrying(self.retry, self.stats, describe=f"GET {path}"):
            with attempt:
                response = self._api.request("GET", path)
        try:
            rows: Any = response.json()
        except ValueError as exc:
            raise SourceDataError(
                f"connection `{self.connection}`: GET {path} returned a body that is not JSON",
                connection=self.connection,
            ) from exc
        if not isinstance(rows, list):
            raise SourceDataError(
                f"connection `{self.connection}`: GET {path} returned {type(rows).__name__}, "
                "not a list of rows",
                connection=self.connection,
            )
        wanted = set(employee_ids) if employee_ids is not None else None
        latest: dict[tuple[str, str], tuple[int, HcmRating]] = {}
        for row in rows:
            if not isinstance(row, dict) or to_text(row.get(self.table.review_cycle_field)) != review_cycle:
                continue
            employee_id = to_text(row.get("employeeId"))
            if employee_id is None or (wanted is not None and employee_id not in wanted):
                continue
            row_id = to_text(row.get("id")) or "0"
            order = int(row_id) if row_id.isdigit() else 0
            for field, column in self.table.rating_fields.items():
                value = to_text(row.get(column))
                held = latest.get((employee_id, field))
                if value and (held is None or held[0] < order):
                    rating = HcmRating(
                        employee_id=employee_id,
                        review_cycle=review_cycle,
                        field=field,
                        value=value,
                        hcm_reference=row_id,
                    )
                    latest[(employee_id, field)] = (order, rating)
        for _, rating in latest.values():
            yield rating

    def close(self) -> None:
        """Close the HTTP connections."""
        self._api.close()
