"""The only module that talks to apprise: check, mask and send channel URLs.

Each channel is sent on its own so that every result is known and one bad channel never blocks
another.  The body format is chosen here per channel (HTML for e-mail, plain text elsewhere) and
passed to apprise explicitly, so apprise never converts a body on its own.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

TEXT, HTML = "text", "html"


def _apprise() -> Any:
    import apprise

    return apprise


def load(url: str) -> Any | None:
    """The apprise plugin for a URL, or None when apprise cannot read it."""
    return _apprise().Apprise.instantiate(url, suppress_exceptions=True)


def check_url(url: str) -> str:
    """The masked form of a channel URL apprise can load; ValueError saying why not otherwise
    (without repeating the URL, which may hold a password)."""
    if "://" not in url:
        raise ValueError("not an apprise URL (expected something like mailto://… or slack://…)")
    scheme = url.split("://", 1)[0].lower()
    if scheme not in _schemes():
        raise ValueError(f"apprise knows no service {scheme!r}")
    plugin = load(url)
    if plugin is None:
        raise ValueError(f"apprise cannot read this {scheme}:// URL (missing or malformed parts)")
    return plugin.url(privacy=True)


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


def mask_url(url: str) -> str:
    """A channel URL with its secrets hidden (apprise's `url(privacy=True)`)."""
    plugin = load(url)
    if not plugin:
        scheme, sep, _ = url.partition("://")
        return f"{scheme}://…" if sep else "<invalid channel URL>"
    return plugin.url(privacy=True)


def body_format(plugin: Any) -> str:
    """HTML for services that take it natively (e-mail), else plain text."""
    native = plugin.notify_format
    formats = {f.value if hasattr(f, "value") else str(f) for f in (native if isinstance(native, tuple) else (native,))}
    first = native[0] if isinstance(native, tuple) else native
    return HTML if str(getattr(first, "value", first)) == HTML and HTML in formats else TEXT


def format_of(url: str) -> str:
    plugin = load(url)
    return body_format(plugin) if plugin else TEXT


@dataclass(frozen=True)
class Result:
    url: str = field(repr=False)  # secret: never in a repr or log line
    ok: bool
    error: str = ""


@dataclass(frozen=True)
class Outgoing:
    """One message for one channel; `key` is the caller's id for it (a delivery id)."""

    key: str
    url: str = field(repr=False)
    title: str = ""
    bodies: dict[str, str] = field(default_factory=dict, repr=False)


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


def send_many(items: Iterable[Outgoing], concurrency: int, on_result: OnResult) -> None:
    """Send every item, at most `concurrency` in flight; `on_result(key, result)` for each as it
    completes (from worker threads).  E-mails to the same SMTP account share sessions, so ten
    thousand alerts cost a few connections, not ten thousand, and each still gets its own result."""
    _install_log_capture()
    mail: dict[tuple[Any, ...], list[tuple[Outgoing, Any]]] = {}
    others: dict[str, list[tuple[Outgoing, Any]]] = {}  # by URL: one channel's messages in order
    for item in items:
        plugin = load(item.url)
        if plugin is None:
            on_result(item.key, Result(item.url, False, "apprise cannot read this channel URL"))
            continue
        account = _mail_account(plugin)
        (mail.setdefault(account, []) if account else others.setdefault(item.url, [])).append((item, plugin))
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="send") as pool:
        for batch in mail.values():
            sessions = max(1, min(SMTP_SESSIONS_PER_SERVER, concurrency, len(batch)))
            chunks: list[list[tuple[Outgoing, Any]]] = [[] for _ in range(sessions)]
            for entry in batch:  # one channel's messages stay in one session, in order
                chunks[zlib.crc32(entry[0].url.encode()) % sessions].append(entry)
            for chunk in chunks:
                if chunk:
                    pool.submit(_guard, _mail_session, chunk, on_result)
        for entries in others.values():
            pool.submit(_guard, _send_plugins, entries, on_result)


