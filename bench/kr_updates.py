"""Benchmark: key-result updates for 2,000 owners x five fan-out mappings (10,000 key results).

    .venv/bin/python bench/kr_updates.py                 # 2,000 owners a mapping, a 12,000-person company
    .venv/bin/python bench/kr_updates.py --owners 2000 --json bench/results/kr_updates.json

The five emulators run in their own process (`python -m sandbox serve` on free ports with a
temporary `--state-dir`), so the figures are the hub's plus the wait for the emulators' answers.
Five `for_each: owner` mappings over the three metric sources:

- `bench_closed_won` (Salesforce SOQL): sum of each rep's closed-won amount this cycle;
- `bench_closed_deals` (Salesforce SOQL): how many deals each rep closed this cycle;
- `bench_story_points` (Jira JQL): story points each engineer finished this cycle;
- `bench_issues_resolved` (Jira JQL): how many issues each engineer resolved this cycle;
- `bench_sessions` (GA4): sessions of each marketer's campaigns this cycle, up to yesterday.

Each mapping targets its own tag, and each of its key results has one owner: `--owners` people
with data in that system (Sales people for SOQL, Engineering and Product people for JQL,
Marketing people for GA4; the company is sized so that there are enough of them, and anyone
else fills up a short list). Each phase runs in a fresh child process that reports its own
seconds, CPU seconds and peak RSS:

- org_sync: a full org sync from the sandbox BambooHR into an empty SQLite store (people and
  their Salesforce and Jira ids), so that every owner resolves;
- okr_import: import a generated OKR file (one objective per owner, 10,000 key results) with
  the import API `okrhub okrs import` uses;
- plan: what `okrhub mappings plan` does: load the OKRs, resolve targets, compile the plan;
- update: `run_kr_updates`, the first run: every key result gets its first check-in;
- update_again: the second run: the sources answer the same, nothing is written.

Before the timed phases the GA4 emulator builds its year of traffic once (a one-day report),
so its first-request cost does not land in `update`. API calls are counted twice: by the
connectors (`CallStats`, the run's `api_calls`) and at the emulators (`GET /_sandbox/requests`).

Targets (issue: key-result updates): at most 1% of the naive call count, and the whole update
in under 30 s on this machine. The 1% is checked both for the plan's calls (`planned_calls`, a
lower bound: one per SOQL or JQL request, one per five GA4 reports) and for the calls actually
made, which add a token call, Jira's `serverInfo` and `field` calls, and one call per page of
100 issues every JQL request reads (Jira has no server-side sums, so the connector reads every
matching issue).
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
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMPANY = "acme"
SEED = 42
CYCLE = "2026-Q4"
GA4_PROPERTY = "123456789"
EMULATORS = ("bamboohr", "salesforce", "jira", "ga4")
PHASES = ("org_sync", "okr_import", "plan", "update", "update_again")
MAPPING_IDS = (
    "bench_closed_won",
    "bench_closed_deals",
    "bench_story_points",
    "bench_issues_resolved",
    "bench_sessions",
)
SOURCE_DIVISIONS = {
    "salesforce": ("Sales",),
    "jira": ("Engineering", "Product"),
    "ga4": ("Marketing",),
}
"""Where each source's data lives in the synthetic company (see the sandbox emulators)."""

CONFIG = """\
version: 1
connections:
  bamboohr:
    type: bamboohr
    base_url: {bamboohr}
    api_key: ${{BAMBOOHR_API_KEY}}
    timeout_seconds: 300
  salesforce:
    type: salesforce
    base_url: {salesforce}
    ca_bundle: {ca_bundle}
    auth: refresh_token
    client_id: okrhub-sandbox
    client_secret: ${{SALESFORCE_CLIENT_SECRET}}
    refresh_token: ${{SALESFORCE_REFRESH_TOKEN}}
    timeout_seconds: 300
  jira:
    type: jira
    base_url: {jira}
    deployment: cloud
    email: okrhub@acme.example
    api_token: ${{JIRA_API_TOKEN}}
    timeout_seconds: 300
  ga4:
    type: google_analytics
    base_url: {ga4}
    service_account_json: ${{file:{ga4_key}}}
    property_ids: ["{property}"]
    timeout_seconds: 300
mappings:
  path: {mappings}
org_sync:
  connection: bamboohr
  identities: {{salesforce: customSalesforceUserId, jira: customJiraAccountId}}
  max_deactivate_ratio: 0.5
"""

