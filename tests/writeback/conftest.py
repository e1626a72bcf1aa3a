"""Fixtures: both HCM emulators over real HTTP, a rating sink per HCM, and finalized ratings stand-ins."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from connectors.bamboohr import BambooHRConnector
from connectors.bamboohr.settings import BambooHRSettings
from connectors.workday import WorkdayConnector
from connectors.workday.settings import CustomObjectRatings, CustomObjectReport, ReviewPeriod, WorkdaySettings
from hub.contracts import ConnectorContext
from hub.http.retry import RetrySettings
from hub.http.stats import CallStats
from hub.jobs.writeback.settings import Period, WritebackSettings
from sandbox.bamboohr import BambooHREmulator
from sandbox.org import SyntheticOrg, generate_org
from sandbox.server import EmulatorApp, ServerThread
from sandbox.workday import WorkdayEmulator

CYCLE = "acme-2026"
START, END = date(2026, 1, 1), date(2026, 12, 31)
FAST_RETRY = RetrySettings(
    max_attempts=3, backoff_base_seconds=0.01, max_wait_seconds=0.2, max_total_seconds=10
)
WORKDAY_SCALE = {
    "1": "Below_Expectations",
    "2": "Meets_Expectations",
    "3": "Exceeds_Expectations",
    "4": "Outstanding",
}
SCALES = {
    "bamboohr": {"1": "Below", "2": "Meets", "3": "Exceeds", "4": "Outstanding"},
    "workday": WORKDAY_SCALE,
    "workday_co": WORKDAY_SCALE,
}
HCMS = ["bamboohr", "workday", "workday_co"]
"""BambooHR (custom table), Workday SOAP reviews, Workday custom object (`ratings_mode: custom_object`)."""
CUSTOM_OBJECT = CustomObjectRatings(
    alias="performanceRatings",
    rating_field="rating",
    review_cycle_field="reviewCycle",
    period_start_field="periodStart",
    period_end_field="periodEnd",
    comment_field="ratingComment",
    report=CustomObjectReport(name="okrhub_ratings"),
)
"""The sandbox tenant's ratings custom object (`sandbox.workday_custom_objects.CustomObjectDefinition`)."""


@dataclass(frozen=True, kw_only=True)
class StandInRating:
    """The shape of `hub.ratings.service.FinalRating`."""

    employee_id: str
    review_cycle: str
    value: int
    label: str
    finalized_at: datetime = datetime(2026, 11, 20, tzinfo=UTC)


@dataclass
class StandInRatings:
    """A finalized-ratings source: only ratings of finalized cycles are returned."""

    ratings: dict[str, int] = field(default_factory=dict)
    finalized: bool = True

    def __call__(self, _engine: Engine, review_cycle: str) -> list[StandInRating]:
        if not self.finalized:
            return []
        return [
            StandInRating(employee_id=who, review_cycle=review_cycle, value=value, label=f"L{value}")
            for who, value in sorted(self.ratings.items())
        ]


@dataclass
class Hcm:
    """One emulated HCM and what a test needs to drive and inspect it."""

    kind: str
    app: EmulatorApp
    url: str
    make_sink: Callable[..., Any]
    settings: WritebackSettings

    def writes_for(self, employee_id: str) -> int:
        """Writes the HCM stored for one employee (BambooHR: table rows)."""
        if isinstance(self.app, BambooHREmulator):
            return len(self.app.rows_of("customPerformanceRatings", employee_id))
        assert isinstance(self.app, WorkdayEmulator)
        if self.kind == "workday_co":
            return self.app.custom_objects.writes_for(employee_id)
        return self.app.writes_for(employee_id)

    def total_writes(self) -> int:
        if isinstance(self.app, BambooHREmulator):
            return len(self.app.rows_of("customPerformanceRatings"))
        assert isinstance(self.app, WorkdayEmulator)
        if self.kind == "workday_co":
            return len(self.app.custom_objects.writes)
        return len(self.app.rating_writes)

    def write_path(self) -> str:
        return {
            "bamboohr": "/tables/",
            "workday": "/Performance_Management/",
            "workday_co": "/customObjects/",
        }[self.kind]

    def change_by_hand(self, employee_id: str, value: str) -> None:
        """Someone edits the rating in the HCM directly."""
        if isinstance(self.app, BambooHREmulator):
            rows = self.app.table_rows["customPerformanceRatings"]
            rows.append(
                {"id": "99999", "employeeId": employee_id, "customReviewCycle": CYCLE, "customRating": value}
            )
            return
        assert isinstance(self.app, WorkdayEmulator)
        if self.kind == "workday_co":
            self.app.custom_objects.edit(employee_id, CYCLE, rating=value)
            return
        key = next(k for k in self.app.reviews if k[0] == employee_id)
        self.app.reviews[key]["rating"] = value


@pytest.fixture
def org() -> SyntheticOrg:
    return generate_org(40, seed=3)


def workday_settings(url: str, *, timeout: float = 2.0, **overrides: Any) -> WorkdaySettings:
    """A Workday connection to the emulator at `url` (SOAP ratings unless overridden)."""
    values: dict[str, Any] = {
        "base_url": url,
        "tenant": "acme",
        "client_id": "okrhub-sandbox",
        "client_secret": SecretStr("sandbox-workday-secret"),
        "refresh_token": SecretStr("sandbox-workday-refresh"),
        "report_owner": "isu_okrhub",
        "report_name": "okrhub_workers",
        "review_type_id": "Annual",
        "review_periods": {CYCLE: ReviewPeriod(start=START, end=END)},
        "retry": FAST_RETRY,
        "timeout_seconds": timeout,
    }
    return WorkdaySettings(**(values | overrides))


@pytest.fixture(params=HCMS)
def hcm(request: pytest.FixtureRequest, org: SyntheticOrg) -> Iterator[Hcm]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    kind: str = request.param
    app: EmulatorApp = BambooHREmulator(org) if kind == "bamboohr" else WorkdayEmulator(org)
    built: list[Any] = []
    with ServerThread(app) as server:

        def make_sink(*, stats: CallStats | None = None, timeout: float = 2.0) -> Any:
            context = ConnectorContext(connection=kind, stats=stats or CallStats())
            sink: Any
            if kind == "bamboohr":
                sink = BambooHRConnector(
                    BambooHRSettings(
                        base_url=f"{server.url}/api/gateway.php/acme/v1",
                        api_key=SecretStr("sandbox-bamboohr-key"),
                        retry=FAST_RETRY,
                        timeout_seconds=timeout,
                    ),
                    context=context,
                )
            elif kind == "workday":
                sink = WorkdayConnector(workday_settings(server.url, timeout=timeout), context=context)
            else:
                settings = workday_settings(
                    server.url,
                    timeout=timeout,
                    review_periods={},  # the custom object carries the cycle key
                    ratings_mode="custom_object",
                    custom_object=CUSTOM_OBJECT,
                )
                sink = WorkdayConnector(settings, context=context)
            built.append(sink)
            return sink

        settings = WritebackSettings(
            connection=kind,
            review_cycle=CYCLE,
            period=Period(start=START, end=END),
            scale=SCALES[kind],
            batch_size=4,
        )
        yield Hcm(kind=kind, app=app, url=server.url, make_sink=make_sink, settings=settings)
        for sink in built:
            sink.close()


@pytest.fixture
def people(org: SyntheticOrg) -> list[str]:
    """Ten employee ids of the org."""
    return sorted(org.employees, key=int)[:10]


@pytest.fixture
def ratings(people: list[str]) -> StandInRatings:
    return StandInRatings({who: 1 + index % 4 for index, who in enumerate(people)})