def _guard(function: Callable[..., None], entries: list[tuple[Outgoing, Any]], on_result: OnResult) -> None:
    """A worker never dies silently: anything unexpected fails its remaining messages."""
    done: set[str] = set()

    def record(key: str, result: Result) -> None:
        done.add(key)
        on_result(key, result)

    try:
        function(entries, record)
    except Exception as exc:  # noqa: BLE001
        for item, _ in entries:
            if item.key not in done:
                on_result(item.key, Result(item.url, False, f"{type(exc).__name__}: {exc}"))


def _send_plugins(entries: list[tuple[Outgoing, Any]], on_result: OnResult) -> None:
    for item, plugin in entries:
        fmt = body_format(plugin)
        _pace(plugin)
        with _captured() as lines:
            ok = bool(plugin.notify(body=item.bodies[fmt], title=item.title, body_format=fmt))
        on_result(item.key, Result(item.url, ok, "" if ok else _last(lines) or "the service refused the message"))


def _mail_account(plugin: Any) -> tuple[Any, ...] | None:
    """What identifies one SMTP login (messages with the same account can share a session)."""
    try:
        from apprise.plugins.email.base import NotifyEmail
    except ImportError:  # pragma: no cover - another apprise layout: send one by one
        return None
    if not isinstance(plugin, NotifyEmail) or not hasattr(plugin, "secure_mode"):
        return None
    return (plugin.smtp_host, plugin.port, plugin.secure_mode, plugin.user, plugin.password, plugin.verify_certificate)


def _mail_session(entries: list[tuple[Outgoing, Any]], on_result: OnResult) -> None:
    """Send many e-mails over one SMTP session with apprise's own SMTP controller and message builder."""
    from apprise.plugins.email.base import NotifyEmail
    from apprise.plugins.email.smtp import SMTP_EXCEPTIONS, AppriseSMTPController

    first = entries[0][1]
    pending = list(entries)
    with _captured() as lines:
        try:
            with AppriseSMTPController(
                host=first.smtp_host, port=first.port, secure_mode=first.secure_mode, user=first.user,
                password=first.password, verify_certificate=first.verify_certificate,
                socket_connect_timeout=first.socket_connect_timeout,
            ) as smtp:  # fmt: skip
                while pending:
                    item, plugin = pending.pop(0)
                    del lines[:]
                    ok = _send_mail(NotifyEmail, smtp, plugin, item)
                    on_result(item.key, Result(item.url, ok, "" if ok else _last(lines) or "the SMTP server refused the message"))
        except SMTP_EXCEPTIONS as exc:
            error = f"cannot deliver through the SMTP server {first.smtp_host}:{first.port}: {exc.__class__.__name__}: {exc}"
            for item, _ in pending:
                on_result(item.key, Result(item.url, False, error))


def _send_mail(email_class: Any, smtp: Any, plugin: Any, item: Outgoing) -> bool:
    fmt = body_format(plugin)
    headers = {"X-Application": plugin.app_id, **plugin.headers}
    headers.update(plugin._protocol_headers(item.bodies[fmt]))  # noqa: SLF001 - as apprise's own send() does
    ok = True
    for message in email_class.prepare_emails(
        subject=item.title, body=item.bodies[fmt], notify_format=plugin.resolve_format(fmt),
        from_addr=plugin.from_addr, to=plugin.targets, cc=plugin.cc, bcc=plugin.bcc, reply_to=plugin.reply_to,
        smtp_host=plugin.smtp_host, attach=None, headers=headers, names=plugin.names, pgp=plugin.pgp,
        pgp_mode=plugin.pgp_mode, inline=plugin.inline, tzinfo=plugin.tzinfo,
    ):  # fmt: skip
        ok = smtp.sendmail(plugin.from_addr[1], message.to_addrs, message.body) and ok
    return ok


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
    cleaned = [line.strip() for line in lines if line.strip()]
    return cleaned[-1][:300] if cleaned else ""
