"""The one place that decides what of a URL may be shown: everything crswatch prints, logs or renders
goes through `notifier.channels.mask_url` (one URL, with apprise's privacy form) or `mask_text` (a line that may hold URLs and known secrets).

- apprise's own privacy form for the channels apprise reads (`slack://T...2/A...D/T...Q`);
- then, for any URL: the password of `user:password@`, the value of every header parameter
  (`+Authorization=Bearer …`), the values of query parameters named like secrets (token, key,
  password, …), and, for webhook schemes (json://, xml://, form://), every path segment after the
  host (`json://host/services/SECRET`): webhook paths are capabilities;
- `mask_text` also replaces every secret registered with `remember` (the parts of each channel URL
  that apprise's privacy form hides, the operator's and web's URLs, the feed's password) and long
  token-like path segments of any https URL (Slack, Discord and Telegram APIs put tokens there).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

HIDDEN = "****"
WEBHOOK_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})
SECRET_NAMES = re.compile(r"(?i)(token|secret|key|pass|pwd|auth|sig|sid|session|code|credential)")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s'\"<>`]+")
# a path segment that looks like a credential (no file name): a run of 10+ letters and digits
# mixing both, as in Slack, Discord and Telegram tokens or Twilio SIDs
_TOKEN_RUN = re.compile(r"(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{10,}")


def _tokenish(segment: str) -> bool:
    return "." not in segment and _TOKEN_RUN.search(segment) is not None


_MIN_SECRET = 4  # shorter fragments are not remembered (they would mask ordinary words)


def scrub(url: str) -> str:
    """The generic rules (userinfo, header values, secret-named parameters, webhook paths), no apprise."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        return f"{url.partition('://')[0]}://{HIDDEN}"
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, sep, password = userinfo.partition(":")
        netloc = f"{user}:{HIDDEN}@{host}" if sep and password and password != HIDDEN else netloc
    path = parts.path
    if parts.scheme.lower() in WEBHOOK_SCHEMES:
        path = "/".join(HIDDEN if segment else segment for segment in path.split("/"))
    elif parts.scheme.lower() in ("http", "https"):
        path = "/".join(HIDDEN if _tokenish(segment) else segment for segment in path.split("/"))
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = (
        "&".join(_param(name, value) for name, value in pairs) if any(_secret(n, v) for n, v in pairs) else parts.query
    )
    if (netloc, path, query) == (parts.netloc, parts.path, parts.query):
        return url  # nothing to hide: as given (urlunsplit would not give `sqlite:////abs/path` back)
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def _secret(name: str, value: str) -> bool:
    return bool(value) and (
        name.startswith(("+", "%2B", "%2b"))
        or bool(SECRET_NAMES.search(name) and value not in ("yes", "no", "true", "false"))
    )


def _param(name: str, value: str) -> str:
    return f"{quote(name, safe='+-_.')}={HIDDEN if _secret(name, value) else quote(value, safe='@:/,.-_')}"


# ------------------------------------------------------------------------------ known secrets

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


@contextmanager
def scope() -> Iterator[None]:
    """Secrets remembered inside are forgotten when it ends: for a caller that runs commands one
    after another in one process (the tests), so each command masks only what it learned."""
    with _lock:
        kept = set(_secrets)
    try:
        yield
    finally:
        global _pattern
        with _lock:
            _secrets.intersection_update(kept)
            _pattern = None


def remember(*secrets: str) -> None:
    """Secrets to mask wherever they appear in a log line (see `SecretFilter`)."""
    global _pattern
    fresh = {s for s in secrets if s and len(s) >= _MIN_SECRET and s != HIDDEN} - _secrets
    if fresh:
        with _lock:
            _secrets.update(fresh)
            _pattern = None


def remember_difference(url: str, private: str) -> None:
    """What apprise's privacy form hides of a URL: every word of it the private form lacks."""
    shown = set(re.findall(r"[A-Za-z0-9_\-]+", unquote(private)))
    remember(*(word for word in re.findall(r"[A-Za-z0-9_\-]{6,}", unquote(url)) if word not in shown))


def mask_text(text: str) -> str:
    """A line as it may be printed or logged: every URL masked, every remembered secret hidden."""
    if "://" in text:
        text = _URL.sub(lambda m: scrub(m.group(0)), text)
    pattern = _known()
    return pattern.sub(HIDDEN, text) if pattern is not None else text


def _known() -> re.Pattern[str] | None:
    global _pattern
    with _lock:
        if _pattern is None and _secrets:
            _pattern = re.compile("|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True)))
        return _pattern


class SecretFilter(logging.Filter):
    """Masks every log record that passes a handler, whichever library logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem, not ours
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        return True
