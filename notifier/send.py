"""The only module that talks to apprise: check, mask and send channel URLs.

Each channel is sent on its own so that every result is known and one bad channel never blocks
another.  The body format is chosen here per channel (HTML for e-mail, plain text elsewhere) and
passed to apprise explicitly, so apprise never converts a body on its own.  E-mail fan-out reuses
SMTP sessions (`notifier.smtp`, on smtplib, with the settings apprise parsed from each mailto://
URL) and builds each message from crswatch's own text and HTML renderings.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid
from functools import lru_cache, partial
from typing import Any

from .mask import remember, remember_difference

TEXT, HTML = "text", "html"


def _apprise() -> Any:
    import apprise

    return apprise


def load(url: str) -> Any | None:
    """The apprise plugin for a URL, or None when apprise cannot read it."""
    return _apprise().Apprise.instantiate(url, suppress_exceptions=True)


# What apprise logs when it reads a URL and leaves out a part it names ("Dropped invalid To email
# (x) specified.", "A specified ntfy topic (x) is invalid and will be ignored"): that target would
# never get a message while the send still reports success.
_DROPPED = re.compile(r"(?i)\b(dropped|ignored|invalid)\b")


def load_checked(url: str) -> tuple[Any | None, str]:
    """`load`, and what apprise dropped of the URL while reading it ("" when nothing)."""
    from .mask import mask_text

    _install_log_capture()
    with _captured() as lines:
        plugin = load(url)
    dropped = _not_addresses(url, plugin) or [line.strip() for line in lines if _DROPPED.search(line)]
    return plugin, mask_text("; ".join(dropped)[:300])


def _not_addresses(url: str, plugin: Any) -> list[str]:
    """The recipients an e-mail URL names (to, cc, bcc, the path) that apprise did not keep: it
    drops some without a word ("a@example.com,justtext" keeps a@example.com alone)."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    if plugin is None or url.partition("://")[0].lower() not in ("mailto", "mailtos"):
        return []
    try:
        parts = urlsplit(url)
        named = [unquote(p) for p in parts.path.split("/") if p]
        named += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() in ("to", "cc", "bcc")]
    except ValueError:
        return []
    kept = {address.lower() for _, address in plugin.targets} | {a.lower() for a in plugin.cc} | {a.lower() for a in plugin.bcc}
    entries = [entry.strip() for value in named for entry in re.split(r"[,;]", value) if entry.strip()]
    return [f"{entry!r} is not an e-mail address" for entry in entries
            if not ((found := _PLAIN_ADDRESS.search(entry)) and found.group(0).lower() in kept)]  # fmt: skip


def check_url(url: str) -> str:
    """The masked form of a channel URL apprise can load and send to every target it names;
    ValueError saying why not otherwise (without repeating the URL, which may hold a password)."""
    if "://" not in url:
        raise ValueError("not an apprise URL (expected something like mailto://… or slack://…)")
    scheme = url.split("://", 1)[0].lower()
    if scheme not in _schemes():
        raise ValueError(f"apprise knows no service {scheme!r}")
    plugin, dropped = load_checked(url)
    if plugin is None:
        raise ValueError(_mail_sender_missing(url, scheme) or f"apprise cannot read this {scheme}:// URL: {why_not(url, scheme)}")
    if dropped:
        raise ValueError(f"it would not reach every recipient: {dropped}")
    if scheme in ("mailto", "mailtos") and not list(plugin.targets):
        raise ValueError("it names no recipient")
    from .mask import scrub

    _remember_hidden(url, plugin)
    return scrub(short(plugin.url(privacy=True)))


def _remember_hidden(url: str, plugin: Any) -> None:
    """Every word of a URL its masked form hides (apprise's privacy form, then crswatch's rules:
    a webhook's path too), for the log filter: apprise and urllib3 log the URLs they post to."""
    from .mask import scrub

    remember_difference(url, scrub(short(plugin.url(privacy=True))))


def _mail_sender_missing(url: str, scheme: str) -> str:
    """Why apprise cannot read an e-mail URL when the sender is the problem ("" otherwise)."""
    from urllib.parse import parse_qsl, urlsplit

    if scheme not in ("mailto", "mailtos"):
        return ""
    try:
        parts = urlsplit(url)
        sender = [v.strip() for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() == "from"]
    except ValueError:
        return ""
    if not sender:
        if not parts.hostname or (parts.username and "." in parts.hostname):
            return ""  # apprise makes the sender from the login and the host: something else is wrong
        return f"from= is missing: name the sender's address, e.g. {scheme}://HOST:PORT?from=alerts@example.org&to=you@example.com"
    if not _PLAIN_ADDRESS.fullmatch(sender[-1].rpartition("<")[2].rstrip(">").strip()):
        return "from= is not an e-mail address (e.g. from=alerts@example.org)"
    return ""


