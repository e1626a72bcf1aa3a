"""Benchmark: write 20,000 finalized ratings back to each sandbox HCM, then run again (sends nothing).

    .venv/bin/python bench/writeback.py                       # 20,000 ratings, BambooHR and Workday
    .venv/bin/python bench/writeback.py --size 5000 --json bench/results/writeback.json
    .venv/bin/python bench/writeback.py --hcm workday --workday-mode custom_object

The emulators run in their own process (`python -m sandbox serve`), so the figures are the
client's side plus the loopback round trips. Per HCM:

- first: every rating sent (one HCM call each), outbox rows marked `sending` and recorded in
  batches of 200, into an empty SQLite store;
- second: the same finalized ratings again; nothing differs, so nothing is sent (0 API calls);
- reconcile: the whole cycle read back and compared (BambooHR: one table read; Workday SOAP:
  `Get_Employee_Reviews` pages; Workday custom object: one report).

The HCM is then read back to check that it holds each rating exactly once. `--workday-mode
custom_object` writes Workday's ratings to the emulator's custom object on workers (a lookup and
a create per new rating) instead of SOAP reviews.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import Engine

from connectors.bamboohr import BambooHRConnector
from connectors.bamboohr.settings import BambooHRSettings
from connectors.workday import WorkdayConnector
from connectors.workday.settings import CustomObjectRatings, CustomObjectReport, ReviewPeriod, WorkdaySettings
from hub.contracts import ConnectorContext
from hub.http.stats import CallStats
from hub.jobs.writeback import WritebackSettings, run_writeback
from hub.jobs.writeback.reconcile import reconcile
from hub.jobs.writeback.settings import Period
from hub.store.migrate import open_store

ROOT = Path(__file__).resolve().parent.parent
CYCLE = "bench-2026"
START, END = date(2026, 1, 1), date(2026, 12, 31)
SCALES = {
    "bamboohr": {"1": "Below", "2": "Partially meets", "3": "Meets", "4": "Exceeds", "5": "Outstanding"},
    "workday": {
        "1": "Below_Expectations",
        "2": "Partially_Meets_Expectations",
        "3": "Meets_Expectations",
        "4": "Exceeds_Expectations",
        "5": "Outstanding",
    },
}


@dataclass(frozen=True, kw_only=True)
class Final:
    """A finalized rating (the shape of `hub.ratings.service.FinalRating`)."""

    employee_id: str
    review_cycle: str
    value: int
    label: str
    finalized_at: datetime


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def finalized(size: int) -> list[Final]:
    """`size` finalized ratings, for employees 1001.. (the ids `generate_org` gives)."""
    at = datetime(2026, 11, 20, tzinfo=UTC)
    return [
        Final(
            employee_id=str(1001 + i),
            review_cycle=CYCLE,
            value=1 + i % 5,
            label=str(1 + i % 5),
            finalized_at=at,
        )
        for i in range(size)
    ]


CUSTOM_OBJECT = CustomObjectRatings(
    alias="performanceRatings",
    rating_field="rating",
    review_cycle_field="reviewCycle",
    period_end_field="periodEnd",
    report=CustomObjectReport(name="okrhub_ratings"),
)
"""The sandbox Workday's ratings custom object, read whole through its report."""


def make_sink(kind: str, url: str, stats: CallStats, workday_mode: str = "soap") -> Any:
    """The connector for one HCM emulator."""
    context = ConnectorContext(connection=kind, stats=stats)
    if kind == "bamboohr":
        return BambooHRConnector(
            BambooHRSettings(
                base_url=f"{url}/api/gateway.php/acme/v1", api_key=SecretStr("sandbox-bamboohr-key")
            ),
            context=context,
        )
    return WorkdayConnector(
        WorkdaySettings(
            base_url=url,
            tenant="acme",
            client_id="okrhub-sandbox",
            client_secret=SecretStr("sandbox-workday-secret"),
            refresh_token=SecretStr("sandbox-workday-refresh"),
            report_owner="isu_okrhub",
            report_name="okrhub_workers",
            review_periods={CYCLE: ReviewPeriod(start=START, end=END)},
            ratings_page_size=999,
            ratings_mode="custom_object" if workday_mode == "custom_object" else "soap",
            custom_object=CUSTOM_OBJECT if workday_mode == "custom_object" else None,
        ),
        context=context,
    )


def writeback_settings(kind: str) -> WritebackSettings:
    """The write-back config of one HCM."""
    return WritebackSettings(
        connection=kind, review_cycle=CYCLE, period=Period(start=START, end=END), scale=SCALES[kind]
    )


def one_run(engine: Engine, kind: str, url: str, ratings: list[Final], workday_mode: str) -> dict[str, Any]:
    """One write-back run; seconds, API calls and outcomes."""
    stats = CallStats()
    sink = make_sink(kind, url, stats, workday_mode)
    started = time.perf_counter()
    try:
        result = run_writeback(
            engine, sink, writeback_settings(kind), stats=stats, finalized=lambda _e, _c: ratings
        )
    finally:
        sink.close()
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "api_calls": stats.api_calls,
        "retries": stats.retries,
        "counts": result.counts,
        "status": result.status,
    }