MAPPINGS = """\
mappings:
  - id: bench_closed_won
    connection: salesforce
    soql: >
      SELECT SUM(Amount) total FROM Opportunity
      WHERE StageName = 'Closed Won'
      AND CloseDate >= {{window.start}} AND CloseDate <= {{window.end}}
      AND OwnerId = {{owner.salesforce_id}}
    value: total
    targets: {{selector: {{tag: bench_closed_won, cycle: {cycle}}}, for_each: owner}}
    on_no_data: zero

  - id: bench_closed_deals
    connection: salesforce
    soql: >
      SELECT COUNT(Id) deals FROM Opportunity
      WHERE IsClosed = true
      AND CloseDate >= {{window.start}} AND CloseDate <= {{window.end}}
      AND OwnerId = {{owner.salesforce_id}}
    value: deals
    targets: {{selector: {{tag: bench_closed_deals, cycle: {cycle}}}, for_each: owner}}
    on_no_data: zero

  - id: bench_story_points
    connection: jira
    jql: >
      project in (ENG, PLAT, INFRA) AND statusCategory = Done
      AND resolved >= {{window.start}} AND resolved <= {{window.end}}
      AND assignee = {{owner.jira_account_id}}
    value: {{aggregate: sum, field: Story point estimate}}
    targets: {{selector: {{tag: bench_story_points, cycle: {cycle}}}, for_each: owner}}
    on_no_data: zero

  - id: bench_issues_resolved
    connection: jira
    jql: >
      statusCategory = Done AND resolved >= {{window.start}} AND resolved <= {{window.end}}
      AND assignee = {{owner.jira_account_id}}
    value: {{aggregate: count}}
    targets: {{selector: {{tag: bench_issues_resolved, cycle: {cycle}}}, for_each: owner}}
    on_no_data: zero

  - id: bench_sessions
    connection: ga4
    ga4:
      property: "{property}"
      metric: sessions
      filter: {{dimension: "customEvent:owner_email", equals: "{{owner.email}}"}}
    targets: {{selector: {{tag: bench_sessions, cycle: {cycle}}}, for_each: owner}}
    offset_days: 1
    on_no_data: zero
"""

KEY_RESULTS = {
    # mapping id: (title, measurement lines, target)
    "bench_closed_won": ("closes $150k of new business", "measurement: currency\n  currency: USD", 150000),
    "bench_closed_deals": ("closes 8 deals", "unit: deals", 8),
    "bench_story_points": ("finishes 40 story points", "unit: points", 40),
    "bench_issues_resolved": ("resolves 25 issues", "unit: issues", 25),
    "bench_sessions": ("brings 5,000 campaign sessions", "unit: sessions", 5000),
}
OBJECTIVES = {
    # source: (key prefix, title, mappings of each owner's objective)
    "salesforce": ("sales", "Make the Q4 number", ("bench_closed_won", "bench_closed_deals")),
    "jira": ("eng", "Ship the Q4 roadmap", ("bench_story_points", "bench_issues_resolved")),
    "ga4": ("mkt", "Fill the Q4 pipeline with campaign traffic", ("bench_sessions",)),
}


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User plus system CPU seconds this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the company and its OKRs ---------------------------------------------------------------------
def choose_owners(size: int, owners: int) -> tuple[dict[str, list[str]], dict[str, str]]:
    """`owners` active people per source, those with data first; and each division's head.

    The sandbox serves `generate_org(size, seed=SEED)`; the same call here gives the same people.
    """
    from sandbox.org import generate_org

    org = generate_org(size, seed=SEED)
    active = sorted((e for e in org.employees.values() if e.is_active), key=lambda e: int(e.employee_id))
    if len(active) < owners:
        raise SystemExit(f"a {size:,}-person company has {len(active):,} active people; raise --size")
    chosen: dict[str, list[str]] = {}
    for source, divisions in SOURCE_DIVISIONS.items():
        with_data = [e.employee_id for e in active if e.division in divisions]
        others = [e.employee_id for e in active if e.division not in divisions]
        chosen[source] = (with_data + others)[:owners]
    heads = {e.division: e.employee_id for e in active if e.job_level == "E2"}
    ceo = next(e.employee_id for e in active if e.job_level == "E1")
    leads = {source: heads.get(divisions[0], ceo) for source, divisions in SOURCE_DIVISIONS.items()}
    return chosen, leads


