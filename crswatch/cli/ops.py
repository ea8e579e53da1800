"""Operating commands: run (the scheduler), status (watch the watcher), config; serve is in serve.py."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import click

from crswatch.notifier.mask import Secrets

from .. import errors
from ..app import App
from .main import silence_stdout
from .serve import require_free

EVERY_HELP = "Interval inside the draw window, dividing an hour, e.g. 30s, 2m [config schedule.every; default 1m]."
CRON_HELP = 'A crontab expression in America/Toronto time instead, e.g. "*/5 8-19 * * mon-fri".'
WINDOW_HELP = "Draw window in America/Toronto time, or 'off' [default: mon-fri 08:30-19:30]."
METRICS_HELP = "Also serve /metrics (Prometheus) and /healthz on this port."
METRICS_HOST_HELP = "The address --metrics-port listens on."


@click.command()
@click.option("--every", metavar="DURATION", help=EVERY_HELP)
@click.option("--cron", metavar="EXPR", help=CRON_HELP)
@click.option("--window", metavar="SPEC", help=WINDOW_HELP)
@click.option("--outside-every", metavar="DURATION", help="Interval outside the window [default 15m].")
@click.option("--jitter", metavar="DURATION", help="Random delay added to each run [default 15s].")
@click.option("--source", metavar="URL", envvar="CRSWATCH_SOURCE", help="Feed URL (http, https or file).")
@click.option("--metrics-port", type=click.IntRange(1, 65535), help=METRICS_HELP)
@click.option("--metrics-host", metavar="ADDRESS", default="127.0.0.1", show_default=True, help=METRICS_HOST_HELP)
@click.option("--max-cycles", type=click.IntRange(min=1), hidden=True, help="Stop after N cycles (for tests).")
@click.pass_obj
def run(app: App, every: str | None, cron: str | None, window: str | None, outside_every: str | None, jitter: str | None, source: str | None,
        metrics_port: int | None, metrics_host: str, max_cycles: int | None) -> None:  # fmt: skip
    """Run checks on a schedule in one long-lived process (stop with SIGTERM or Ctrl-C).

    Polls every --every inside the draw window (weekdays 08:30-19:30 America/Toronto, when IRCC
    publishes) and every --outside-every outside it.  One cycle at a time; a cron `check` and
    `run` share one lock and never collide.  Logs one line per cycle.

    \b
    Examples:
      crswatch run
      crswatch run --every 2m --window "mon-fri 09:00-18:00" --outside-every 1h
      crswatch run --every 30s --window off
      crswatch run --cron "*/10 8-19 * * mon-fri"
      crswatch run --metrics-port 9108
    """
    from crswatch.scraper.crawl import run_reactor

    from ..runner import Runner
    from ..stopping import RUN_STOPPED, Stopping

    flags = {"every": every, "window": window, "outside_every": outside_every, "jitter": jitter, "cron": cron}
    app.schedule_flags = {k: v for k, v in flags.items() if v is not None}  # they may mend the file's [schedule]
    app.with_config(source=source)
    config, plan = _scheduled(app)
    runner = Runner(
        config, app.database, app.store, plan, config.schedule.cron, bot=_run_bot(app, config), services=app.services
    )
    _log_cycles(app.secrets)
    stopping = Stopping([], farewell=RUN_STOPPED)
    metrics = _metrics_server(app, metrics_host, metrics_port) if metrics_port else None
    try:
        run_reactor(lambda: runner.serve(max_cycles, stopping))
    finally:
        if metrics is not None:
            metrics.close()
    if runner.abandoned and stopping.signum is not None:
        raise stopping.error(RUN_STOPPED)


def _scheduled(app: App) -> tuple[Any, Any]:
    """The configuration and its plan.  The command line's schedule options were read with the
    file's [schedule] (`App.schedule_flags`), and checked there: a bad one stopped the command
    with exit 2 before anything started."""
    from ..schedule import plan_of

    return app.config, plan_of(app.config.schedule)


def _log_cycles(secrets: Secrets) -> None:
    """One line per cycle on standard output, time-stamped, secrets masked."""
    from crswatch.notifier.mask import SecretFilter

    log = logging.getLogger("crswatch.run")
    log.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    handler.addFilter(SecretFilter(secrets))
    log.addHandler(handler)
    log.propagate = False


def _run_bot(app: App, config: Any) -> Any:
    """`[telegram] chats = "run"`: the Telegram bot polls on run's event loop (None otherwise)."""
    if config.telegram.chats != "run":
        return None
    if not config.telegram.token:
        raise errors.UsageError(
            '[telegram] chats = "run" needs the bot\'s token: set [telegram] token or CRSWATCH_TELEGRAM_TOKEN'
        )
    from crswatch.bot.run import Polling

    if app.verbose < 2:  # httpx logs each long poll at INFO (its URL masked): only with -vv, as for `crswatch bot`
        for name in ("httpx", "httpcore", "telegram"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return Polling(app)


def _metrics_server(app: App, host: str, port: int) -> Any:
    """/metrics and /healthz for `run`, served by waitress in a thread of their own (they read the
    store, never the scheduler's state, so they need nothing from the event loop)."""
    import threading

    import waitress

    from ..metrics import wsgi_app

    require_free(host, port)
    server = waitress.create_server(
        wsgi_app(app.config, app.store, app.database), host=host, port=port, threads=2, ident="crswatch"
    )
    threading.Thread(target=server.run, name="metrics", daemon=True).start()
    logging.getLogger("crswatch.run").info("crswatch run: /metrics and /healthz on http://%s:%d/", host, port)
    return server


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True, help="Output format."
)
@click.pass_obj
def status(app: App, fmt: str) -> None:
    """Show the last check, failures, the newest draw, the outbox and the scheduler.

    Exit 0 when healthy; 7 when not (a missed run: no successful check for 1.5x the expected
    interval; repeated feed failures; dead deliveries).  Made for monitoring and HEALTHCHECK.

    \b
    Examples:
      crswatch status
      crswatch status --format json
    """
    from ..status import report

    with app.database.reader() as view, app.read_store.read() as conn:
        data = report(view, conn, app.config, datetime.now(UTC), app.read_store.where.shown)
    try:
        if fmt == "json":
            click.echo(json.dumps(data, indent=2))
        else:
            _print_status(data)
        sys.stdout.flush()
    except BrokenPipeError:  # `status | head -1`: the reader left, but the exit code still tells the health
        silence_stdout()
    if not data["healthy"]:
        sys.exit(errors.UNHEALTHY)


