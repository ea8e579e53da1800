"""The apprise facade: load a channel URL, check it, explain what is wrong with it, and mask it.

Only this room reads channel URLs through apprise (sending through apprise's plugins happens in
`notifier.send`, which asks this module for the plugin).  Masking a channel URL uses apprise's own
privacy form, then the generic rules of `notifier.mask`; apprise is imported only when a channel
URL is read, so commands that never meet one start without it.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .mask import HIDDEN, SECRET_NAMES, WEBHOOK_SCHEMES, Secrets, mask_text, scrub
from .outgoing import HTML, TEXT

PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)


def mask_url(url: str) -> str:
    """A URL as it may be shown anywhere."""
    scheme = url.partition("://")[0].lower()
    if scheme and scheme not in ("http", "https", "file") and "://" in url:
        private = _apprise_private(url)
        if private is None:
            return f"{scheme}://{HIDDEN}"
        url = private
    return scrub(url)


def _apprise_private(url: str) -> str | None:
    plugin = load(url)
    return None if plugin is None else short(plugin.url(privacy=True))


def remember_url(url: str, secrets: Secrets) -> None:
    """Add the secret parts of a configured URL to `secrets`: its password, header values,
    webhook path, and what apprise's privacy form hides (when apprise is loaded)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    if parts.password:
        secrets.remember(parts.password)
    secrets.remember(
        *(value for name, value in parse_qsl(parts.query) if name.startswith("+") or SECRET_NAMES.search(name))
    )
    if parts.scheme.lower() in WEBHOOK_SCHEMES:
        secrets.remember(*(segment for segment in parts.path.split("/") if len(segment) >= 8))
    if "apprise" in sys.modules and parts.scheme.lower() not in ("http", "https", "file"):
        private = _apprise_private(url)
        if private is not None:  # what is shown is scrubbed too: a webhook's path is hidden
            secrets.remember_difference(url, scrub(private))


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
    with captured() as lines:
        plugin = load(url)
    dropped = _not_addresses(url, plugin) or [line.strip() for line in lines if _DROPPED.search(line)]
    return plugin, mask_text("; ".join(dropped)[:300])  # (it names recipients, which the privacy form drops)


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
    kept = (
        {address.lower() for _, address in plugin.targets}
        | {a.lower() for a in plugin.cc}
        | {a.lower() for a in plugin.bcc}
    )
    entries = [entry.strip() for value in named for entry in re.split(r"[,;]", value) if entry.strip()]
    return [f"{entry!r} is not an e-mail address" for entry in entries
            if not ((found := PLAIN_ADDRESS.search(entry)) and found.group(0).lower() in kept)]  # fmt: skip


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
        raise ValueError(
            _mail_sender_missing(url, scheme) or f"apprise cannot read this {scheme}:// URL: {why_not(url, scheme)}"
        )
    if dropped:
        raise ValueError(f"it would not reach every recipient: {dropped}")
    if scheme in ("mailto", "mailtos") and not list(plugin.targets):
        raise ValueError("it names no recipient")
    return scrub(short(plugin.url(privacy=True)))


def hidden_of(url: str, plugin: Any) -> Secrets:
    """Every word of a channel URL its masked form hides (apprise's privacy form, then crswatch's
    rules: a webhook's path too): the secrets of a delivery to it (`notifier.mask.delivering`),
    since apprise and urllib3 log the URLs they post to."""
    secrets = Secrets()
    secrets.remember_difference(url, scrub(short(plugin.url(privacy=True))))
    return secrets


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
    if not PLAIN_ADDRESS.fullmatch(sender[-1].rpartition("<")[2].rstrip(">").strip()):
        return "from= is not an e-mail address (e.g. from=alerts@example.org)"
    return ""


def why_not(url: str, scheme: str) -> str:
    """Which part of a URL apprise refused, found with apprise's own URL templates and token rules
    (`Apprise.details()`): "account_sid 'ACCOUNT_SID' is not of the form ^AC[a-f0-9]+$ (…)"."""
    entry = next(
        (s for s in _apprise().Apprise().details()["schemas"] if scheme in {n.lower() for n in _schema_names(s)}), None
    )
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
            if (
                value
                and rule
                and not re.match(rule[0], value, re.IGNORECASE if "i" in (rule[1] if len(rule) > 1 else "") else 0)
            ):
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


#: The lines apprise logs while a thread captures them (`captured`): each thread's own context.
_lines: ContextVar[list[str] | None] = ContextVar("crswatch_apprise_lines", default=None)
_install = threading.Lock()


class _ContextLines(logging.Handler):
    """Hands apprise's warnings to the capture of the thread that logs them (apprise says why a
    send failed only in its log).  It keeps nothing itself: one is installed on apprise's logger,
    the first time a thread captures (a handler per capture, added and removed while other
    threads log, could be skipped by a record being handled meanwhile)."""

    def emit(self, record: logging.LogRecord) -> None:
        lines = _lines.get()
        if lines is not None:
            lines.append(mask_text(record.getMessage()))  # the delivery's secrets hidden as it logs


@contextmanager
def captured() -> Iterator[list[str]]:
    """The lines apprise logs in this thread meanwhile."""
    logger = logging.getLogger("apprise")
    with _install:
        if not any(isinstance(h, _ContextLines) for h in logger.handlers):
            logger.addHandler(_ContextLines(level=logging.WARNING))
    lines: list[str] = []
    token = _lines.set(lines)
    try:
        yield lines
    finally:
        _lines.reset(token)


def last_line(lines: list[str]) -> str:
    """apprise's last word on a failed send, masked: it often names the service URL with its token."""
    cleaned = [line.strip() for line in lines if line.strip()]
    return mask_text(cleaned[-1][:300]) if cleaned else ""
