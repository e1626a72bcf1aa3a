"""Benchmark: write 20,000 finalized ratings back to each sandbox HCM, then run again (sends nothing).

    .venv/bin/python bench/writeback.py                       # 20,000 ratings, BambooHR and Workday
    .venv/bin/python bench/writeback.py --size 5000 --json bench/results/writeback.json

The emulators run in their own process (`python -m sandbox serve`), so the figures are the
client's side plus the loopback round trips. Per HCM:

- first: every rating sent (one HCM call each), outbox rows marked `sending` and recorded in
  batches of 200, into an empty SQLite store;
- second: the same finalized ratings again; nothing differs, so nothing is sent (0 API calls).

The HCM is then read back to check that it holds each rating exactly once.
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
from connectors.workday.settings import ReviewPeriod, WorkdaySettings
from hub.contracts import ConnectorContext
from hub.http.stats import CallStats
from hub.jobs.writeback import WritebackSettings, run_writeback
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


def make_sink(kind: str, url: str, stats: CallStats) -> Any:
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
        ),
        context=context,
    )


def one_run(engine: Engine, kind: str, url: str, ratings: list[Final]) -> dict[str, Any]:
    """One write-back run; seconds, API calls and outcomes."""
    settings = WritebackSettings(
        connection=kind, review_cycle=CYCLE, period=Period(start=START, end=END), scale=SCALES[kind]
    )
    stats = CallStats()
    sink = make_sink(kind, url, stats)
    started = time.perf_counter()
    try:
        result = run_writeback(engine, sink, settings, stats=stats, finalized=lambda _e, _c: ratings)
    finally:
        sink.close()
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "api_calls": stats.api_calls,
        "retries": stats.retries,
        "counts": result.counts,
        "status": result.status,
    }


def held_once(kind: str, url: str, size: int) -> bool:
    """Whether the HCM holds exactly `size` ratings (BambooHR: table rows, Workday: write log)."""
    if kind == "bamboohr":
        rows = httpx.get(
            f"{url}/api/gateway.php/acme/v1/employees/all/tables/customPerformanceRatings",
            auth=("sandbox-bamboohr-key", "x"),
            headers={"Accept": "application/json"},
            timeout=120,
        ).json()
        return len(rows) == size and len({r["employeeId"] for r in rows}) == size
    sink = make_sink(kind, url, CallStats())
    try:
        return len({r.employee_id for r in sink.read_ratings(review_cycle=CYCLE)}) == size
    finally:
        sink.close()


def bench(size: int) -> dict[str, Any]:
    """Serve the sandbox in a child process and run both HCMs twice."""
    ports = {"bamboohr": free_port(), "workday": free_port()}
    with tempfile.TemporaryDirectory() as tmp:
        args = [sys.executable, "-m", "sandbox", "serve", "--size", str(size), "--state-dir", tmp]
        for name in ("salesforce", "jira", "ga4"):
            args += [f"--{name}-port", "0"]
        args += ["--bamboohr-port", str(ports["bamboohr"]), "--workday-port", str(ports["workday"])]
        server = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results: dict[str, Any] = {"size": size}
        try:
            for kind, port in ports.items():
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
                first = one_run(engine, kind, url, ratings)
                second = one_run(engine, kind, url, ratings)
                engine.dispose()
                results[kind] = {"first": first, "second": second, "exactly_once": held_once(kind, url, size)}
        finally:
            server.terminate()
            server.wait(timeout=20)
    return results


def main() -> None:
    """Parse arguments, run, print the table (and write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--json", type=Path, default=None)
    options = parser.parse_args()
    results = bench(options.size)
    print(f"{results['size']:,} finalized ratings")
    print("| HCM | run | seconds | ratings/s | API calls | outcomes | exactly once |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for kind in ("bamboohr", "workday"):
        for run in ("first", "second"):
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
