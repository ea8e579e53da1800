"""Telegram sign-ups from the web page: the form's choices wait, pending, for the chat that presses
START on the deep link `https://t.me/<bot>?start=<token>`.

Only that chat's owner can press START in it, so the chat that does is the destination, confirmed:
`bind` subscribes it (through `manage.subscribe`, the CLI's own code) and uses the token up.  The
token is 192 random bits in Telegram's allowed alphabet (A-Z a-z 0-9 _ -, at most 64 characters),
stored as its SHA-256 only, single-use and expiring like an e-mail confirmation.  A second chat
pressing the same link is refused.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy import update as sql_update

from . import manage
from .model import Subscriber, hash_token
from .optin import EXPIRED, KEEP, PENDING, USED, SignUp
from .tables import telegram_links
from .validate import ChannelCheck

UNKNOWN = "unknown"


def start(conn: Connection, sign_up: SignUp, *, ttl: timedelta, now: datetime | None = None) -> str:
    """Keep a validated sign-up (its channel is the chat still to come); the token for its link."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(24)
    conn.execute(delete(telegram_links).where(telegram_links.c.expires <= now - KEEP))
    conn.execute(
        insert(telegram_links).values(
            token_hash=hash_token(token), score=sign_up.score, within=sign_up.within, streams=orjson.dumps(list(sign_up.streams)).decode(),
            profile_created=sign_up.profile_created, language=sign_up.language,
            expires=now + ttl, cadence=sign_up.cadence, pool_alerts=sign_up.pool_alerts,
        )
    )  # fmt: skip
    return token


def lookup(conn: Connection, token: str, now: datetime | None = None) -> tuple[str, dict[str, Any] | None]:
    """(pending | used | expired | unknown, the sign-up)."""
    now = now or datetime.now(UTC)
    row = (
        conn.execute(select(telegram_links).where(telegram_links.c.token_hash == hash_token(token))).mappings().first()
    )
    if row is None:
        return UNKNOWN, None
    doc = {**row, "streams": orjson.loads(row["streams"])}
    return (USED if doc["used"] else EXPIRED if doc["expires"] <= now else PENDING), doc


def bind(conn: Connection, token: str, channel: str, *, check: ChannelCheck, defaults: manage.Defaults,
         now: datetime | None = None) -> tuple[str, Subscriber | None]:  # fmt: skip
    """Subscribe `channel` (the chat that pressed START) with the sign-up this token holds, once:
    (pending, the subscriber) the first time; (used | expired | unknown, None) after."""
    now = now or datetime.now(UTC)
    state, doc = lookup(conn, token, now)
    if state != PENDING or doc is None:
        return state, None
    mine = (telegram_links.c.token_hash == doc["token_hash"]) & telegram_links.c.used.is_(None)
    if conn.execute(sql_update(telegram_links).where(mine).values(used=now)).rowcount != 1:
        return USED, None  # another chat pressed it a moment ago
    subscriber, _ = manage.subscribe(
        conn, score=doc["score"], channels=[channel], check=check, defaults=defaults, within=doc["within"], streams=doc["streams"],
        profile_created=doc["profile_created"], language=doc["language"], now=now, cadence=doc.get("cadence"),
        pool_alerts=doc.get("pool_alerts"),
    )  # fmt: skip
    return PENDING, subscriber