def why_not(url: str, scheme: str) -> str:
    """Which part of a URL apprise refused, found with apprise's own URL templates and token rules
    (`Apprise.details()`): "account_sid 'ACCOUNT_SID' is not of the form ^AC[a-f0-9]+$ (…)"."""
    entry = next((s for s in _apprise().Apprise().details()["schemas"] if scheme in {n.lower() for n in _schema_names(s)}), None)
    if entry is None:
        return "missing or malformed parts"
    details = entry.get("details") or {}
    tokens = details.get("tokens") or {}
    templates = sorted(details.get("templates") or (), key=len, reverse=True)
    base = url.split("?", 1)[0]
    for template in templates:
        pattern = _template_pattern(template, scheme)
        match = pattern.fullmatch(base) if pattern else None
        if match is None:
            continue
        for name, value in match.groupdict().items():
            rule = (tokens.get(name) or {}).get("regex")
            if value and rule and not re.match(rule[0], value, re.IGNORECASE if "i" in (rule[1] if len(rule) > 1 else "") else 0):
                shown = value if not (tokens.get(name) or {}).get("private") else value[:2] + "…"
                return f"{name} {shown!r} is not of the form {rule[0]} (apprise's {entry.get('service_name')} URL: {template.replace('{schema}', scheme)})"
        return f"a part is missing or malformed (apprise's {entry.get('service_name')} URL: {template.replace('{schema}', scheme)})"
    shown = " or ".join(t.replace("{schema}", scheme) for t in templates[:2])
    return f"it does not fit apprise's {entry.get('service_name')} URL" + (f": {shown}" if shown else "")


def _template_pattern(template: str, scheme: str) -> re.Pattern[str] | None:
    parts = re.split(r"(\{[a-z_]+\})", template)
    regex = ""
    for part in parts:
        if part == "{schema}":
            regex += re.escape(scheme)
        elif part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            regex += f"(?P<{name}>.*)" if name == "targets" else f"(?P<{name}>[^:@/]*)"
        else:
            regex += re.escape(part)
    try:
        return re.compile(regex, re.IGNORECASE)
    except re.error:
        return None


# Parameters apprise writes into every URL it prints; left out of listings for readability.
_DEFAULT_PARAMS = frozenset({"overflow=upstream", "retry=0", "wait=0.5", "optional=no", "cto=15.0"})


def short(masked: str) -> str:
    """An apprise URL without the parameters apprise writes into every URL it prints."""
    base, sep, query = masked.partition("?")
    kept = [p for p in query.split("&") if p and p not in _DEFAULT_PARAMS]
    return base + (sep + "&".join(kept) if kept else "")


@lru_cache(maxsize=1)
def _schemes() -> frozenset[str]:
    apprise = _apprise()
    return frozenset(s.lower() for s in apprise.Apprise().details()["schemas"] for s in _schema_names(s))


def _schema_names(entry: dict[str, Any]) -> list[str]:
    names = []
    for key in ("protocols", "secure_protocols"):
        value = entry.get(key) or ()
        names += [value] if isinstance(value, str) else list(value)
    return names


def body_format(plugin: Any) -> str:
    """HTML for services that take it natively (e-mail), else plain text."""
    native = plugin.notify_format
    formats = {f.value if hasattr(f, "value") else str(f) for f in (native if isinstance(native, tuple) else (native,))}
    first = native[0] if isinstance(native, tuple) else native
    return HTML if str(getattr(first, "value", first)) == HTML and HTML in formats else TEXT


@dataclass(frozen=True)
class Result:
    url: str = field(repr=False)  # secret: never in a repr or log line
    ok: bool
    error: str = ""
    accepted: tuple[str, ...] = ()  # a failed e-mail: keys of the recipients that took it all the same