def reconcile_run(
    engine: Engine, kind: str, url: str, ratings: list[Final], workday_mode: str
) -> dict[str, Any]:
    """A reconcile of the whole cycle; seconds, API calls, and how many agree."""
    stats = CallStats()
    sink = make_sink(kind, url, stats, workday_mode)
    started = time.perf_counter()
    try:
        report = reconcile(engine, sink, writeback_settings(kind), finalized=lambda _e, _c: ratings)
    finally:
        sink.close()
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "api_calls": stats.api_calls,
        "retries": stats.retries,
        "counts": {"matching": report.matching, "mismatches": len(report.mismatches)},
        "status": "succeeded",
    }


def held_once(kind: str, url: str, size: int, workday_mode: str) -> bool:
    """Whether the HCM holds exactly `size` ratings, one per person (table rows, reviews, instances)."""
    if kind == "bamboohr":
        rows = httpx.get(
            f"{url}/api/gateway.php/acme/v1/employees/all/tables/customPerformanceRatings",
            auth=("sandbox-bamboohr-key", "x"),
            headers={"Accept": "application/json"},
            timeout=120,
        ).json()
        return len(rows) == size and len({r["employeeId"] for r in rows}) == size
    if workday_mode == "custom_object":
        token = httpx.post(
            f"{url}/ccx/oauth2/acme/token",
            auth=("okrhub-sandbox", "sandbox-workday-secret"),
            data={"grant_type": "refresh_token", "refresh_token": "sandbox-workday-refresh"},
        ).json()["access_token"]
        rows = httpx.get(
            f"{url}/ccx/service/customreport2/acme/isu_okrhub/okrhub_ratings?format=json",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        ).json()["Report_Entry"]
        return len(rows) == size and len({r["Employee_ID"] for r in rows}) == size
    sink = make_sink(kind, url, CallStats())
    try:
        return len({r.employee_id for r in sink.read_ratings(review_cycle=CYCLE)}) == size
    finally:
        sink.close()


def bench(
    size: int, *, hcms: tuple[str, ...] = ("bamboohr", "workday"), workday_mode: str = "soap"
) -> dict[str, Any]:
    """Serve the sandbox in a child process and run each HCM twice, then reconcile."""
    ports = {"bamboohr": free_port(), "workday": free_port()}
    with tempfile.TemporaryDirectory() as tmp:
        args = [sys.executable, "-m", "sandbox", "serve", "--size", str(size), "--state-dir", tmp]
        for name in ("salesforce", "jira", "ga4"):
            args += [f"--{name}-port", "0"]
        args += ["--bamboohr-port", str(ports["bamboohr"]), "--workday-port", str(ports["workday"])]
        server = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results: dict[str, Any] = {"size": size, "workday_mode": workday_mode}
        try:
            for kind, port in ports.items():
                if kind not in hcms:
                    continue
                url = f"http://127.0.0.1:{port}"
                deadline = time.time() + 120
                while True:
                    try:
                        httpx.get(f"{url}/_sandbox/requests", timeout=1)
                        break
                    except httpx.HTTPError:
                        if time.time() > deadline or server.poll() is not None:
                            raise SystemExit("sandbox did not start") from None
                        time.sleep(0.2)
                engine = open_store(f"sqlite:///{Path(tmp) / f'{kind}.db'}")
                ratings = finalized(size)
                first = one_run(engine, kind, url, ratings, workday_mode)
                second = one_run(engine, kind, url, ratings, workday_mode)
                check = reconcile_run(engine, kind, url, ratings, workday_mode)
                engine.dispose()
                results[kind] = {
                    "first": first,
                    "second": second,
                    "reconcile": check,
                    "exactly_once": held_once(kind, url, size, workday_mode),
                }
        finally:
            server.terminate()
            server.wait(timeout=20)
    return results


def main() -> None:
    """Parse arguments, run, print the table (and write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--hcm", choices=("both", "bamboohr", "workday"), default="both")
    parser.add_argument(
        "--workday-mode",
        choices=("soap", "custom_object"),
        default="soap",
        help="Workday's ratings_mode: SOAP reviews (default) or the custom object on workers",
    )
    options = parser.parse_args()
    hcms = ("bamboohr", "workday") if options.hcm == "both" else (options.hcm,)
    results = bench(options.size, hcms=hcms, workday_mode=options.workday_mode)
    print(f"{results['size']:,} finalized ratings (Workday ratings_mode: {options.workday_mode})")
    print("| HCM | run | seconds | ratings/s | API calls | outcomes | exactly once |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for kind in hcms:
        for run in ("first", "second", "reconcile"):
            row = results[kind][run]
            rate = f"{results['size'] / row['seconds']:,.0f}" if run == "first" and row["seconds"] else "-"
            print(
                f"| {kind} | {run} | {row['seconds']} | {rate} | {row['api_calls']:,} | {row['counts']} | "
                f"{results[kind]['exactly_once']} |"
            )
    if options.json:
        options.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
