"""Double opt-in: a sign-up waits, pending, until its address follows the link sent to it.

A pending sign-up holds the validated form values and the SHA-256 of a single-use confirmation
token (256 random bits) that expires.  Following the link only shows the sign-up (`lookup`): mail
scanners open links, so only the page's POST confirms (`confirm`), which subscribes through
`manage.subscribe`, the same code as `crswatch subscribe`: an address that is already subscribed
is updated instead, so neither the form nor the confirmation ever tells whether it was.  A used
or expired sign-up is kept a week (`KEEP`) so that a second visit can say what happened.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scraper.items import stamp
from scraper.streams import SUBSCRIBABLE

from . import manage, validate
from .model import Subscriber, hash_token
from .validate import ChannelCheck

TABLE = "pending"
KEEP = timedelta(days=7)  # a used or expired sign-up is remembered this long past its expiry
PENDING, USED, EXPIRED = "pending", "used", "expired"
SHARDS = 4  # pending sign-ups spread over a few part files by token hash: small rewrites, few fsyncs per batch


def part_of(digest: str) -> str:
    return f"pending-{int(digest[:8], 16) % SHARDS:02d}"


@dataclass(frozen=True)
class SignUp:
    """What a form asked for, validated: one destination (an apprise URL) and its settings."""

    channel: str
    score: int
    within: int | None
    streams: tuple[str, ...]
    profile_created: datetime | None


def validate_sign_up(*, channel: str, score: Any, within: Any, streams: Iterable[str], profile_created: Any,
                     check: ChannelCheck, now: datetime | None = None, choices: tuple[str, ...] = SUBSCRIBABLE) -> SignUp:  # fmt: skip
    """Every problem at once (`Invalid`), by the CLI's own rules."""
    streams = tuple(streams)
    values = validate.collect(
        {
            "score": lambda: validate.score(score),
            "within": lambda: validate.within(within) if within not in (None, "") else None,
            "streams": lambda: validate.streams(streams, choices),
            "profile_created": lambda: validate.profile_created(profile_created, now),
            "channels": lambda: validate.channels([channel], check),
        }
    )
    return SignUp(values["channels"][0].url, values["score"], values["within"], values["streams"], values["profile_created"])


def start(tx: Any, sign_up: SignUp, *, ttl: timedelta, now: datetime | None = None) -> str:
    """Store the sign-up as pending; return the confirmation token (only its hash is kept).
    Expired sign-ups are dropped in the same write."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    digest = hash_token(token)
    part = part_of(digest)
    table = tx.part(part).table(TABLE)
    cutoff = stamp(now - KEEP)
    expired = [int(k) for k, doc in tx.raw(part, TABLE).items() if doc["expires"] <= cutoff]
    if expired:
        table.remove(doc_ids=expired)
    table.insert(
        {
            "h": digest,
            "expires": stamp(now + ttl),
            "channel": sign_up.channel,
            "score": sign_up.score,
            "within": sign_up.within,
            "streams": list(sign_up.streams),
            "profile_created": stamp(sign_up.profile_created) if sign_up.profile_created else None,
        }
    )
    return token


def lookup(tx: Any, token: str, now: datetime | None = None) -> tuple[str, dict[str, Any]] | None:
    """(state, sign-up) for a confirmation token: pending, used or expired; None when unknown."""
    now = now or datetime.now(UTC)
    wanted = hash_token(token)
    part = part_of(wanted)
    match = None
    for doc_id, doc in tx.raw(part, TABLE).items():
        if hmac.compare_digest(doc["h"], wanted):  # every row compared: no early exit
            match = dict(doc, doc_id=int(doc_id))
    if match is None:
        return None
    state = USED if match.get("used") else EXPIRED if match["expires"] <= stamp(now) else PENDING
    return state, match


def confirm(tx: Any, token: str, *, check: ChannelCheck, defaults: manage.Defaults, now: datetime | None = None) -> Subscriber | None:
    """Activate the sign-up this token confirms (once); None when unknown, used or expired."""
    now = now or datetime.now(UTC)
    found = lookup(tx, token, now)
    if found is None or found[0] != PENDING:
        return None
    doc = found[1]
    tx.part(part_of(doc["h"])).table(TABLE).update({"used": stamp(now)}, doc_ids=[doc["doc_id"]])
    subscriber, _ = manage.subscribe(
        tx, score=doc["score"], channels=[doc["channel"]], check=check, defaults=defaults, within=doc["within"],
        streams=doc["streams"], profile_created=doc["profile_created"], now=now,
    )  # fmt: skip
    return subscriber


def pending_count(tx: Any, now: datetime | None = None) -> int:
    """Sign-ups waiting for confirmation (neither used nor expired)."""
    cutoff = stamp(now or datetime.now(UTC))
    parts = (f"pending-{shard:02d}" for shard in range(SHARDS))
    return sum(
        1 for part in parts if tx.part_exists(part) for doc in tx.raw(part, TABLE).values() if not doc.get("used") and doc["expires"] > cutoff
    )
