"""`python -m sandbox`: run the emulators standalone, or the whole demo against them.

python -m sandbox serve --size 2000            # print base URLs, serve until Ctrl-C
python -m sandbox demo                         # sync the demo company into SQLite, import its OKRs, show them
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sandbox.harness import DEFAULT_STATE_DIR, Sandbox
from sandbox.org import generate_org

DEMO_STORE = DEFAULT_STATE_DIR.parent / "demo.db"
"""The demo's own SQLite store, recreated on each run."""
DEMO_PORTS = {"bamboohr": 8701, "workday": 8702, "salesforce": 8703, "jira": 8704, "ga4": 8705}
"""The ports config/hub.yaml points at."""

app = typer.Typer(help="okrhub's vendor emulators.", no_args_is_help=True, add_completion=False)
console = Console()

DEMO_CHECK_IN = ("q4-people-hires", "18", "rafael.van.1042@acme.example")
"""Key result, value and author (by email) of the demo's manual check-in; 18 of 40 never closes it."""

SizeOption = Annotated[int, typer.Option(help="People in the synthetic company.")]
SeedOption = Annotated[int, typer.Option(help="Seed: the same seed gives the same company.")]


@app.command()
def serve(
    size: SizeOption = 500,
    seed: SeedOption = 42,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only).")] = "127.0.0.1",
    bamboohr_port: Annotated[int, typer.Option(help="BambooHR port (0: any free port).")] = 8701,
    workday_port: Annotated[int, typer.Option(help="Workday port (0: any free port).")] = 8702,
    salesforce_port: Annotated[int, typer.Option(help="Salesforce port, TLS (0: any free port).")] = 8703,
    jira_port: Annotated[int, typer.Option(help="Jira port (0: any free port).")] = 8704,
    ga4_port: Annotated[int, typer.Option(help="GA4 port (0: any free port).")] = 8705,
    state_dir: Annotated[Path, typer.Option(help="Where the Salesforce CA and GA4 key are written.")] = (
        DEFAULT_STATE_DIR
    ),
) -> None:
    """Serve every vendor emulator until interrupted, printing their base URLs."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    org = generate_org(size, seed=seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ports = {
        "bamboohr": bamboohr_port,
        "workday": workday_port,
        "salesforce": salesforce_port,
        "jira": jira_port,
        "ga4": ga4_port,
    }
    with Sandbox(org, host=host, ports=ports, state_dir=state_dir) as sandbox:
        console.print(f"synthetic company: {len(org.employees):,} people (seed {seed})")
        console.print(f"BambooHR    base_url: {sandbox.bamboohr_url}")
        console.print(f"Workday     base_url: {sandbox.workday_url}  (tenant acme)")
        console.print(f"Salesforce  base_url: {sandbox.url('salesforce')}  (ca_bundle: {sandbox.ca_bundle})")
        console.print(f"Jira        base_url: {sandbox.url('jira')}")
        console.print(f"GA4         base_url: {sandbox.url('ga4')}  (key: {sandbox.ga4_key_file})")
        console.print("credentials, for a shell that runs okrhub against this sandbox:")
        for name, value in sandbox.credentials().items():
            console.print(f"  export {name}={value}")
        console.print("fault injection: POST /_sandbox/faults, request log: GET /_sandbox/requests")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


@app.command()
def demo(
    size: SizeOption = 500,
    seed: SeedOption = 42,
    config: Annotated[Path, typer.Option(help="Config file to run with.")] = Path("config/hub.yaml"),
    okrs: Annotated[Path, typer.Option(help="The company's OKR file to import.")] = Path(
        "config/okrs/acme.yaml"
    ),
    ratings: Annotated[Path, typer.Option(help="The annual review's manager ratings.")] = Path(
        "config/ratings/acme-2026.yaml"
    ),
) -> None:
    """Start the emulators, sync the demo company into the default SQLite store, and show the result.

    After the first sync it imports the company's OKRs, shows the alignment tree, checks in one
    key result by hand and shows the tree again; every step is idempotent, so the demo runs again
    on the same store (the check-in then simply adds another history entry).

    Runs the real `okrhub` commands in a child process, exactly as an admin would type them.
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    org = generate_org(size, seed=seed)
    with Sandbox(org, ports=DEMO_PORTS, state_dir=DEFAULT_STATE_DIR) as sandbox:
        env = {**os.environ, **{k: os.environ.get(k, v) for k, v in sandbox.credentials().items()}}
        env.setdefault("OKRHUB_CONFIG", str(config))
        # The emulators start empty every time, so the demo gets a fresh store of its own to match;
        # a real store (OKRHUB_DATABASE_URL, or .okrhub/okrhub.db) is never touched.
        DEMO_STORE.unlink(missing_ok=True)
        env["OKRHUB_DATABASE_URL"] = f"sqlite:///{DEMO_STORE}"
        console.print(f"demo store: {DEMO_STORE} (recreated on every demo run)")
        steps: list[tuple[str, list[str]]] = [
            ("check the config", ["validate"]),
            ("prove the connections work", ["check"]),
            # A store left by an earlier okrhub is migrated here (an empty one is created anyway).
            ("bring the store's schema up to date", ["db", "upgrade"]),
            ("nightly org sync from BambooHR (full the first time)", ["sync", "org"]),
            ("the company's OKRs, owned by the people just synced", ["okrs", "import", str(okrs)]),
            ("the alignment tree: progress, status colours, stale key results", ["okrs", "show"]),
            (
                "a manual check-in by the recruiting director",
                [
                    "okrs",
                    "checkin",
                    DEMO_CHECK_IN[0],
                    DEMO_CHECK_IN[1],
                    "--note",
                    "four offers accepted this week",
                    "--as",
                    DEMO_CHECK_IN[2],
                ],
            ),
            ("the tree after the check-in", ["okrs", "show"]),
            ("the metric mappings, coalesced into as few API calls as possible", ["mappings", "plan"]),
            ("key results update from Salesforce, Jira and GA4", ["sync", "metrics"]),
            ("the tree with the automated key results", ["okrs", "show", "--cycle", "2026-Q4"]),
        ]
        _run_steps(steps, env)
        # The review cycle is finalized by the end of the demo; a rerun reopens it (a recorded reopen).
        _run_quietly(["ratings", "reopen", "--reason", "the demo runs again", "--by", "1001"], env)
        steps = [
            ("manager ratings for the annual review", ["ratings", "import", str(ratings)]),
            (
                "calibration: the Sales VP moves one rating at director level",
                [
                    "ratings",
                    "calibrate",
                    "1083",
                    "2",
                    "--reason",
                    "carried the renewal desk in Q3",
                    "--by",
                    "1002",
                ],
            ),
            ("the distribution against the guideline", ["ratings", "distribution"]),
            (
                "finalize: ratings are locked and eligible for write-back",
                ["ratings", "finalize", "--by", "1001"],
            ),
            ("what write-back would send to BambooHR (dry run)", ["writeback", "ratings", "--dry-run"]),
            ("write the final ratings back, exactly once", ["writeback", "ratings"]),
            ("read back what the HCM holds and compare", ["writeback", "reconcile"]),
        ]
        _run_steps(steps, env)
        changed = org.mutate(0.02, seed=1)
        leaver = changed[0]
        org.terminate(leaver)
        hire = org.hire(org.active()[1].employee_id, title="Solutions Engineer")
        console.rule(
            f"[bold]the HCM changes: {len(changed)} people edited, {leaver} leaves, {hire.employee_id} joins"
        )
        _run_steps(
            [
                ("what the next sync would do (dry run)", ["sync", "org", "--dry-run"]),
                (
                    "the nightly job, run now as the scheduler runs it (incremental: only what changed)",
                    ["run", "--job", "org_sync"],
                ),
                ("who is in the store", ["people", "--limit", "15"]),
                ("the run ledger", ["runs", "--limit", "5"]),
                ("every scheduled job: when it runs next, how it last ended", ["status"]),
            ],
            env,
        )


def _run_quietly(args: list[str], env: dict[str, str]) -> int:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "hub.cli", *args], env=env, check=False, capture_output=True
    ).returncode


NOTHING_TO_CHANGE = "nothing to change"
"""What a refused no-op says (on a rerun, the demo's calibration is already applied): not a failure."""


def _run_steps(steps: list[tuple[str, list[str]]], env: dict[str, str]) -> None:
    for title, args in steps:
        console.rule(f"[bold]{title}: okrhub {' '.join(args)}")
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "hub.cli", *args], env=env, check=False, capture_output=True, text=True
        )
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        if result.returncode != 0 and NOTHING_TO_CHANGE in result.stderr + result.stdout:
            continue
        if result.returncode != 0:
            console.print(f"[red]`okrhub {' '.join(args)}` exited {result.returncode}[/red]")
            raise typer.Exit(result.returncode)
