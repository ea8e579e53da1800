"""The only module that talks to apprise: check, mask and send channel URLs.

Each channel is sent on its own so that every result is known and one bad channel never blocks
another.  The body format is chosen here per channel (HTML for e-mail, plain text elsewhere) and
passed to apprise explicitly, so apprise never converts a body on its own.
"""

from __future__ import annotations

import logging
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


def send(url: str, title: str, bodies: dict[str, str]) -> Result:
    """Send one message through one channel; `bodies` holds the text and HTML renderings."""
    apprise = _apprise()
    plugin = load(url)
    if plugin is None:
        return Result(url, False, "apprise cannot read this channel URL")
    fmt = body_format(plugin)
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        try:
            ok = bool(plugin.notify(body=bodies[fmt], title=title, body_format=fmt))
        except Exception as exc:  # a plugin bug must not stop the other channels
            ok = False
            captured.write(f"{type(exc).__name__}: {exc}\n")
    return Result(url, ok, "" if ok else _last_line(captured.getvalue()) or "the service refused the message")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
