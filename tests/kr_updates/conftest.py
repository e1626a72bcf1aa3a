"""The key-result update job against the real emulators: a synced org, tagged OKRs, and the data's truth.

Every test gets its own sandbox (Salesforce over TLS, Jira, GA4 and BambooHR for the org sync),
a config in `tmp_path` pointing at it, a store on SQLite or PostgreSQL (`store_url`), the org
synced into it, and an OKR file whose tagged key results are owned by people the emulators hold
data for. `World.expected_*` compute each value straight from the emulators' records, never
through their query engines, so a run's check-ins are compared with the data itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.contracts import Capability
from hub.http.stats import CallStats
from hub.jobs.kr_updates import KrUpdateOptions, KrUpdateResult, load_mapping_set, run_kr_updates
from hub.jobs.kr_updates.run import Outcome
from hub.jobs.kr_updates.state import MetricState, load_states
from hub.jobs.org_sync import OrgSyncOptions, run_org_sync
from hub.okrs.importing import import_okrs
from hub.okrs.source import parse_yaml_document
from hub.runtime import Runtime, open_runtime
from hub.store.models import KrMetricState, OkrCheckIn
from sandbox.ga4 import NOT_SET, Ga4Emulator
from sandbox.harness import Sandbox
from sandbox.jira import JiraEmulator
from sandbox.org import Employee, SyntheticOrg, generate_org
from sandbox.salesforce import SalesforceEmulator

PROPERTY = "123456789"
CYCLE = "2026-Q4"
CYCLE_START, CYCLE_END = date(2026, 10, 1), date(2026, 12, 31)
NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
"""The job's clock in job-level tests: windows, check-in times and staleness are all pinned to it."""
TODAY = NOW.date()
GA4_OFFSET_DAYS = 1
SELLERS, ENGINEERS, MARKETERS = 3, 3, 3
JIRA_PROJECTS = ("ENG", "PLAT", "INFRA")

RETRY = "{max_attempts: 2, backoff_base_seconds: 0.01, max_wait_seconds: 0.05, max_total_seconds: 5}"
CONFIG = """\
version: 1
connections:
  bamboohr:
    type: bamboohr
    base_url: {bamboohr}
    api_key: ${{BAMBOOHR_API_KEY}}
    timeout_seconds: 5
    retry: {retry}
  salesforce:
    type: salesforce
    base_url: {salesforce}
    ca_bundle: {ca_bundle}
    auth: refresh_token
    client_id: okrhub-sandbox
    client_secret: ${{SALESFORCE_CLIENT_SECRET}}
    refresh_token: ${{SALESFORCE_REFRESH_TOKEN}}
    timeout_seconds: 5
    retry: {retry}
  jira:
    type: jira
    base_url: {jira}
    deployment: cloud
    email: okrhub@acme.example
    api_token: ${{JIRA_API_TOKEN}}
    timeout_seconds: 5
    retry: {retry}
  ga4:
    type: google_analytics
    base_url: {ga4}
    service_account_json: ${{file:{ga4_key}}}
    property_ids: ["{property}"]
    timeout_seconds: 5
    retry: {retry}
mappings:
  path: {mappings}
org_sync:
  connection: bamboohr
  identities: {{salesforce: customSalesforceUserId, jira: customJiraAccountId}}
"""

