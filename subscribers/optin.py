"""Double opt-in: a sign-up waits, pending, until its address follows the link sent to it.

A pending sign-up holds the validated form values and the SHA-256 of a single-use confirmation
token (256 random bits) that expires.  Following the link only shows the sign-up (`lookup`): mail
scanners open links, so only the page's POST confirms (`confirm`), which subscribes through
`manage.subscribe`, the same code as `crswatch subscribe`: an address that is already subscribed
is updated instead, so neither the form nor the confirmation ever tells whether it was.  A used
or expired sign-up is kept a week (`KEEP`) so that a second visit can say what happened.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, func, select
from sqlalchemy import delete as sql_delete
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update

from crswatch.draws.streams import SUBSCRIBABLE

from . import manage, validate
from .model import Subscriber, hash_token
from .profile import check as check_profile
from .tables import pending
from .validate import ChannelCheck

KEEP = timedelta(days=7)  # a used or expired sign-up is remembered this long past its expiry
PENDING, USED, EXPIRED = "pending", "used", "expired"


@dataclass(frozen=True)
class SignUp:
    """What a form asked for, validated: one destination (an apprise URL) and its settings."""

    channel: str
    score: int
    within: int | None
    streams: tuple[str, ...]
    profile_created: datetime | None
    language: str = "en"  # of the confirmation message and the alerts
    profile: str | None = None  # a CRS profile as stored (the calculator's "alert me with this profile")
    cadence: str = "instant"  # instant, or a daily or weekly digest
    pool_alerts: bool = False  # tell when a new pool distribution appears


def validate_sign_up(*, channel: str, score: Any, within: Any, streams: Iterable[str], profile_created: Any,
                     check: ChannelCheck, now: datetime | None = None, choices: tuple[str, ...] = SUBSCRIBABLE,
                     language: str = "en", profile: str | None = None, cadence: str | None = None,
                     pool_alerts: bool = False) -> SignUp:  # fmt: skip
    """Every problem at once (`Invalid`), by the CLI's own rules; a `profile` (its text) is checked
    as `crswatch subscribe --profile` checks it and kept as stored."""
    streams = tuple(streams)
    values = validate.collect(
        {
            "score": lambda: validate.score(score),
            "within": lambda: validate.within(within) if within not in (None, "") else None,
            "streams": lambda: validate.streams(streams, choices),
            "profile_created": lambda: validate.profile_created(profile_created, now),
            "channels": lambda: validate.channels([channel], check),
            "language": lambda: validate.language(language),
            "profile": lambda: check_profile(profile) if profile is not None else None,
            "cadence": lambda: validate.cadence(cadence),
        }
    )
    stored = values["profile"][0] if values["profile"] else None
    return SignUp(values["channels"][0].url, values["score"], values["within"], values["streams"], values["profile_created"],
                  values["language"] or "en", stored, values["cadence"] or "instant", bool(pool_alerts))  # fmt: skip


def start(conn: Connection, sign_up: SignUp, *, ttl: timedelta, now: datetime | None = None) -> str:
    """Store the sign-up as pending; return the confirmation token (only its hash is kept).
    Sign-ups forgotten for a week past their expiry are dropped in the same transaction."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    conn.execute(sql_delete(pending).where(pending.c.expires <= now - KEEP))
    # a profile is personal data: kept only while its sign-up can still be confirmed
    conn.execute(
        sql_update(pending).where((pending.c.expires <= now) & pending.c.profile.is_not(None)).values(profile=None)
    )
    conn.execute(
        sql_insert(pending).values(
            token_hash=hash_token(token),
            expires=now + ttl,
            channel=sign_up.channel,
            score=sign_up.score,
            within=sign_up.within,
            streams=orjson.dumps(list(sign_up.streams)).decode(),
            profile_created=sign_up.profile_created,
            language=sign_up.language,
            profile=sign_up.profile,
            cadence=sign_up.cadence,
            pool_alerts=sign_up.pool_alerts,
        )
    )
    return token


def lookup(conn: Connection, token: str, now: datetime | None = None) -> tuple[str, dict[str, Any]] | None:
    """(state, sign-up) for a confirmation token: pending, used or expired; None when unknown.
    Found by the token's SHA-256 (the primary key): the token itself is never stored."""
    now = now or datetime.now(UTC)
    row = conn.execute(select(pending).where(pending.c.token_hash == hash_token(token))).mappings().first()
    if row is None:
        return None
    doc = {**row, "streams": orjson.loads(row["streams"])}
    state = USED if doc["used"] else EXPIRED if doc["expires"] <= now else PENDING
    return state, doc


def confirm(
    conn: Connection, token: str, *, check: ChannelCheck, defaults: manage.Defaults, now: datetime | None = None
) -> Subscriber | None:
    """Activate the sign-up this token confirms (once); None when unknown, used or expired."""
    now = now or datetime.now(UTC)
    found = lookup(conn, token, now)
    if found is None or found[0] != PENDING:
        return None
    doc = found[1]
    used = conn.execute(
        sql_update(pending)
        .where((pending.c.token_hash == doc["token_hash"]) & pending.c.used.is_(None))
        .values(used=now, profile=None)
    )  # the profile moves to the subscriber: none left behind
    if used.rowcount != 1:
        return None  # another request confirmed it a moment ago
    subscriber, _ = manage.subscribe(
        conn, score=doc["score"], channels=[doc["channel"]], check=check, defaults=defaults, within=doc["within"],
        streams=doc["streams"], profile_created=doc["profile_created"], language=doc.get("language"), now=now,
        profile=doc.get("profile"),
        cadence=doc.get("cadence"), pool_alerts=doc.get("pool_alerts"),
    )  # fmt: skip
    return subscriber


def restore(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Put back sign-ups kept elsewhere (an earlier release's files): each with its token's hash,
    channel, score, within, streams, profile time, expiry and use, as `start` stores them."""
    if rows:
        conn.execute(
            sql_insert(pending),
            [{**row, "streams": orjson.dumps(list(row.get("streams") or [])).decode()} for row in rows],
        )


def pending_count(conn: Connection, now: datetime | None = None) -> int:
    """Sign-ups waiting for confirmation (neither used nor expired)."""
    cutoff = now or datetime.now(UTC)
    return (
        conn.scalar(
            select(func.count()).select_from(pending).where(pending.c.used.is_(None) & (pending.c.expires > cutoff))
        )
        or 0
    )