def recipient_key(address: str) -> str:
    """What the outbox keeps of a recipient that already has a message: a short hash, not the address."""
    return hashlib.blake2b(address.strip().lower().encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Outgoing:
    """One message for one channel; `key` is the caller's id for it (a delivery id)."""

    key: str
    url: str = field(repr=False)
    title: str = ""
    bodies: dict[str, str] = field(default_factory=dict, repr=False)
    unsubscribe: str = field(default="", repr=False)  # e-mail: List-Unsubscribe (RFC 8058 one-click) address
    reply_to: str = ""  # e-mail: Reply-To, the operator's contact (unless the channel URL names one)
    delivered: frozenset[str] = frozenset()  # e-mail: recipients (keys) that took an earlier try: skipped


def send(url: str, title: str, bodies: dict[str, str]) -> Result:
    """Send one message through one channel; `bodies` holds the text and HTML renderings."""
    results: list[Result] = []
    send_many([Outgoing("one", url, title, bodies)], 1, lambda _key, result: results.append(result))
    return results[0]


OnResult = Callable[[str, Result], None]

#: Parallel SMTP sessions to one mail server (each sends its share of messages in order).
SMTP_SESSIONS_PER_SERVER = 4
#: Minimum seconds between two messages to services that limit rates.
PACE = {"tgram": 1 / 25, "telegram": 1 / 25}


def send_many(items: Iterable[Outgoing], concurrency: int, on_result: OnResult, before_send: Callable[[], bool] = lambda: True) -> None:
    """Send every item, at most `concurrency` in flight; `on_result(key, result)` for each as it
    completes (from worker threads).  E-mails through the same SMTP server share a few sessions,
    so ten thousand alerts cost a few connections, not ten thousand, and each still gets its own
    result.  One channel's messages are sent in the order given.  `before_send()` is called before
    each message leaves (the caller's bound on messages in flight, released by its `on_result`);
    once it returns False nothing more is sent, and the messages not sent get no result."""
    _install_log_capture()
    routes: dict[str, list[Outgoing]] = {}
    for item in items:
        routes.setdefault(_route(item.url), []).append(item)
    if not routes:
        return
    _warm_up(next(iter(routes.values()))[0].url)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)  # I/O-bound threads: hand the GIL over promptly
    try:
        _dispatch_routes(routes, concurrency, on_result, before_send)
    finally:
        sys.setswitchinterval(switch)


#: The GIL switch interval while sending: at Python's default (5 ms) a worker woken by an SMTP
#: reply waits for the GIL long enough to halve the throughput of parallel sessions.
SWITCH_INTERVAL = 0.0005


def _dispatch_routes(routes: dict[str, list[Outgoing]], concurrency: int, on_result: OnResult, before_send: Callable[[], bool]) -> None:
    plugins = partial(_send_plugins, before_send=before_send)
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="send") as pool:
        for route, batch in routes.items():
            if route == "telegram:":  # one pacer for every chat of the bot (notifier.telegram)
                from .telegram import send_all

                pool.submit(_guard, partial(send_all, before_send=before_send), batch, on_result)
            elif not route.startswith("mail:"):
                pool.submit(_guard, plugins, batch, on_result)
        for route, batch in routes.items():
            if route.startswith("mail:"):
                _send_mail_route(pool, batch, concurrency, on_result, before_send)


def _send_mail_route(pool: ThreadPoolExecutor, items: list[Outgoing], concurrency: int, on_result: OnResult, before_send: Callable[[], bool]) -> None:
    """This thread parses URLs and writes messages; the sessions (`notifier.smtp`) only talk SMTP,
    so they are never kept waiting for the GIL by CPU work of their own.  One channel's messages
    form one batch and stay in order; a message apprise's own plugin must send goes that way."""
    from .smtp import Mail, Route

    by_channel: dict[str, list[Outgoing]] = {}
    for item in items:
        by_channel.setdefault(item.url, []).append(item)
    accounts = _Accounts()
    routes: dict[Any, Route] = {}
    urls = {item.key: item.url for item in items}

    def on_mail(key: str, ok: bool, error: str, accepted: tuple[str, ...]) -> None:
        on_result(key, Result(urls[key], ok, error, tuple(recipient_key(a) for a in accepted)))

    try:
        for channel_items in by_channel.values():
            batch, account = [], None
            for item in channel_items:
                plugin, account, mail = _prepare_mail(item, accounts)
                if mail is None:
                    pool.submit(_guard, partial(_send_plugins, before_send=before_send), [item], on_result)
                    continue
                batch.append(mail)
            if not batch:
                continue
            assert account is not None  # a batch holds mails, each of which named its account
            route = routes.get(account)
            if route is None:
                remember(account.password or "")
                sessions = max(1, min(SMTP_SESSIONS_PER_SERVER, concurrency, len(by_channel)))
                route = routes[account] = Route(account, sessions)
                for _ in range(sessions):
                    pool.submit(route.run_session, on_mail, before_send)
            route.put(batch)
    finally:
        for route in routes.values():
            route.close()


