"""Workday as a rating sink: `Update_Employee_Review_Rating` per rating, read by `Get_Employee_Reviews`.

Workday knows a review by worker, review type and period, not by our cycle name, so reads look
the cycle's period up in `review_periods` of the connection settings.

Example:
    ```python
    ratings = WorkdayRatings(settings, context=context, auth=client.auth)
    outcomes = list(ratings.write_ratings(writes))
    held = list(ratings.read_ratings(review_cycle="2026-annual"))
    ```
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import httpx

from connectors.workday.settings import WorkdaySettings
from connectors.workday.soap import (
    WorkdaySoap,
    child_text,
    get_reviews_request,
    ref_id,
    update_rating_request,
)
from hub.contracts import ConnectorContext
from hub.errors import ConfigError, ConnectorError, RecordRejected, TransientError
from hub.ratings_contract import HcmRating, RatingWrite, WriteOutcome

logger = logging.getLogger(__name__)


class WorkdayRatings:
    """Writes and reads review ratings over SOAP for one Workday connection."""

    def __init__(self, settings: WorkdaySettings, *, context: ConnectorContext, auth: httpx.Auth) -> None:
        self.settings = settings
        self.connection = context.connection
        self._soap = WorkdaySoap(settings, context=context, auth=auth)

    def write_ratings(self, writes: Sequence[RatingWrite]) -> Iterator[WriteOutcome]:
        """One SOAP call per write; validation faults are `rejected` with Workday's own message."""
        for write in writes:
            yield self._write(write)

    def _write(self, write: RatingWrite) -> WriteOutcome:
        key = write.idempotency_key
        if write.field != self.settings.ratings_field:
            return WriteOutcome(
                idempotency_key=key,
                status="rejected",
                detail=f"Workday holds one review rating (`{self.settings.ratings_field}`), "
                f"not `{write.field}`; set `ratings_field` of connection `{self.connection}`",
            )
        payload = update_rating_request(
            version=self.settings.soap_version,
            employee_id=write.employee_id,
            review_type=self.settings.review_type_id,
            start=write.period_start,
            end=write.period_end,
            rating=write.value,
            comment=write.comment,
        )
        try:
            reply = self._soap.call(payload, record_key=key, resend_safe_only=True)
        except RecordRejected as exc:
            return WriteOutcome(idempotency_key=key, status="rejected", detail=exc.reason)
        except TransientError as exc:
            return WriteOutcome(idempotency_key=key, status="retry", detail=exc.message)
        except ConnectorError as exc:
            if exc.status is None or exc.status >= httpx.codes.INTERNAL_SERVER_ERROR:
                raise
            if type(exc) is not ConnectorError:
                raise  # AuthError, PermissionDenied: an admin must act for every write
            return WriteOutcome(idempotency_key=key, status="rejected", detail=exc.message)
        return WriteOutcome(
            idempotency_key=key, status="confirmed", hcm_reference=ref_id(reply, "Employee_Review_Reference")
        )

    def read_ratings(
        self, *, review_cycle: str, employee_ids: Sequence[str] | None = None
    ) -> Iterator[HcmRating]:
        """The rated reviews of this cycle's period, every page of them."""
        period = self.settings.review_periods.get(review_cycle)
        if period is None:
            raise ConfigError(
                f"connection `{self.connection}` has no period for review cycle `{review_cycle}`: add "
                f"`review_periods: {{{review_cycle}: {{start: YYYY-MM-DD, end: YYYY-MM-DD}}}}` so its "
                "reviews can be found in Workday",
                field="review_periods",
            )
        page, pages = 1, 1
        while page <= pages:
            reply = self._soap.call(
                get_reviews_request(
                    version=self.settings.soap_version,
                    review_type=self.settings.review_type_id,
                    start=period.start,
                    end=period.end,
                    employee_ids=list(employee_ids) if employee_ids is not None else None,
                    page=page,
                    count=self.settings.ratings_page_size,
                )
            )
            results = reply.find("{urn:com.workday/bsvc}Response_Results")
            pages = int(child_text(results, "Total_Pages") or 1) if results is not None else 1
            for review in reply.iter("{urn:com.workday/bsvc}Employee_Review"):
                data = review.find("{urn:com.workday/bsvc}Employee_Review_Data")
                if data is None:
                    continue
                employee_id, rating = ref_id(data, "Employee_Reference"), ref_id(data, "Rating_Reference")
                if employee_id and rating:
                    yield HcmRating(
                        employee_id=employee_id,
                        review_cycle=review_cycle,
                        field=self.settings.ratings_field,
                        value=rating,
                        hcm_reference=ref_id(review, "Employee_Review_Reference"),
                    )
            page += 1

    def close(self) -> None:
        """Close the SOAP client's connections."""
        self._soap.close()
