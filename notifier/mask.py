"""The one place that decides what of a URL may be shown: everything crswatch prints, logs or renders
goes through `notifier.channels.mask_url` (one URL, with apprise's privacy form) or `mask_text` (a line that may hold URLs and known secrets).

- apprise's own privacy form for the channels apprise reads (`slack://T...2/A...D/T...Q`);
- then, for any URL: the password of `user:password@`, the value of every header parameter
  (`+Authorization=Bearer …`), the values of query parameters named like secrets (token, key,
  password, …), and, for webhook schemes (json://, xml://, form://), every path segment after the
  host (`json://host/services/SECRET`): webhook paths are capabilities;
- long token-like path segments of any https URL (Slack, Discord and Telegram APIs put tokens there);
- `mask_text` also hides known words of any shape (`Secrets`): the app's configuration secrets and
  those of the delivery being sent in the calling thread (what apprise's privacy form hides of its
  channel URL).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


class Secrets:
    """Words to hide wherever they appear in a line, whatever its shape.  There is never one for
    the process: the app keeps one for its configuration's secrets (`App.secrets`: the feed's
    password, the operator's and web's channels, the bot's token), and each delivery gets its
    own for its channel's (`delivering`), so ten thousand subscribers' channels never make one
    ever-growing pattern."""

    def __init__(self, *words: str) -> None:
        self._lock = threading.Lock()
        self._words: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.remember(*words)

    def __repr__(self) -> str:
        return f"<Secrets: {len(self)} hidden>"  # never the words

    def __len__(self) -> int:
        return len(self._words)

    def remember(self, *secrets: str) -> None:
        fresh = {s for s in secrets if s and len(s) >= _MIN_SECRET and s != HIDDEN}
        with self._lock:
            if not fresh <= self._words:
                self._words |= fresh
                self._pattern = None

    def remember_difference(self, url: str, private: str) -> None:
        """What a URL's private form hides: every word of the URL that form lacks."""
        shown = set(re.findall(r"[A-Za-z0-9_\-]+", unquote(private)))
        self.remember(*(word for word in re.findall(r"[A-Za-z0-9_\-]{6,}", unquote(url)) if word not in shown))

    def hide(self, text: str) -> str:
        with self._lock:
            if self._pattern is None and self._words:
                self._pattern = re.compile("|".join(re.escape(s) for s in sorted(self._words, key=len, reverse=True)))
            pattern = self._pattern
        return pattern.sub(HIDDEN, text) if pattern is not None else text


#: The secrets of the delivery being sent in this thread (apprise and urllib3 log the URLs they
#: post to, SMTP errors quote the server): a context variable, so each worker thread has its own
#: and nothing is left behind when the delivery ends.
_delivery: ContextVar[Secrets | None] = ContextVar("crswatch_delivery_secrets", default=None)


@contextmanager
def delivering(secrets: Secrets) -> Iterator[Secrets]:
    """While a delivery is sent: every line masked in this thread hides its channel's secrets too."""
    token = _delivery.set(secrets)
    try:
        yield secrets
    finally:
        _delivery.reset(token)


def mask_text(text: str, known: Secrets | None = None) -> str:
    """A line as it may be printed or logged: every URL masked, the `known` secrets (the app's)
    and those of the delivery being sent in this thread hidden."""
    if "://" in text:
        text = _URL.sub(lambda m: scrub(m.group(0)), text)
    for secrets in (known, _delivery.get()):
        if secrets is not None:
            text = secrets.hide(text)
    return text


class SecretFilter(logging.Filter):
    """Masks every log record that passes a handler, whichever library logged it: URLs by their
    shape, the app's secrets, and the secrets of the delivery the logging thread is sending."""

    def __init__(self, known: Secrets | None = None) -> None:
        super().__init__()
        self.known = known

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem, not ours
            return True
        masked = mask_text(message, self.known)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info), self.known)
        return True