def okr_file(owners: dict[str, list[str]], leads: dict[str, str]) -> str:
    """The OKR YAML: Q4 2026, a team objective per source, and one objective per owner under it."""
    lines = [
        "version: 1",
        "cycles:",
        f"  - key: {CYCLE}",
        "    name: Q4 2026",
        "    kind: quarterly",
        "    start: 2026-10-01",
        "    end: 2026-12-31",
        "    state: in_progress",
        "    cadence: weekly",
        "    objectives:",
    ]
    for source, people in owners.items():
        prefix, title, mapping_ids = OBJECTIVES[source]
        lines += [
            f"      - key: {prefix}-q4",
            f"        title: {title}",
            "        level: team",
            f"        owner: {leads[source]}",
            "        progress_source: children",
        ]
        for person in people:
            lines += [
                f"      - key: {prefix}-q4-{person}",
                f"        title: {title} ({person})",
                "        level: individual",
                f"        owner: {person}",
                f"        parent: {prefix}-q4",
                "        key_results:",
            ]
            for mapping_id in mapping_ids:
                kr_title, measurement, target = KEY_RESULTS[mapping_id]
                lines += [
                    f"          - key: {mapping_id.removeprefix('bench_')}-{person}",
                    f"            title: {person} {kr_title}",
                    *(f"            {line.strip()}" for line in measurement.splitlines()),
                    f"            target: {target}",
                    f"            owners: [{person}]",
                    f"            tags: [{mapping_id}]",
                ]
    return "\n".join(lines) + "\n"


