"""Operating commands: run (the scheduler), status (watch the watcher), config."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import click

from .. import errors
from ..app import App, services_of
from .main import silence_stdout


@click.command()
@click.option(
    "--every",
    metavar="DURATION",
    help="Interval inside the draw window, dividing an hour, e.g. 30s, 2m [config schedule.every; default 1m].",
)
@click.option(
    "--cron", metavar="EXPR", help='A crontab expression in America/Toronto time instead, e.g. "*/5 8-19 * * mon-fri".'
)
@click.option(
    "--window", metavar="SPEC", help="Draw window in America/Toronto time, or 'off' [default: mon-fri 08:30-19:30]."
)
@click.option("--outside-every", metavar="DURATION", help="Interval outside the window [default 15m].")
@click.option("--jitter", metavar="DURATION", help="Random delay added to each run [default 15s].")
@click.option("--source", metavar="URL", envvar="CRSWATCH_SOURCE", help="Feed URL (http, https or file).")
@click.option(
    "--metrics-port", type=click.IntRange(1, 65535), help="Also serve /metrics (Prometheus) and /healthz on this port."
)
@click.option(
    "--metrics-host",
    metavar="ADDRESS",
    default="127.0.0.1",
    show_default=True,
    help="The address --metrics-port listens on.",
)
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
    from scraper.crawl import run_reactor

    from ..runner import Runner
    from ..schedule import ScheduleError, plan_of, trigger_for
    from ..stopping import RUN_STOPPED, Stopping

    config = app.with_config(source=source)
    changes = {"every": every, "window": window, "outside_every": outside_every, "jitter": jitter, "cron": cron}
    config = app.with_config(schedule=replace(config.schedule, **{k: v for k, v in changes.items() if v is not None}))
    try:
        plan = plan_of(config.schedule)
        trigger_for(plan, config.schedule.cron)  # validate before starting
    except ScheduleError as exc:
        raise errors.UsageError(str(exc)) from None
    runner = Runner(
        config, app.database, app.store, plan, config.schedule.cron, bot=_run_bot(app, config), services=app.services
    )
    from notifier.mask import SecretFilter

    logging.getLogger("crswatch.run").setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    handler.addFilter(SecretFilter())
    logging.getLogger("crswatch.run").addHandler(handler)
    logging.getLogger("crswatch.run").propagate = False
    stopping = Stopping([], farewell=RUN_STOPPED)
    metrics = _metrics_server(app, metrics_host, metrics_port) if metrics_port else None
    try:
        run_reactor(lambda: runner.serve(max_cycles, stopping))
    finally:
        if metrics is not None:
            metrics.close()
    if runner.abandoned and stopping.signum is not None:
        raise stopping.error(RUN_STOPPED)


def _run_bot(app: App, config: Any) -> Any:
    """`[telegram] chats = "run"`: the Telegram bot polls on run's event loop (None otherwise)."""
    if config.telegram.chats != "run":
        return None
    if not config.telegram.token:
        raise errors.UsageError(
            '[telegram] chats = "run" needs the bot\'s token: set [telegram] token or CRSWATCH_TELEGRAM_TOKEN'
        )
    from bot.run import Polling

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

    _free(host, port)
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
    data = app.config.masked()
    if fmt == "json":
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


@click.command()
@click.option("--host", metavar="ADDRESS", help="Listen on this address [config web.host; default 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), help="Listen on this port [config web.port; default 8080].")
@click.pass_obj
def serve(app: App, host: str | None, port: int | None) -> None:
    """Serve the subscription pages (sign-up, manage, unsubscribe, latest draws) and the open data (Atom, JSON API).

    Runs the production WSGI server (waitress, one process, web.threads threads; the rate limits
    live in that process).  Put it behind a TLS reverse proxy and set alerts.public_url to its
    public address, web.proxies to 1, and web.email_channel to an apprise URL with {email}.

    \b
    Examples:
      crswatch serve
      crswatch serve --host 0.0.0.0 --port 8080
    """
    from web import create_app

    config = app.with_config(
        web=replace(app.config.web, host=host or app.config.web.host, port=port or app.config.web.port)
    )
    from web.background import ConfirmationSender

    from ..config import way_out_problems, web_problems
    from ..cycle import policy_of

    if not web_problems(config.web) and way_out_problems(config.alerts):  # (those are said by create_app)
        # refused rather than warned: strangers sign up here, and each must be able to stop the alerts
        raise errors.UsageError(f"serve refused: {way_out_problems(config.alerts)[0]}")
    host, port = config.web.host, config.web.port
    _free(host, port)  # a taken port is said before anything is made on disk
    sender = ConfirmationSender(lambda: app.store, policy_of(config), services=services_of(config, None))
    hook = _telegram_hook(app, config) if config.telegram.chats == "serve" else None
    try:
        _serve(app, config, create_app(app, sender, telegram_hook=hook), sender)
    finally:
        if hook is not None:
            hook.stop()


def _serve(app: App, config: Any, wsgi: Any, sender: Any) -> None:
    import waitress

    host, port = config.web.host, config.web.port
    try:
        server = waitress.create_server(
            wsgi, host=host, port=port, threads=config.web.threads, ident="crswatch", clear_untrusted_proxy_headers=True,
            # waitress itself refuses what no page needs, before buffering any of it (a form is < 16 KB):
            max_request_body_size=MAX_BODY, max_request_header_size=MAX_HEADERS,
            # idle clients are dropped soon and many connections fit; a trickling one is not idle (a proxy must cut it: README)
            connection_limit=config.web.connections, channel_timeout=config.web.idle_timeout, cleanup_interval=max(1, config.web.idle_timeout // 2),
        )  # fmt: skip
    except OSError as exc:
        raise errors.UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --host/--port"
        ) from None
    from store.host import host_name

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # systemd/docker stop: a clean exit 0
    _hear_ctrl_c()
    sender.start()
    try:  # the line is said once everything has started: a Ctrl-C from then on is a clean stop
        logging.getLogger("crswatch").info(
            "serving on http://%s:%d/ as host %s (pid %d)", host, port, host_name(), os.getpid()
        )
        click.echo(f"crswatch: serving the subscription pages on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        sender.stop()


def _hear_ctrl_c() -> None:
    """Ctrl-C (SIGINT) stops serve, however it was started.  A process inherits an ignored or
    blocked SIGINT from whoever starts it (a script's background job `crswatch serve &` ignores
    it; a loaded test run lost one for a minute this way), and Python keeps an ignored SIGINT
    ignored: serve then never heard it and kept serving."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _telegram_hook(app: App, config: Any) -> Any:
    """`[telegram] chats = "serve"`: the bot, told to send its chats' updates to this serve's webhook."""
    from bot.run import Webhook
    from web.webhook import PATH

    if not config.telegram.token:
        raise errors.UsageError(
            '[telegram] chats = "serve" needs the bot\'s token: set [telegram] token or CRSWATCH_TELEGRAM_TOKEN'
        )
    if not config.alerts.public_url:
        raise errors.UsageError(
            f'[telegram] chats = "serve" needs [alerts] public_url: Telegram sends the chats to <public_url>{PATH}'
        )
    hook = Webhook(app)
    hook.start(config.alerts.public_url.rstrip("/") + PATH)
    return hook


def _free(host: str, port: int) -> None:
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise errors.UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --host/--port"
        ) from None


MAX_BODY = 64 * 1024  # bytes of a request body waitress accepts (Flask then refuses a form over 16 KB)
MAX_HEADERS = 32 * 1024

COMMANDS = (run, status, show_config, serve)
