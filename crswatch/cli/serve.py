"""`crswatch serve`: the subscription pages and the open data under waitress, with the thread that
sends confirmations and, with `[telegram] chats = "serve"`, the bot's webhook."""

from __future__ import annotations

import logging
import os
import signal
import sys
from dataclasses import replace
from typing import Any

import click

from .. import errors
from ..app import App


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
    from crswatch.web import create_app

    config = app.with_config(
        web=replace(app.config.web, host=host or app.config.web.host, port=port or app.config.web.port)
    )
    from crswatch.web.background import ConfirmationSender

    from ..config import way_out_problems, web_problems
    from ..sending import policy_of

    if not web_problems(config.web) and way_out_problems(config.alerts):  # (those are said by create_app)
        # refused rather than warned: strangers sign up here, and each must be able to stop the alerts
        raise errors.UsageError(f"serve refused: {way_out_problems(config.alerts)[0]}")
    host, port = config.web.host, config.web.port
    require_free(host, port)  # a taken port is said before anything is made on disk
    sender = ConfirmationSender(lambda: app.store, policy_of(config), services=lambda: app.services)
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
    from crswatch.store.host import host_name

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
        sender.stop(wait=STOP_WAIT)


def _hear_ctrl_c() -> None:
    """Ctrl-C (SIGINT) stops serve, however it was started.  A process inherits an ignored or
    blocked SIGINT from whoever starts it (a script's background job `crswatch serve &` ignores
    it; a loaded test run lost one for a minute this way), and Python keeps an ignored SIGINT
    ignored: serve then never heard it and kept serving."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _telegram_hook(app: App, config: Any) -> Any:
    """`[telegram] chats = "serve"`: the bot, told to send its chats' updates to this serve's webhook."""
    from crswatch.bot.run import Webhook
    from crswatch.web.webhook import PATH

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


def require_free(host: str, port: int) -> None:
    """Say a taken address in one line before anything is started or made on disk."""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise errors.UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --host/--port"
        ) from None


STOP_WAIT = 15.0  # seconds a stopping serve gives the confirmations being sent to be recorded
MAX_BODY = 64 * 1024  # bytes of a request body waitress accepts (Flask then refuses a form over 16 KB)
MAX_HEADERS = 32 * 1024


COMMANDS = (serve,)