# --- phases, each run in a child process ----------------------------------------------------------
def phase_org_sync(config: str, database: str) -> dict[str, Any]:
    """A full org sync into the empty store, as `okrhub sync org --full` runs it."""
    from hub.contracts import Capability
    from hub.http.stats import CallStats
    from hub.jobs.org_sync import OrgSyncOptions, run_org_sync
    from hub.runtime import open_runtime

    started, cpu = time.perf_counter(), cpu_seconds()
    runtime = open_runtime(Path(config), database_url=database)
    settings = runtime.loaded.config.org_sync
    assert settings is not None
    stats = CallStats()
    with runtime.connector(settings.connection, stats, capability=Capability.ORG_SOURCE) as source:
        result = run_org_sync(
            runtime.engine,
            connection=settings.connection,
            source=source,
            settings=settings,
            stats=stats,
            options=OrgSyncOptions(full=True),
        )
    if result.error is not None:
        raise SystemExit(f"org sync failed: {result.error}")
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": cpu_seconds() - cpu,
        "people": result.counts.get("created", 0),
        "api_calls": result.api_calls,
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_okr_import(config: str, database: str, okrs: str) -> dict[str, Any]:
    """Read and import the OKR file (what `okrhub okrs import FILE` does)."""
    from hub.okrs import import_okrs, read_okr_file
    from hub.runtime import open_runtime

    started, cpu = time.perf_counter(), cpu_seconds()
    runtime = open_runtime(Path(config), database_url=database)
    parsed = read_okr_file(Path(okrs))
    read = time.perf_counter() - started
    result = import_okrs(runtime.engine, parsed)
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": cpu_seconds() - cpu,
        "read_seconds": read,
        "objectives": result.counts["objectives"]["created"],
        "key_results": result.counts["key_results"]["created"],
        "api_calls": 0,
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_warmup(config: str, database: str, today: str) -> dict[str, Any]:
    """One single-day GA4 report, so the emulator builds its traffic before anything is timed."""
    from hub.contracts import Capability
    from hub.http.stats import CallStats
    from hub.metrics import Ga4Query, QueryRequest, TimeWindow
    from hub.runtime import open_runtime

    started = time.perf_counter()
    runtime = open_runtime(Path(config), database_url=database)
    day = date.fromisoformat(today)
    query = Ga4Query(property_id=GA4_PROPERTY, metric="sessions", date_range=TimeWindow(day, day))
    with runtime.connector("ga4", CallStats(), capability=Capability.METRIC_SOURCE) as source:
        (result,) = source.run_queries([QueryRequest(key="warmup", query=query)])
    if result.error is not None:
        raise SystemExit(f"GA4 warm-up failed: {result.error}")
    return {"seconds": time.perf_counter() - started}


def phase_plan(config: str, database: str, today: str) -> dict[str, Any]:
    """Load the OKRs, resolve every mapping's key results and owners, compile the plan."""
    from hub.jobs.kr_updates import load_mapping_set
    from hub.jobs.kr_updates.targets import resolve_targets
    from hub.okrs.repository import load_okrs
    from hub.runtime import open_runtime
    from mappings.compiler import compile_plan

    started, cpu = time.perf_counter(), cpu_seconds()
    runtime = open_runtime(Path(config), database_url=database)
    mappings = load_mapping_set(runtime.loaded)
    with runtime.engine.connect() as conn:
        stored = load_okrs(conn)
        loaded = time.perf_counter()
        targets, problems = resolve_targets(conn, mappings, stored)
    resolved = time.perf_counter()
    plan = compile_plan(mappings, targets, today=date.fromisoformat(today))
    compiled = time.perf_counter()
    return {
        "seconds": compiled - started,
        "cpu_seconds": cpu_seconds() - cpu,
        "load_okrs_seconds": loaded - started,
        "resolve_seconds": resolved - loaded,
        "compile_seconds": compiled - resolved,
        "bindings": len(plan.bindings),
        "problems": len(problems) + len(plan.problems),
        "naive_calls": plan.naive_calls,
        "planned_calls": plan.planned_calls,
        "requests": {connection: len(requests) for connection, requests in plan.requests.items()},
        "api_calls": 0,
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_update(config: str, database: str, today: str) -> dict[str, Any]:
    """One `run_kr_updates` over every mapping, as `okrhub sync metrics` runs it."""
    from sqlalchemy import func, select

    from hub.jobs.kr_updates import KrUpdateOptions, load_mapping_set, run_kr_updates
    from hub.runtime import open_runtime
    from hub.store.models import OkrCheckIn

    started, cpu = time.perf_counter(), cpu_seconds()
    runtime = open_runtime(Path(config), database_url=database)
    mappings = load_mapping_set(runtime.loaded)
    result = run_kr_updates(
        runtime, mappings, options=KrUpdateOptions(trigger="cli"), today=date.fromisoformat(today)
    )
    seconds = time.perf_counter() - started
    cpu_used = cpu_seconds() - cpu
    if result.status != "succeeded":
        raise SystemExit(
            f"update run {result.run_id} {result.status}: see `okrhub runs show {result.run_id}`"
        )
    with runtime.engine.connect() as conn:
        check_ins = conn.scalar(
            select(func.count()).select_from(OkrCheckIn).where(OkrCheckIn.author_kind == "connector")
        )
    by_mapping: dict[str, Counter[str]] = {}
    reasons: Counter[str] = Counter()
    for outcome in result.outcomes:
        tally = by_mapping.setdefault(outcome.mapping_id, Counter())
        tally[outcome.action] += 1
        tally["non_zero_values"] += bool(outcome.value)
        if outcome.action in ("failed", "held", "refused"):
            reasons[f"{outcome.mapping_id}: {outcome.reason}"] += 1
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_used,
        "run_id": result.run_id,
        "counts": result.counts,
        "by_mapping": {m: dict(c) for m, c in sorted(by_mapping.items())},
        "problems": dict(reasons.most_common(5)),
        "naive_calls": result.naive_calls,
        "planned_calls": result.planned_calls,
        "api_calls": result.api_calls,
        "retries": result.retries,
        "connector_check_ins_in_store": check_ins,
        "peak_rss_mb": peak_rss_mb(),
    }


