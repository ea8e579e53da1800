"""A chat that blocked the bot (Telegram answers 403): its subscriber becomes `blocked` and its
waiting deliveries are cancelled, in one transaction, so a blocked bot is never retried and never
dead-lettered; /resume or /start in the chat brings the subscriber back."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import update

from crswatch.subscribers import store as subscribers
from crswatch.subscribers.model import BLOCKED

from .outbox import CANCELLED, FAILED, QUEUED
from .tables import deliveries

if TYPE_CHECKING:
    from crswatch.store.sql import Store

BLOCKED_ERROR = "the user blocked the bot: subscriber deactivated"
log = logging.getLogger("crswatch.telegram")


def deactivate(url: str, store: Store | None) -> str | None:
    """The chat blocked the bot: its subscriber becomes `blocked` (no alert is planned or sent to
    it until it says /resume or /start to the bot) and its waiting deliveries are cancelled.
    Returns the subscriber's id (None when nobody has this chat)."""
    if store is None:
        return None
    with store.write() as conn:
        owner = subscribers.owners(conn, [url]).get(url)
        if owner is None:
            return None
        found = subscribers.require(conn, owner)
        subscribers.replace_all(conn, [(found, found.subscriber.with_changes(status=BLOCKED))])
        conn.execute(
            update(deliveries)
            .where(deliveries.c.subscriber == owner, deliveries.c.status.in_((QUEUED, FAILED)))
            .values(status=CANCELLED, last_error=BLOCKED_ERROR, claimed_until=None, claimed_by=None, payload=None)
        )
    log.warning("telegram: subscriber %s blocked the bot and was deactivated", owner)
    return owner