MAPPINGS = """\
mappings:
  - id: closed_won_by_owner
    connection: salesforce
    soql: >
      SELECT SUM(Amount) total FROM Opportunity
      WHERE StageName = 'Closed Won'
      AND CloseDate >= {window.start} AND CloseDate <= {window.end}
      AND OwnerId = {owner.salesforce_id}
    value: total
    targets:
      selector: {tag: quota, cycle: 2026-Q4}
      for_each: owner
    on_no_data: zero
    suspect: {max_change_factor: 3.0}

  - id: win_rate_by_owner
    connection: salesforce
    queries:
      won:
        soql: >
          SELECT COUNT(Id) deals FROM Opportunity
          WHERE StageName = 'Closed Won' AND CloseDate >= {window.start} AND CloseDate <= {window.end}
          AND OwnerId = {owner.salesforce_id}
        value: deals
      closed:
        soql: >
          SELECT COUNT(Id) deals FROM Opportunity
          WHERE StageName IN ('Closed Won', 'Closed Lost')
          AND CloseDate >= {window.start} AND CloseDate <= {window.end}
          AND OwnerId = {owner.salesforce_id}
        value: deals
    expression: round(won / closed * 100, 1)
    targets:
      selector: {tag: win_rate, cycle: 2026-Q4}
      for_each: owner

  - id: open_pipeline
    connection: salesforce
    soql: >
      SELECT SUM(Amount) total FROM Opportunity
      WHERE StageName IN ('Prospecting', 'Negotiation') AND CloseDate <= {cycle.end}
    value: total
    targets: {key_result: kr-pipeline}

  - id: story_points_by_assignee
    connection: jira
    jql: >
      project in (ENG, PLAT, INFRA) AND statusCategory = Done
      AND resolved >= {window.start} AND resolved <= {window.end}
      AND assignee = {owner.jira_account_id}
    value: {aggregate: sum, field: Story point estimate}
    targets:
      selector: {tag: velocity, cycle: 2026-Q4}
      for_each: owner
    on_no_data: zero

  - id: campaign_sessions_by_owner
    connection: ga4
    ga4:
      property: "123456789"
      metric: sessions
      filter: {dimension: "customEvent:owner_email", equals: "{owner.email}"}
    targets:
      selector: {tag: campaigns, cycle: 2026-Q4}
      for_each: owner
    offset_days: 1
    on_no_data: hold
"""

MAPPING_OF_TAG = {
    "quota": "closed_won_by_owner",
    "win_rate": "win_rate_by_owner",
    "velocity": "story_points_by_assignee",
    "campaigns": "campaign_sessions_by_owner",
}
CONNECTION_OF_MAPPING = {
    "closed_won_by_owner": "salesforce",
    "win_rate_by_owner": "salesforce",
    "open_pipeline": "salesforce",
    "story_points_by_assignee": "jira",
    "campaign_sessions_by_owner": "ga4",
}
SOQL_PATH = r"/services/data/v[0-9.]+/query"
JQL_PATH = r"/rest/api/[23]/search"
GA4_PATH = r":(batchRunReports|runReport)$"


@dataclass(frozen=True)
class TaggedKr:
    """One key result of the test OKR file that a fan-out mapping updates."""

    key: str
    tag: str
    owner: Employee
    target: float
    extra: str = ""

    @property
    def mapping(self) -> str:
        return MAPPING_OF_TAG.get(self.tag, self.tag)