PHASE_FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "org_sync": phase_org_sync,
    "okr_import": phase_okr_import,
    "warmup": phase_warmup,
    "plan": phase_plan,
    "update": phase_update,
    "update_again": phase_update,
}


def child(name: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", name, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- the emulators ----------------------------------------------------------------------------------
class Emulators:
    """`python -m sandbox serve` in its own process, on free ports, with a temporary state dir."""

    def __init__(self, size: int, state_dir: Path) -> None:
        self.size = size
        self.state_dir = state_dir
        self.ports = {name: free_port() for name in EMULATORS}
        self.process: subprocess.Popen[str] | None = None

    def url(self, name: str) -> str:
        scheme = "https" if name == "salesforce" else "http"
        return f"{scheme}://127.0.0.1:{self.ports[name]}"

    @property
    def ca_bundle(self) -> Path:
        return self.state_dir / "sandbox-ca.pem"

    @property
    def ga4_key(self) -> Path:
        return self.state_dir / "ga4-service-account.json"

    def start(self) -> float:
        """Start serving; the seconds it took the emulators to build the company's data."""
        started = time.perf_counter()
        command = [sys.executable, "-m", "sandbox", "serve", "--size", str(self.size), "--seed", str(SEED)]
        for name in EMULATORS:
            command += [f"--{name}-port", str(self.ports[name])]
        command += ["--workday-port", "0", "--state-dir", str(self.state_dir)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        deadline = time.time() + 300
        for name in EMULATORS:
            while True:
                try:
                    self.requests(name)
                    break
                except (httpx.HTTPError, OSError):
                    if time.time() > deadline or self.process.poll() is not None:
                        self.stop()
                        raise SystemExit("the sandbox did not start") from None
                    time.sleep(0.2)
        return time.perf_counter() - started

    def _client(self, name: str) -> httpx.Client:
        verify: Any = str(self.ca_bundle) if name == "salesforce" else True
        return httpx.Client(base_url=self.url(name), verify=verify, timeout=60)

    def requests(self, name: str) -> list[dict[str, Any]]:
        """Every request the emulator has answered since the last `clear`."""
        with self._client(name) as client:
            response = client.get("/_sandbox/requests")
            response.raise_for_status()
            return list(response.json()["requests"])

    def clear(self) -> None:
        for name in EMULATORS:
            with self._client(name) as client:
                client.delete("/_sandbox/requests").raise_for_status()

    def counted(self, names: tuple[str, ...] = ("salesforce", "jira", "ga4")) -> dict[str, dict[str, int]]:
        """Requests per emulator, by kind (`token`, `query`, `search`, `report`, ...)."""
        return {name: dict(Counter(_kind(name, r["path"]) for r in self.requests(name))) for name in names}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _kind(emulator: str, path: str) -> str:
    if emulator == "salesforce":
        if path.endswith("/oauth2/token"):
            return "token"
        if "/query/" in path.rstrip("/") + "/" and not path.rstrip("/").endswith("/query"):
            return "query_more"
        if "/query" in path:
            return "query"
        if "/limits" in path:
            return "limits"
        return "other"
    if emulator == "jira":
        if "/search" in path:
            return "search"
        return path.rsplit("/", 1)[-1] or "other"
    if emulator == "ga4":
        if path.endswith(":batchRunReports"):
            return "batchRunReports"
        if path.endswith(":runReport"):
            return "runReport"
        return "metadata" if path.endswith("/metadata") else "other"
    return "other"


# --- the run ---------------------------------------------------------------------------------------
def bench(size: int, owners: int, today: str) -> dict[str, Any]:
    chosen, leads = choose_owners(size, owners)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="okrhub-bench-kr-") as tmp_name:
        tmp = Path(tmp_name)
        emulators = Emulators(size, tmp / "sandbox")
        sandbox_seconds = emulators.start()
        try:
            from sandbox.harness import Sandbox

            env = {**os.environ, **Sandbox.credentials(), "PYTHONPATH": str(ROOT)}
            (tmp / "mappings").mkdir()
            (tmp / "mappings" / "bench.yaml").write_text(MAPPINGS.format(cycle=CYCLE, property=GA4_PROPERTY))
            okrs = tmp / "okrs.yaml"
            okrs.write_text(okr_file(chosen, leads))
            config = tmp / "hub.yaml"
            config.write_text(
                CONFIG.format(
                    bamboohr=f"{emulators.url('bamboohr')}/api/gateway.php/{COMPANY}/v1",
                    salesforce=emulators.url("salesforce"),
                    jira=emulators.url("jira"),
                    ga4=emulators.url("ga4"),
                    ca_bundle=emulators.ca_bundle,
                    ga4_key=emulators.ga4_key,
                    property=GA4_PROPERTY,
                    mappings=tmp / "mappings",
                )
            )
            database = f"sqlite:///{tmp / 'bench.db'}"
            common = (str(config), database)
            phases: dict[str, Any] = {}
            emulator_calls: dict[str, Any] = {}
            phases["org_sync"] = child("org_sync", *common, env=env)
            phases["okr_import"] = child("okr_import", *common, str(okrs), env=env)
            warmup = child("warmup", *common, today, env=env)
            phases["plan"] = child("plan", *common, today, env=env)
            for name in ("update", "update_again"):
                emulators.clear()
                phases[name] = child(name, *common, today, env=env)
                emulator_calls[name] = emulators.counted()
        finally:
            emulators.stop()
    for name in ("update", "update_again"):
        phases[name]["emulator_requests"] = sum(sum(c.values()) for c in emulator_calls[name].values())
    update = phases["update"]
    naive = max(1, update["naive_calls"])
    return {
        "size": size,
        "owners_per_mapping": owners,
        "mappings": len(MAPPING_IDS),
        "key_results": phases["okr_import"]["key_results"],
        "today": today,
        "load_average": {"before": load_before, "after": os.getloadavg()[0], "cpus": os.cpu_count()},
        "sandbox_start_seconds": sandbox_seconds,
        "ga4_warmup_seconds": warmup["seconds"],
        "phases": phases,
        "emulator_calls": emulator_calls,
        "naive_calls": update["naive_calls"],
        "planned_calls": update["planned_calls"],
        "planned_vs_naive": update["planned_calls"] / naive,
        "made_vs_naive": update["api_calls"] / naive,
        "targets": {
            "planned_at_most_1_percent_of_naive": update["planned_calls"] <= 0.01 * naive,
            "made_at_most_1_percent_of_naive": update["api_calls"] <= 0.01 * naive,
            "update_under_30_seconds": update["seconds"] < 30,
        },
    }


def report(result: dict[str, Any]) -> None:
    phases = result["phases"]
    update = phases["update"]
    print(
        f"\n== {result['key_results']:,} key results: {result['owners_per_mapping']:,} owners x "
        f"{result['mappings']} fan-out mappings, a {result['size']:,}-person company, as of {result['today']}"
    )
    load = result["load_average"]
    print(
        f"(sandbox start {result['sandbox_start_seconds']:.1f} s, GA4 traffic warm-up "
        f"{result['ga4_warmup_seconds']:.1f} s, not part of any phase; 1-minute load average "
        f"{load['before']:.1f} before, {load['after']:.1f} after, {load['cpus']} CPUs)"
    )
    print(f"{'phase':<14}{'seconds':>9}{'cpu s':>8}{'api calls':>11}{'at emulators':>14}{'peak MB':>9}")
    for name in PHASES:
        phase = phases[name]
        at_emulators = phase.get("emulator_requests", "")
        print(
            f"{name:<14}{phase['seconds']:>9.2f}{phase['cpu_seconds']:>8.2f}{phase['api_calls']:>11}"
            f"{at_emulators:>14}{phase['peak_rss_mb']:>9.0f}"
        )
    naive, planned, made = result["naive_calls"], result["planned_calls"], update["api_calls"]
    print(
        f"calls: naive {naive:,}, planned {planned:,} ({planned / naive:.2%} of naive), "
        f"made {made:,} ({made / naive:.2%} of naive, {update['retries']} retries)"
    )
    for name in ("update", "update_again"):
        calls = ", ".join(
            f"{emulator} {sum(kinds.values())} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})"
            for emulator, kinds in result["emulator_calls"][name].items()
        )
        print(f"{name} at the emulators: {calls}")
        counts = ", ".join(f"{n:,} {a.replace('_', ' ')}" for a, n in sorted(phases[name]["counts"].items()))
        print(
            f"{name} outcomes: {counts}; connector check-ins in the store: "
            f"{phases[name]['connector_check_ins_in_store']:,}"
        )
        for reason, count in phases[name]["problems"].items():
            print(f"  {count:,} x {reason}")
        for mapping_id, tally in phases[name]["by_mapping"].items():
            print(
                f"  {mapping_id:<22} {tally.get('checked_in', 0):>6,} checked in, "
                f"{tally.get('unchanged', 0):>6,} unchanged, "
                f"{tally.get('non_zero_values', 0):>6,} with a value other than 0"
            )
    plan = phases["plan"]
    print(
        f"plan: load OKRs {plan['load_okrs_seconds']:.2f} s, "
        f"resolve targets {plan['resolve_seconds']:.2f} s, compile {plan['compile_seconds']:.2f} s; "
        f"requests {plan['requests']}"
    )
    verdicts = {name: "met" if met else "MISSED" for name, met in result["targets"].items()}
    print(
        f"targets: planned calls <= 1% of naive: {verdicts['planned_at_most_1_percent_of_naive']}; "
        f"calls made <= 1% of naive: {verdicts['made_at_most_1_percent_of_naive']}; "
        f"update < 30 s: {verdicts['update_under_30_seconds']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--owners", type=int, default=2000, help="Key results (and owners) per mapping.")
    parser.add_argument(
        "--size",
        type=int,
        default=None,
        help="People in the synthetic company (default: 6x --owners, enough Sales, Engineering and "
        "Marketing people to own every key result with data).",
    )
    parser.add_argument(
        "--today",
        default=datetime.now(UTC).date().isoformat(),
        help="The run's date (YYYY-MM-DD); the sandbox's data covers 2026, the cycle is Q4 2026.",
    )
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, *rest = args.phase
        print(json.dumps(PHASE_FUNCTIONS[name](*rest), default=str))
        return
    size = args.size or max(6 * args.owners, 500)
    result = bench(size, args.owners, args.today)
    report(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
