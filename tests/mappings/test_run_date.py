"""Each mapping's "today" is the run's date in the mapping's schedule time zone, not in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mappings import compile_plan
from mappings.compiler import run_date
from mappings.targets import TargetKR
from tests.mappings.conftest import kr, load, owner, soql

TWO_ZONES = """\
mappings:
  - id: tokyo
    connection: salesforce
    soql: SELECT COUNT(Id) n FROM Lead WHERE CreatedDate <= {window.end} AND CreatedDate <= {today}
    targets: {key_result: kr-tokyo}
    schedule: {cron: "0 6 * * *", timezone: Asia/Tokyo}
  - id: los_angeles
    connection: salesforce
    soql: SELECT COUNT(Id) n FROM Lead WHERE CreatedDate <= {window.end} AND CreatedDate <= {today}
    targets: {key_result: kr-la}
    schedule: {cron: "0 6 * * *", timezone: America/Los_Angeles}
  - id: utc
    connection: salesforce
    soql: SELECT COUNT(Id) n FROM Lead WHERE CreatedDate <= {window.end} AND CreatedDate <= {today}
    targets: {key_result: kr-utc}
"""
Q4 = (date(2026, 10, 1), date(2026, 12, 31))


def targets() -> dict[str, list[TargetKR]]:
    return {name: [kr(f"kr-{name}", owner(1), Q4)] for name in ("tokyo", "los_angeles", "utc")}


def rendered(now: datetime | None = None, today: date | None = None) -> dict[str, str]:
    plan = compile_plan(load(TWO_ZONES), targets(), now=now, today=today)
    requests = {request.key: soql(request) for request in plan.requests["salesforce"]}
    return {binding.mapping_id: requests[binding.inputs["value"].request_key] for binding in plan.bindings}


def test_late_evening_utc_is_already_tomorrow_in_tokyo_and_still_yesterday_in_los_angeles():
    now = datetime(2026, 11, 4, 23, 30, tzinfo=UTC)

    queries = rendered(now=now)

    assert queries["tokyo"].endswith("CreatedDate <= 2026-11-05 AND CreatedDate <= 2026-11-05")
    assert queries["utc"].endswith("CreatedDate <= 2026-11-04 AND CreatedDate <= 2026-11-04")
    assert queries["los_angeles"].endswith("CreatedDate <= 2026-11-04 AND CreatedDate <= 2026-11-04")


def test_early_morning_utc_is_still_yesterday_in_los_angeles():
    queries = rendered(now=datetime(2026, 11, 5, 3, 0, tzinfo=UTC))

    assert "2026-11-04" in queries["los_angeles"]
    assert "2026-11-05" in queries["utc"]
    assert "2026-11-05" in queries["tokyo"]


def test_today_overrides_every_zone():
    queries = rendered(now=datetime(2026, 11, 4, 23, 30, tzinfo=UTC), today=date(2026, 11, 20))

    assert all(text.endswith("<= 2026-11-20 AND CreatedDate <= 2026-11-20") for text in queries.values())


def test_run_date_without_a_schedule_is_the_utc_date():
    mapping = load(TWO_ZONES).get("utc")
    assert run_date(mapping, datetime(2026, 11, 4, 23, 30, tzinfo=UTC)) == date(2026, 11, 4)


@pytest.mark.parametrize("now", [None, datetime(2026, 11, 4, 23, 30)])
def test_a_plan_needs_an_aware_now_or_a_date(now):
    with pytest.raises(TypeError, match="aware datetime"):
        compile_plan(load(TWO_ZONES), targets(), now=now)
