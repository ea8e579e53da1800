"""The manage/unsubscribe link in every alert: a signed, expiring token naming the subscriber.

Alerts are rendered at send time for any number of subscribers, so their link token must be made
again from what is stored; a random token could only be stored hashed, and a hash cannot be put
in an e-mail.  The link therefore carries the subscriber's id signed with the database's own
256-bit key (HMAC-SHA1 via itsdangerous, checked in constant time) and its issue time: it is
refused after `LINK_DAYS`, when the signature does not match, or once the subscriber is gone.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

LINK_DAYS = 400  # every alert carries a fresh link; an old one still works for a year and a bit
_SALT = "crswatch.subscriber-link"


def make(key: bytes, subscriber_id: str) -> str:
    return URLSafeTimedSerializer(key, salt=_SALT).dumps(subscriber_id)


def read(key: bytes, token: str, max_days: float = LINK_DAYS) -> str | None:
    """The subscriber id a link names, or None when forged, altered or expired."""
    state, subscriber_id = check(key, token, max_days)
    return subscriber_id if state == VALID else None


VALID, EXPIRED, INVALID = "valid", "expired", "invalid"


def check(key: bytes, token: str, max_days: float = LINK_DAYS) -> tuple[str, str | None]:
    """(valid | expired | invalid, subscriber id when valid): an expired link can be explained."""
    try:
        subscriber_id = URLSafeTimedSerializer(key, salt=_SALT).loads(token, max_age=int(max_days * 86400))
    except SignatureExpired:
        return EXPIRED, None
    except BadSignature:
        return INVALID, None
    return (VALID, subscriber_id) if isinstance(subscriber_id, str) else (INVALID, None)


def language_query(language: str) -> str:
    """What a link to one of our pages adds so that it opens in `language` (English needs nothing)."""
    return f"?lang={language}" if language != "en" else ""


class Links:
    """The public pages of one subscriber, for the foot of every alert."""

    def __init__(self, base_url: str, key: bytes):
        self.base = base_url.rstrip("/")
        self.key = key
        self._last: tuple[tuple[str, str], tuple[str, str]] | None = None

    def for_subscriber(self, subscriber_id: str, language: str = "en") -> tuple[str, str]:
        """(manage page, unsubscribe page), opening in the subscriber's language; the unsubscribe
        page also takes RFC 8058 one-click POSTs, so it is the e-mail's List-Unsubscribe address too."""
        if self._last is None or self._last[0] != (subscriber_id, language):  # the message and its headers ask in turn
            token = make(self.key, subscriber_id)
            query = language_query(language)
            self._last = (
                (subscriber_id, language),
                (f"{self.base}/manage/{token}{query}", f"{self.base}/unsubscribe/{token}{query}"),
            )
        return self._last[1]
