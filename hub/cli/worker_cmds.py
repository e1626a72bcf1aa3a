"""`okrhub worker`, `okrhub beat` and `okrhub jobs trigger`: Celery workers and beat on Redis (see workers/).

Each command loads the config, checks the Redis broker answers (a clear error and exit 1 when it
does not, so a supervisor retries; a configuration error exits 2 and should not be retried), then
runs Celery in this process. `workers` is imported only here, so the rest of the CLI starts
without Celery.

Example:
    ```bash
    okrhub worker --concurrency 4 --metrics-port 9808
    okrhub beat
    okrhub jobs trigger org_sync --wait 600
    ```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from hub.cli.common import EXIT_FAILED, EXIT_GUARDED, EXIT_OK, ConfigOption, JsonOption, err, errors_as_exit
from hub.config.loader import LoadedConfig, load_config
from hub.config.paths import default_config_path
from hub.scheduling.catalogue import load_catalogue
from hub.scheduling.metrics import serve_ledger_metrics

if TYPE_CHECKING:
    from celery import Celery

LogLevelOption = Annotated[
    str, typer.Option("--loglevel", "-l", help="Log level on stderr: DEBUG, INFO, WARNING, ERROR.")
]

_STATUS_EXIT = {"succeeded": EXIT_OK, "skipped": EXIT_OK, "guarded": EXIT_GUARDED}


def register(app: typer.Typer) -> None:
    """Add `worker`, `beat` and `jobs trigger` to `app`."""
    app.command("worker")(worker)
    app.command("beat")(beat)
    jobs_app = typer.Typer(help="Scheduled jobs on the Celery workers.", no_args_is_help=True)
    jobs_app.command("trigger")(jobs_trigger)
    app.add_typer(jobs_app, name="jobs")


def worker(
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Pool processes (default: the CPU count).")
    ] = None,
    queues: Annotated[
        str | None, typer.Option("--queues", "-Q", help="Comma-separated queues (default: okrhub).")
    ] = None,
    loglevel: LogLevelOption = "INFO",
    hostname: Annotated[
        str | None, typer.Option("--hostname", "-n", help="Node name (default: celery@HOST).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", min=1, max=65535, help="Serve Prometheus metrics on this port."),
    ] = None,
    metrics_addr: Annotated[str, typer.Option("--metrics-addr", help="Address the metrics listen on.")] = (
        "0.0.0.0"  # noqa: S104 - Prometheus scrapes from another host
    ),
    config: ConfigOption = None,
) -> None:
    """Run a Celery worker that runs the scheduled jobs beat (or `okrhub jobs trigger`) sends."""
    from celery.utils.nodenames import default_nodename, host_format

    from workers.settings import QUEUE

    with errors_as_exit():
        loaded = load_config(config or default_config_path())
        celery_app = _app_with_live_broker(loaded)
        if metrics_port is not None:
            serve_ledger_metrics(loaded.config.store.url, metrics_port, metrics_addr)
            err.print(Text(f"metrics on http://{metrics_addr}:{metrics_port}/metrics"))
    names = [name.strip() for name in (queues or QUEUE).split(",") if name.strip()]
    node = celery_app.Worker(
        hostname=host_format(default_nodename(hostname)),
        concurrency=concurrency,
        queues=names,
        loglevel=loglevel.upper(),
        pool_cls="prefork",
    )
    node.start()
    raise typer.Exit(int(node.exitcode or 0))


def beat(loglevel: LogLevelOption = "INFO", config: ConfigOption = None) -> None:
    """Run Celery beat: send each enabled job to the workers when its cron fires (run exactly one)."""
    with errors_as_exit():
        loaded = load_config(config or default_config_path())
        jobs = load_catalogue(loaded).enabled
        celery_app = _app_with_live_broker(loaded)
    if not jobs:
        err.print(Text("warning: no enabled scheduled job; beat will send nothing", style="yellow"))
    celery_app.Beat(loglevel=loglevel.upper()).run()


def jobs_trigger(
    name: Annotated[
        str, typer.Argument(help="The job's name: org_sync, metrics:<mapping ids>, writeback:ratings.")
    ],
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait", min=0, help="Wait up to this many seconds for the run and report how it went."
        ),
    ] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Send one job to the workers now (it runs once, like a scheduled run; exit 0 when queued)."""
    with errors_as_exit(json_output):
        loaded = load_config(config or default_config_path())
        job = load_catalogue(loaded).get(name)
        celery_app = _app_with_live_broker(loaded)
    from workers.settings import QUEUE, mask_url
    from workers.tasks import TASK_NAME

    try:
        result = celery_app.send_task(TASK_NAME, args=[job.name])
        queued: dict[str, Any] = {
            "ok": True,
            "job": job.name,
            "task_id": result.id,
            "queue": QUEUE,
            "broker": mask_url(str(celery_app.conf.broker_url)),
        }
        if wait is None:
            _print_queued(queued, json_output)
            raise typer.Exit(EXIT_OK)
        raise typer.Exit(_wait_for(result, wait, queued, json_output))
    finally:
        celery_app.close()


def _print_queued(queued: dict[str, Any], json_output: bool) -> None:
    if json_output:
        Console().print_json(data=queued)
        return
    Console().print(
        Text(
            f"queued `{queued['job']}` as task {queued['task_id']} on {queued['broker']} ({queued['queue']})"
        )
    )


def _wait_for(result: Any, seconds: float, queued: dict[str, Any], json_output: bool) -> int:
    from celery.exceptions import TimeoutError as CeleryTimeout

    try:
        outcome = result.get(timeout=seconds, propagate=False)
    except CeleryTimeout:
        message = (
            f"`{queued['job']}` (task {queued['task_id']}) has not finished after {seconds:g} s; it is "
            "queued or running: see `okrhub runs`, and check that a worker is running"
        )
        _report(
            {**queued, "ok": False, "error": {"type": "Timeout", "message": message}}, json_output, message
        )
        return EXIT_FAILED
    if not isinstance(outcome, dict):
        message = f"`{queued['job']}` (task {queued['task_id']}) failed on the worker: {outcome!r}"
        _report(
            {**queued, "ok": False, "error": {"type": "TaskFailed", "message": message}}, json_output, message
        )
        return EXIT_FAILED
    status = str(outcome.get("status"))
    code = _STATUS_EXIT.get(status, EXIT_FAILED)
    run = f"run {outcome.get('run_id')}" if outcome.get("run_id") is not None else "no run"
    line = f"`{queued['job']}` {status} ({run}): {outcome.get('summary') or ''}".rstrip(": ")
    _report({**queued, "ok": code == EXIT_OK, "report": outcome}, json_output, line, failed=code != EXIT_OK)
    return code


def _report(data: dict[str, Any], json_output: bool, line: str, *, failed: bool = True) -> None:
    if json_output:
        Console().print_json(data=data)
    elif failed:
        err.print(Text(f"error: {line}", style="bold red"), soft_wrap=True)
    else:
        Console().print(Text(line, style="green"), soft_wrap=True)


def _app_with_live_broker(loaded: LoadedConfig) -> Celery:
    """The Celery app of this config, once its broker has answered a ping."""
    from workers.app import create_app, ping_broker

    celery_app = create_app(loaded=loaded)
    ping_broker(str(celery_app.conf.broker_url))
    return celery_app