class _Accounts:
    """Apprise parses every mailto:// URL in about half a millisecond.  The URLs of one route
    differ only in their recipients (`to=`), so each route is parsed once, with its first URL, and
    a URL whose only difference is one plain address reuses that parse with its own recipient.
    Anything else is parsed whole."""

    def __init__(self) -> None:
        self.plugins: dict[str, Any] = {}

    def recipients(self, item: Outgoing) -> tuple[Any, list[tuple[str | None, str]], str] | None:
        """(plugin, recipients, what apprise dropped of the URL), or None when apprise cannot read it."""
        route = _route(item.url)
        known = self.plugins.get(route)
        address = _only_recipient(item.url)
        if known is None or address is None:
            plugin, dropped = load_checked(item.url)
            if plugin is not None and address is not None and not dropped:
                self.plugins.setdefault(route, plugin)
            return (plugin, list(plugin.targets), dropped) if plugin is not None else None
        return known, [(None, address)], ""


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


def _only_recipient(url: str) -> str | None:
    """The address of a mailto:// URL whose query names exactly one plain recipient in `to=` (no
    cc, bcc or display name); None otherwise (then apprise parses the URL whole)."""
    from urllib.parse import parse_qsl

    _, _, query = url.partition("?")
    pairs = [(k.lower(), v) for k, v in parse_qsl(query, keep_blank_values=True)]
    targets = [v for k, v in pairs if k in ("to", "cc", "bcc", "name")]
    if [k for k, _ in pairs].count("to") != 1 or len(targets) != 1:
        return None
    address = targets[0].strip()
    return address if _PLAIN_ADDRESS.fullmatch(address) else None


def _prepare_mail(item: Outgoing, accounts: _Accounts) -> tuple[Any, Any, Any]:
    """(plugin, SMTP account, the `smtp.Mail`); the mail is None when the item must go through its plugin."""
    from .smtp import Mail, account_of

    try:
        parsed = accounts.recipients(item)
        if parsed is None:
            return None, None, None
        plugin, targets, dropped = parsed
        account = account_of(plugin)
        if account is None:
            return plugin, None, None
        recipients, data = _mail(plugin, item, targets)
        dropped = f"this channel does not reach every recipient: {dropped}" if dropped else ""
        return plugin, account, Mail(item.key, plugin.from_addr[1], recipients, data, dropped)
    except Exception:  # noqa: BLE001 - the plugin path reports the error for this item
        return None, None, None


def _warm_up(url: str) -> None:
    """Load apprise and its plugins here, before any worker thread does: two threads importing
    the same half-initialised module fail with ImportError (seen under load)."""
    load(url)  # the first instantiation loads every plugin module