@dataclass
class World:
    """A running sandbox, a config pointing at it, a synced store with OKRs, and the data's truth."""

    sandbox: Sandbox
    runtime: Runtime
    config_path: Path
    mappings_path: Path
    okr_path: Path
    store_url: str
    sellers: list[Employee]
    idle_seller: Employee
    engineers: list[Employee]
    marketers: list[Employee]
    krs: list[TaggedKr] = field(default_factory=list)

    # --- emulators ---------------------------------------------------------------------------------
    @property
    def salesforce(self) -> SalesforceEmulator:
        return self.sandbox.salesforce

    @property
    def jira(self) -> JiraEmulator:
        return self.sandbox.jira

    @property
    def ga4(self) -> Ga4Emulator:
        return self.sandbox.ga4

    @property
    def engine(self) -> Any:
        return self.runtime.engine

    # --- running the job ---------------------------------------------------------------------------
    def run(self, *, now: datetime = NOW, **options: Any) -> KrUpdateResult:
        """One run of the job with the clock pinned to `now` (its date is the run's `today`)."""
        mappings = load_mapping_set(self.runtime.loaded)
        return run_kr_updates(
            self.runtime, mappings, options=KrUpdateOptions(**options), today=now.date(), clock=lambda: now
        )

    def write_mappings(self, text: str) -> None:
        self.mappings_path.write_text(text)

    def import_okrs(self, text: str) -> None:
        self.okr_path.write_text(text)
        import_okrs(self.engine, parse_yaml_document(text, source=str(self.okr_path)))

    # --- the store ---------------------------------------------------------------------------------
    def check_in_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(OkrCheckIn)) or 0)

    def state_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(KrMetricState)) or 0)

    def states(self) -> dict[str, MetricState]:
        keys = [(kr.key, kr.mapping) for kr in self.krs] + [("kr-pipeline", "open_pipeline")]
        return {kr: state for (kr, _), state in load_states(self.engine, keys).items()}

    # --- the data's truth --------------------------------------------------------------------------
    def window_end(self, today: date = TODAY, offset_days: int = 0) -> date:
        return min(today - timedelta(days=offset_days), CYCLE_END)

    def expected_won(self, owner: Employee, today: date = TODAY) -> float:
        """Closed-won amount of `owner` this cycle to date (0 when none: the mapping's on_no_data: zero)."""
        end = self.window_end(today)
        return float(
            sum(
                o["Amount"]
                for o in self.salesforce.records("Opportunity")
                if o["OwnerId"] == owner.salesforce_user_id
                and o["StageName"] == "Closed Won"
                and CYCLE_START <= o["CloseDate"] <= end
                and o["Amount"] is not None
            )
        )

    def expected_win_rate(self, owner: Employee, today: date = TODAY) -> float | None:
        end = self.window_end(today)
        closed = [
            o
            for o in self.salesforce.records("Opportunity")
            if o["OwnerId"] == owner.salesforce_user_id
            and o["StageName"] in ("Closed Won", "Closed Lost")
            and CYCLE_START <= o["CloseDate"] <= end
        ]
        won = [o for o in closed if o["StageName"] == "Closed Won"]
        return round(len(won) / len(closed) * 100, 1) if closed else None

    def expected_pipeline(self) -> float:
        return float(
            sum(
                o["Amount"]
                for o in self.salesforce.records("Opportunity")
                if o["StageName"] in ("Prospecting", "Negotiation")
                and o["CloseDate"] <= CYCLE_END
                and o["Amount"] is not None
            )
        )

    def expected_points(self, owner: Employee, today: date = TODAY) -> float:
        end = self.window_end(today)
        return float(
            sum(
                issue.story_points or 0.0
                for issue in self.jira.issues
                if issue.assignee == owner.jira_account_id
                and issue.project in JIRA_PROJECTS
                and issue.status == "Done"
                and issue.resolved is not None
                and CYCLE_START <= issue.resolved.date() <= end
            )
        )

    def expected_sessions(self, owner: Employee, today: date = TODAY) -> float | None:
        end = self.window_end(today, GA4_OFFSET_DAYS)
        days = [
            f.sessions
            for f in self.ga4.facts(PROPERTY)
            if f.owner == owner.email and CYCLE_START <= f.day <= end
        ]
        return float(sum(days)) if days else None

    def expected(self, kr: TaggedKr, today: date = TODAY) -> float | None:
        if kr.tag == "quota":
            return self.expected_won(kr.owner, today)
        if kr.tag == "win_rate":
            return self.expected_win_rate(kr.owner, today)
        if kr.tag == "velocity":
            return self.expected_points(kr.owner, today)
        return self.expected_sessions(kr.owner, today)

    def by_key(self, key: str) -> TaggedKr:
        return next(kr for kr in self.krs if kr.key == key)


def outcomes_by_key(result: KrUpdateResult) -> dict[str, Outcome]:
    return {o.kr_key: o for o in result.outcomes}