def _print_status(data: dict[str, Any]) -> None:
    click.echo(f"health:        {'OK' if data['healthy'] else 'UNHEALTHY'}")
    click.echo(f"store:         {data['store']}")
    for problem in data["problems"] + data["warnings"]:  # the warnings do not make it unhealthy
        click.echo(f"  warning: {problem}")
    click.echo(
        f"last check:    {data['last_check_at'] or 'never'} ({data['last_outcome'] or '-'}: {data['last_message'] or ''})"
    )
    click.echo(
        f"last success:  {data['last_success_at'] or 'never'}; consecutive failures: {data['consecutive_failures']}"
    )
    draw = data["newest_draw"]
    click.echo(
        "newest draw:   "
        + (
            f"#{draw['number']} {draw['date']} {draw['program']}: {draw['invitations']:,} invitations, CRS {draw['crs']}"
            if draw
            else "none stored"
        )
    )
    d = data["deliveries"]
    click.echo(f"deliveries:    {d['queued']} queued, {d['failed']} failed, {d['dead']} dead, {d['sent']} sent")
    if data["pending_sign_ups"]:
        click.echo(f"sign-ups:      {data['pending_sign_ups']} waiting for confirmation (crswatch serve)")
    s = data["scheduler"]
    click.echo(
        f"scheduler:     running (host {s['host']}, pid {s['pid']}), next run {s['next_run']}"
        if s["running"]
        else "scheduler:     not running (cron or manual checks)"
    )


@click.command("config")
@click.option(
    "--format", "fmt", type=click.Choice(("toml", "json")), default="toml", show_default=True, help="Output format."
)
@click.pass_obj
def show_config(app: App, fmt: str) -> None:
    """Print the effective configuration (file, environment and flags), secrets masked.

    \b
    Examples:
      crswatch config
      crswatch --config /etc/crswatch/config.toml config --format json
    """
    from ..schedule import checked_plan, described

    data = app.config.masked()
    parsed = described(checked_plan(app.config.schedule), app.config.schedule.cron)
    if fmt == "json":
        data["schedule_read_as"] = parsed
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"# effective configuration (file: {data.pop('path') or 'none'}); channel URLs masked")
    sections = {k: v for k, v in data.items() if isinstance(v, dict)}
    for key, value in data.items():
        if not isinstance(value, dict):
            click.echo(f"{key} = {json.dumps(value)}")
    for name, values in sections.items():
        click.echo(f"\n[{name}]")
        for key, value in values.items():
            click.echo(f"{key} = {json.dumps(list(value) if isinstance(value, tuple) else value)}")
        if name == "schedule":
            click.echo(f"# read as: {json.dumps(parsed)}")


COMMANDS = (run, status, show_config)
