"""What is sent and what comes back: one message for one channel (`Outgoing`), its `Result`, and
the renderings a message carries.  Every sending room (apprise plugins, e-mail, Telegram) and the
dispatcher share these, so none of them needs another to name them."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

TEXT, HTML = "text", "html"


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


OnResult = Callable[[str, Result], None]


def route_of(url: str) -> str:
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


#: The GIL switch interval for a process that sends: at Python's default (5 ms) a worker woken by
#: an SMTP reply waits for the GIL long enough to halve the throughput of parallel sessions.  A
#: setting of the whole process, so the process's entry point makes it once (`crswatch.cli.main`),
#: and sending itself changes nothing process-wide.
SWITCH_INTERVAL = 0.0005


def tune_for_sending() -> None:
    """Hand the GIL over promptly between I/O-bound threads (see `SWITCH_INTERVAL`)."""
    sys.setswitchinterval(SWITCH_INTERVAL)