# --- choosing owners the emulators hold data for ------------------------------------------------------
def _active(org: SyntheticOrg) -> dict[str, Employee]:
    return {e.employee_id: e for e in org.active()}


def pick_sellers(
    org: SyntheticOrg, salesforce: SalesforceEmulator, count: int
) -> tuple[list[Employee], Employee]:
    """Sales people with Closed Won deals this cycle (and a closed deal to rate), and one with none."""
    by_user = {e.salesforce_user_id: e for e in _active(org).values() if e.salesforce_user_id}
    won: set[str] = set()
    lost: set[str] = set()
    owners: set[str] = set()
    for opp in salesforce.records("Opportunity"):
        owners.add(opp["OwnerId"])
        if CYCLE_START <= opp["CloseDate"] <= TODAY and opp["StageName"] == "Closed Lost":
            lost.add(opp["OwnerId"])
        if CYCLE_START <= opp["CloseDate"] <= TODAY and opp["StageName"] == "Closed Won" and opp["Amount"]:
            won.add(opp["OwnerId"])
    # Sellers who also lost a deal first, so their win rate is not simply 100%.
    ranked = sorted(won, key=lambda user: (user not in lost, user))
    chosen = [by_user[user] for user in ranked if user in by_user][:count]
    assert len(chosen) == count, "the synthetic org has too few sellers with closed-won deals this quarter"
    idle = next(by_user[user] for user in sorted(owners) if user in by_user and user not in won)
    return chosen, idle


def pick_engineers(org: SyntheticOrg, jira: JiraEmulator, count: int) -> list[Employee]:
    """Engineers with story points on issues done this cycle in ENG, PLAT or INFRA."""
    by_account = {e.jira_account_id: e for e in _active(org).values()}
    points: dict[str, float] = {}
    for issue in jira.issues:
        if (
            issue.assignee in by_account
            and issue.project in JIRA_PROJECTS
            and issue.status == "Done"
            and issue.resolved is not None
            and CYCLE_START <= issue.resolved.date() <= TODAY
            and issue.story_points
        ):
            points[issue.assignee] = points.get(issue.assignee, 0.0) + issue.story_points
    chosen = [by_account[a] for a in sorted(points) if points[a] >= 2][:count]
    assert len(chosen) == count, "the synthetic org has too few engineers with story points this quarter"
    return chosen


def pick_marketers(org: SyntheticOrg, ga4: Ga4Emulator, count: int) -> list[Employee]:
    """Campaign owners with GA4 sessions this cycle up to yesterday."""
    by_email = {e.email: e for e in _active(org).values()}
    end = TODAY - timedelta(days=GA4_OFFSET_DAYS)
    with_data = sorted(
        {f.owner for f in ga4.facts(PROPERTY) if f.owner != NOT_SET and CYCLE_START <= f.day <= end}
    )
    chosen = [by_email[email] for email in with_data if email in by_email][:count]
    assert len(chosen) == count, "the synthetic org has too few campaign owners with traffic this quarter"
    return chosen


# --- the OKR file ---------------------------------------------------------------------------------------
def okr_yaml(krs: Sequence[TaggedKr], *, ceo: str, extra: str = "") -> str:
    """A Q4 2026 cycle with one objective holding every tagged key result, plus the pipeline one."""
    lines = [
        "version: 1",
        "cycles:",
        f"  - key: {CYCLE}",
        "    name: Q4 2026",
        "    kind: quarterly",
        f"    start: {CYCLE_START.isoformat()}",
        f"    end: {CYCLE_END.isoformat()}",
        "    state: in_progress",
        "    cadence: weekly",
        "    objectives:",
        "      - key: o-numbers",
        "        title: Hit the numbers",
        "        level: company",
        f"        owner: {ceo}",
        "        key_results:",
        "          - key: kr-pipeline",
        "            title: Keep the open pipeline full",
        "            measurement: currency",
        "            currency: USD",
        "            target: 1000000000000",
    ]
    for kr in krs:
        lines += [
            f"          - key: {kr.key}",
            f"            title: {kr.tag} of {kr.owner.employee_id}",
            f"            target: {kr.target:g}",
            f"            owners: [{kr.owner.employee_id}]",
            f"            tags: [{kr.tag}]",
        ]
        lines += [f"            {line}" for line in kr.extra.splitlines() if line.strip()]
    return "\n".join(lines) + "\n" + extra


