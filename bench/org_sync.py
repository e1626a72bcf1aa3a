"""Benchmark: org sync of a large company from the sandbox BambooHR, full and then incremental.

    .venv/bin/python bench/org_sync.py                  # 100,000 people
    .venv/bin/python bench/org_sync.py --sizes 10000,50000,100000 --json bench/results/org_sync.json

The emulator runs in its own process (`python -m sandbox serve`), so the figures are the
client's alone. Each phase runs in a fresh child process, which reports its own seconds and
peak RSS:

- floor: download the same custom report the connector asks for and parse it with the same
  streaming parser into dicts. No sync can beat this.
- full: the first full sync into an empty SQLite store (every person created).
- full_again: a second full sync over an unchanged company (everything compared, nothing written).
- incremental: after 1% of the people change, an incremental sync.

Targets (issue 2): full within 2x of the floor, incremental 1% under 2 s, peak memory under
500 MB at 100,000 and growing less than linearly with size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
COMPANY = "acme"
API_KEY = "sandbox-bamboohr-key"

CONFIG = """\
version: 1
connections:
  bamboohr:
    type: bamboohr
    base_url: {base_url}
    api_key: ${{BAMBOOHR_API_KEY}}
    timeout_seconds: 300
org_sync:
  connection: bamboohr
  identities: {{salesforce: customSalesforceUserId, jira: customJiraAccountId}}
  max_deactivate_ratio: 0.5
"""


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- phases, each run in a child process ---------------------------------------------------------
def phase_floor(base_url: str) -> dict[str, Any]:
    """Download and parse the custom report exactly as the connector does, and nothing else."""
    import ijson
    from pydantic import SecretStr

    from connectors.bamboohr import BambooHRConnector
    from connectors.bamboohr.settings import BambooHRSettings
    from hub.contracts import ConnectorContext
    from hub.http.stats import CallStats

    settings = BambooHRSettings(base_url=base_url, api_key=SecretStr(API_KEY))
    connector = BambooHRConnector(settings, context=ConnectorContext(connection="bench", stats=CallStats()))
    fields = connector.default_fields().merged(
        identities={"salesforce": "customSalesforceUserId", "jira": "customJiraAccountId"}
    )
    connector.close()
    body = {"title": "okrhub", "fields": ["id", *fields.vendor_fields()]}
    started = time.perf_counter()
    rows = 0
    with httpx.Client(auth=(API_KEY, "x"), timeout=300) as client, tempfile.TemporaryFile() as spool:
        with client.stream(
            "POST",
            f"{base_url}/reports/custom",
            params={"format": "JSON", "onlyCurrent": "false"},
            json=body,
            headers={"Accept": "application/json"},
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes(256 * 1024):
                spool.write(chunk)
        spool.seek(0)
        for row in ijson.items(spool, "employees.item"):
            rows += len(row) > 0
    return {
        "seconds": time.perf_counter() - started,
        "records": rows,
        "api_calls": 1,
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_sync(config: str, database: str, full: bool) -> dict[str, Any]:
    """One org sync through the real runtime, connector and store."""
    from hub.contracts import Capability
    from hub.http.stats import CallStats
    from hub.jobs.org_sync import OrgSyncOptions, run_org_sync
    from hub.runtime import open_runtime

    runtime = open_runtime(Path(config), database_url=database)
    settings = runtime.loaded.config.org_sync
    assert settings is not None
    stats = CallStats()
    started = time.perf_counter()
    with runtime.connector(settings.connection, stats, capability=Capability.ORG_SOURCE) as source:
        result = run_org_sync(
            runtime.engine,
            connection=settings.connection,
            source=source,
            settings=settings,
            stats=stats,
            options=OrgSyncOptions(full=full),
        )
    seconds = time.perf_counter() - started
    if result.error is not None:
        raise SystemExit(f"sync failed: {result.error}")
    return {
        "seconds": seconds,
        "mode": result.mode,
        "records": result.counts.get("read", 0),
        "counts": result.counts,
        "api_calls": result.api_calls,
        "peak_rss_mb": peak_rss_mb(),
    }


def child(args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "BAMBOOHR_API_KEY": API_KEY, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, __file__, "--phase", *args], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"phase {args[0]} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench_size(size: int) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--size",
            str(size),
            "--bamboohr-port",
            str(port),
            "--workday-port",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}/api/gateway.php/{COMPANY}/v1"
    try:
        deadline = time.time() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/_sandbox/requests", timeout=1)
                break
            except httpx.HTTPError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("sandbox did not start") from None
                time.sleep(0.2)
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "hub.yaml"
            config.write_text(CONFIG.format(base_url=base_url))
            database = f"sqlite:///{Path(tmp) / 'bench.db'}"
            floor = child(["floor", base_url])
            full = child(["sync", str(config), database, "full"])
            full_again = child(["sync", str(config), database, "full"])
            changed = httpx.post(
                f"http://127.0.0.1:{port}/_sandbox/mutate", json={"change_ratio": 0.01, "seed": 7}, timeout=60
            ).json()
            incremental = child(["sync", str(config), database, "incremental"])
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "size": size,
        "changed": len(changed.get("changed", changed)) if isinstance(changed, dict) else len(changed),
        "floor": floor,
        "full": full,
        "full_again": full_again,
        "incremental": incremental,
        "full_vs_floor": full["seconds"] / floor["seconds"],
        "full_again_vs_floor": full_again["seconds"] / floor["seconds"],
    }


def report(result: dict[str, Any]) -> None:
    size = result["size"]
    print(f"\n== {size:,} people ({result['changed']:,} changed before the incremental run)")
    print(f"{'phase':<14}{'seconds':>9}{'records/s':>12}{'api calls':>11}{'peak MB':>10}")
    for name in ("floor", "full", "full_again", "incremental"):
        phase = result[name]
        rate = phase["records"] / phase["seconds"] if phase["seconds"] else 0
        print(
            f"{name:<14}{phase['seconds']:>9.2f}{rate:>12,.0f}{phase['api_calls']:>11}{phase['peak_rss_mb']:>10.0f}"
        )
    ratios = (result["full_vs_floor"], result["full_again_vs_floor"])
    print(f"full / floor = {ratios[0]:.2f}x   full_again / floor = {ratios[1]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        kind, *rest = args.phase
        if kind == "floor":
            print(json.dumps(phase_floor(rest[0])))
        else:
            print(json.dumps(phase_sync(rest[0], rest[1], full=rest[2] == "full")))
        return
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        result = bench_size(size)
        report(result)
        results.append(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