def _route(url: str) -> str:
    """Which messages may travel together: e-mails through the same server and login (the URL
    without its recipients), everything else one channel URL at a time."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() == "telegram":
        return "telegram:"
    if scheme.lower() not in ("mailto", "mailtos"):
        return "url:" + url
    authority, _, query = rest.partition("?")
    kept = "&".join(p for p in query.split("&") if p.split("=", 1)[0].lower() not in ("to", "cc", "bcc", "name"))
    return f"mail:{scheme.lower()}://{authority.split('/', 1)[0]}?{kept}"


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


def _send_plugins(items: list[Outgoing], on_result: OnResult, before_send: Callable[[], bool] = lambda: True) -> None:
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
        _remember_hidden(item.url, plugin)  # for the log filter, at any verbosity
        if dropped:
            on_result(item.key, Result(item.url, False, f"this channel does not reach every recipient: {dropped}"))
            continue
        fmt = body_format(plugin)
        _pace(plugin)
        with _captured() as lines:
            ok = bool(plugin.notify(body=item.bodies[fmt], title=item.title, body_format=fmt))
        on_result(item.key, Result(item.url, ok, "" if ok else _last(lines) or "the service refused the message"))


def _mail(plugin: Any, item: Outgoing, targets: list[tuple[str | None, str]]) -> tuple[list[str], bytes]:
    """The channel's message: its envelope recipients (every to, cc and bcc that has not taken it
    yet, each once) and its bytes, with our own text and HTML renderings as multipart/alternative
    (HTML only where the channel takes HTML; never converted): UTF-8, base64 bodies, CRLF lines.
    One transaction for all recipients, so a cc gets one copy however many `to` there are.
    Written directly rather than through email.generator, which cost 0.8 ms a message: this is
    the fan-out's hot path.  Headers are made by the email package's own helpers (RFC 2047 for a
    non-ASCII subject, addresses, date, Message-ID)."""
    html = body_format(plugin) == HTML
    cc, bcc = sorted(plugin.cc), sorted(plugin.bcc)
    envelope: dict[str, str] = {}
    for address in [a for _, a in targets] + cc + bcc:
        key = recipient_key(address)
        if key not in item.delivered:
            envelope.setdefault(key, address)
    to = ", ".join(formataddr((name or "", address)) for name, address in targets)
    headers = [
        ("Subject", _subject(item.title)),
        ("From", formataddr((plugin.from_addr[0] or "", plugin.from_addr[1]))),
        *([("To", to)] if to else []),
        *([("Cc", ", ".join(cc))] if cc else []),
        *([("Reply-To", ", ".join(sorted(plugin.reply_to)))] if plugin.reply_to else [("Reply-To", item.reply_to)] if item.reply_to else []),
        ("Date", format_datetime(datetime.now(UTC))),  # "+0000": the time is known to be UTC
        ("X-Application", plugin.app_id),
        *((key, str(value)) for key, value in plugin.headers.items()),
        *([("List-Unsubscribe", f"<{item.unsubscribe}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")] if item.unsubscribe else []),
        ("Message-ID", make_msgid(domain=plugin.smtp_host or "crswatch.invalid")),
    ]
    text = _part("plain", item.bodies[TEXT])
    body = text
    if html:
        boundary = "=_crswatch_" + secrets.token_hex(12)
        body = (
            f"Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\nMIME-Version: 1.0\r\n\r\n"
            f"--{boundary}\r\n{text}\r\n--{boundary}\r\n{_part('html', item.bodies[HTML])}\r\n--{boundary}--\r\n"
        )
    head = "".join(f"{key}: {_clean(value)}\r\n" for key, value in headers)
    return list(envelope.values()), (head + body).encode("ascii")


def _part(subtype: str, content: str) -> str:
    encoded = base64.encodebytes(content.encode("utf-8")).decode("ascii").replace("\n", "\r\n")
    return f'Content-Type: text/{subtype}; charset="utf-8"\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}'


@lru_cache(maxsize=256)
def _subject(title: str) -> str:
    """ASCII as it is; otherwise RFC 2047 encoded-words (folded by the email package)."""
    return title if title.isascii() else Header(title, "utf-8").encode(linesep="\r\n")


def _clean(value: str) -> str:
    """No header injection: a value never carries a bare line break (folds keep their CRLF+space)."""
    return value.replace("\r\n ", "\0").replace("\r", " ").replace("\n", " ").replace("\0", "\r\n ")


_pace_lock = threading.Lock()
_pace_next: dict[str, float] = {}


def _pace(plugin: Any) -> None:
    """Space messages to rate-limited services (Telegram: about 25 a second per bot)."""
    scheme = str(getattr(plugin, "secure_protocol", "") or getattr(plugin, "protocol", "") or "")
    gap = next((PACE[s] for s in ([scheme] if isinstance(scheme, str) else scheme) if s in PACE), 0)
    if not gap:
        return
    with _pace_lock:
        now = time.monotonic()
        start = max(now, _pace_next.get(scheme, now))
        _pace_next[scheme] = start + gap
    if start > now:
        time.sleep(start - now)


# apprise reports why a send failed only in its log; collect each thread's lines separately.
_local = threading.local()
_capture_installed = False


class _ThreadLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(_local, "lines", None)
        if lines is not None:
            lines.append(record.getMessage())


def _install_log_capture() -> None:
    global _capture_installed
    if not _capture_installed:
        logging.getLogger("apprise").addHandler(_ThreadLines(level=logging.WARNING))
        _capture_installed = True


@contextmanager
def _captured() -> Iterator[list[str]]:
    _local.lines = []
    try:
        yield _local.lines
    finally:
        _local.lines = None


def _last(lines: list[str]) -> str:
    """apprise's last word on a failed send, masked: it often names the service URL with its token."""
    from .mask import mask_text

    cleaned = [line.strip() for line in lines if line.strip()]
    return mask_text(cleaned[-1][:300]) if cleaned else ""