def tagged_krs(
    sellers: Sequence[Employee], idle: Employee, engineers: Sequence[Employee], marketers: Sequence[Employee]
) -> list[TaggedKr]:
    krs = [TaggedKr(f"kr-quota-{e.employee_id}", "quota", e, 10_000_000) for e in [*sellers, idle]]
    krs += [TaggedKr(f"kr-winrate-{e.employee_id}", "win_rate", e, 1000) for e in sellers]
    krs += [TaggedKr(f"kr-points-{e.employee_id}", "velocity", e, 10_000) for e in engineers]
    krs += [TaggedKr(f"kr-sessions-{e.employee_id}", "campaigns", e, 10_000_000) for e in marketers]
    return krs


# --- fixtures --------------------------------------------------------------------------------------------
@pytest.fixture
def org() -> SyntheticOrg:
    return generate_org(300, seed=11)


@pytest.fixture
def sandbox(org: SyntheticOrg) -> Iterator[Sandbox]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with Sandbox(org) as running:
        yield running


@pytest.fixture
def env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in sandbox.credentials().items():
        monkeypatch.setenv(name, value)
    return sandbox.credentials()


def write_config(sandbox: Sandbox, path: Path, mappings: Path) -> Path:
    path.write_text(
        CONFIG.format(
            bamboohr=sandbox.bamboohr_url,
            salesforce=sandbox.url("salesforce"),
            ca_bundle=sandbox.ca_bundle,
            jira=sandbox.url("jira"),
            ga4=sandbox.url("ga4"),
            ga4_key=sandbox.ga4_key_file,
            property=PROPERTY,
            mappings=mappings,
            retry=RETRY,
        )
    )
    return path


def sync_org(runtime: Runtime) -> None:
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
            options=OrgSyncOptions(),
        )
    assert result.status == "succeeded", result.error


MakeWorld = Callable[..., World]


@pytest.fixture
def make_world(
    sandbox: Sandbox, org: SyntheticOrg, env: dict[str, str], store_url: str, tmp_path: Path
) -> Iterator[MakeWorld]:
    """Build the world: config, org sync, OKRs (`extra` appends key results or cycles to the file)."""
    made: list[Runtime] = []

    def make(
        *, mappings: str = MAPPINGS, extra: str = "", krs: Callable[..., list[TaggedKr]] = tagged_krs
    ) -> World:
        mappings_path = tmp_path / "mappings.yaml"
        mappings_path.write_text(mappings)
        config = write_config(sandbox, tmp_path / "hub.yaml", mappings_path)
        runtime = open_runtime(config, database_url=store_url)
        made.append(runtime)
        sync_org(runtime)
        sellers, idle = pick_sellers(org, sandbox.salesforce, SELLERS)
        engineers = pick_engineers(org, sandbox.jira, ENGINEERS)
        marketers = pick_marketers(org, sandbox.ga4, MARKETERS)
        world = World(
            sandbox=sandbox,
            runtime=runtime,
            config_path=config,
            mappings_path=mappings_path,
            okr_path=tmp_path / "okrs.yaml",
            store_url=store_url,
            sellers=sellers,
            idle_seller=idle,
            engineers=engineers,
            marketers=marketers,
            krs=krs(sellers, idle, engineers, marketers),
        )
        world.import_okrs(okr_yaml(world.krs, ceo=org.active()[0].employee_id, extra=extra))
        return world

    yield make
    for runtime in made:
        runtime.engine.dispose()


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    return make_world()
