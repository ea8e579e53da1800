"""Sending: routing each message to its room and pacing the services that limit rates.

Each channel is sent on its own so that every result is known and one bad channel never blocks
another.  E-mails through one server share a few SMTP sessions (`notifier.mail` writes them,
`notifier.smtp` sends them); Telegram alerts go through the Bot API (`notifier.telegram`);
everything else through apprise's plugin for the channel (`notifier.channels` loads it), with the
body format chosen per channel (HTML for e-mail, plain text elsewhere) and passed explicitly, so
apprise never converts a body on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from .channels import body_format, captured, hidden_of, last_line, load, load_checked
from .mail import Accounts, prepare_mail
from .mask import Secrets, delivering, mask_text
from .outgoing import OnResult, Outgoing, Result, recipient_key, route_of
from .services import Services, Spacing


def send(url: str, title: str, bodies: dict[str, str], services: Services) -> Result:
    """Send one message through one channel; `bodies` holds the text and HTML renderings."""
    results: list[Result] = []
    send_many([Outgoing("one", url, title, bodies)], 1, lambda _key, result: results.append(result), services=services)
    return results[0]


#: Parallel SMTP sessions to one mail server (each sends its share of messages in order).
SMTP_SESSIONS_PER_SERVER = 4


def send_many(
    items: Iterable[Outgoing],
    concurrency: int,
    on_result: OnResult,
    before_send: Callable[[], bool] = lambda: True,
    *,
    services: Services,
) -> None:
    """Send every item, at most `concurrency` in flight; `on_result(key, result)` for each as it
    completes (from worker threads).  E-mails through the same SMTP server share a few sessions,
    so ten thousand alerts cost a few connections, not ten thousand, and each still gets its own
    result.  One channel's messages are sent in the order given.  `before_send()` is called before
    each message leaves (the caller's bound on messages in flight, released by its `on_result`);
    once it returns False nothing more is sent, and the messages not sent get no result.
    `services`: the caller's bot, pacers and store (`Services()`: no bot, fresh pacers)."""
    routes: dict[str, list[Outgoing]] = {}
    for item in items:
        routes.setdefault(route_of(item.url), []).append(item)
    if not routes:
        return
    _warm_up(next(iter(routes.values()))[0].url)
    _dispatch_routes(routes, concurrency, on_result, before_send, services)


def _dispatch_routes(
    routes: dict[str, list[Outgoing]],
    concurrency: int,
    on_result: OnResult,
    before_send: Callable[[], bool],
    services: Services,
) -> None:
    plugins = partial(_send_plugins, before_send=before_send, spacing=services.spacing)
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="send") as pool:
        for route, batch in routes.items():
            if route == "telegram:":  # one pacer for every chat of the bot (notifier.telegram)
                from .telegram import send_all

                pool.submit(
                    _guard,
                    partial(
                        send_all,
                        settings=services.telegram,
                        pacer=services.telegram_pacer(),
                        store=services.store,
                        before_send=before_send,
                    ),
                    batch,
                    on_result,
                )
            elif not route.startswith("mail:"):
                pool.submit(_guard, plugins, batch, on_result)
        for route, batch in routes.items():
            if route.startswith("mail:"):
                _send_mail_route(pool, batch, concurrency, on_result, before_send, plugins)


def _send_mail_route(
    pool: ThreadPoolExecutor,
    items: list[Outgoing],
    concurrency: int,
    on_result: OnResult,
    before_send: Callable[[], bool],
    plugins: Callable[[list[Outgoing], OnResult], None],
) -> None:
    """This thread parses URLs and writes messages; the sessions (`notifier.smtp`) only talk SMTP,
    so they are never kept waiting for the GIL by CPU work of their own.  One channel's messages
    form one batch and stay in order; a message apprise's own plugin must send goes that way."""
    from .smtp import Route

    by_channel: dict[str, list[Outgoing]] = {}
    for item in items:
        by_channel.setdefault(item.url, []).append(item)
    accounts = Accounts()
    routes: dict[Any, Route] = {}
    urls = {item.key: item.url for item in items}

    def on_mail(key: str, ok: bool, error: str, accepted: tuple[str, ...]) -> None:
        # (called in the session's thread: its account's password is hidden from the error)
        on_result(key, Result(urls[key], ok, mask_text(error), tuple(recipient_key(a) for a in accepted)))

    try:
        for channel_items in by_channel.values():
            batch, account = [], None
            for item in channel_items:
                plugin, account, mail = prepare_mail(item, accounts)
                if mail is None:
                    pool.submit(_guard, plugins, [item], on_result)
                    continue
                batch.append(mail)
            if not batch:
                continue
            assert account is not None  # a batch holds mails, each of which named its account
            route = routes.get(account)
            if route is None:
                sessions = max(1, min(SMTP_SESSIONS_PER_SERVER, concurrency, len(by_channel)))
                route = routes[account] = Route(account, sessions)
                for _ in range(sessions):
                    pool.submit(_session, route, on_mail, before_send)
            route.put(batch)
    finally:
        for route in routes.values():
            route.close()


def _session(
    route: Any, on_mail: Callable[[str, bool, str, tuple[str, ...]], None], before_send: Callable[[], bool]
) -> None:
    """One SMTP session of a route (`notifier.smtp.Route`), its account's password hidden in
    whatever it logs or reports."""
    with delivering(Secrets(route.account.password or "")):
        route.run_session(on_mail, before_send)


def _warm_up(url: str) -> None:
    """Load apprise and its plugins here, before any worker thread does: two threads importing
    the same half-initialised module fail with ImportError (seen under load)."""
    load(url)  # the first instantiation loads every plugin module


def _guard(function: Callable[[list[Outgoing], OnResult], None], items: list[Outgoing], on_result: OnResult) -> None:
    """A worker never dies silently: anything unexpected fails its remaining messages."""
    done: set[str] = set()

    def record(key: str, result: Result) -> None:
        done.add(key)
        on_result(key, result)

    try:
        function(items, record)
    except Exception as exc:  # noqa: BLE001
        for item in items:
            if item.key not in done:
                on_result(item.key, Result(item.url, False, f"{type(exc).__name__}: {exc}"))


def _send_plugins(
    items: list[Outgoing], on_result: OnResult, before_send: Callable[[], bool], spacing: Spacing
) -> None:
    """Send through apprise's plugin for the channel, one message after the other.  A channel of
    which apprise drops a target is not sent at all: its failure is recorded and retried, and a
    retry would send again to the targets that took it (apprise reports no target's own fate)."""
    for item in items:
        if not before_send():
            return
        plugin, dropped = load_checked(item.url)
        if plugin is None:
            on_result(item.key, Result(item.url, False, "apprise cannot read this channel URL"))
            continue
        if dropped:
            on_result(item.key, Result(item.url, False, f"this channel does not reach every recipient: {dropped}"))
            continue
        fmt = body_format(plugin)
        spacing.wait(plugin)
        with delivering(hidden_of(item.url, plugin)), captured() as lines:  # its secrets hidden at any verbosity
            try:
                ok = bool(plugin.notify(body=item.bodies[fmt], title=item.title, body_format=fmt))
                error = "" if ok else last_line(lines) or "the service refused the message"
            except Exception as exc:  # noqa: BLE001 - this message fails (its error masked now), the next ones go on
                ok, error = False, mask_text(f"{type(exc).__name__}: {exc}")
        on_result(item.key, Result(item.url, ok, error))
