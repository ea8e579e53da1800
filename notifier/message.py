"""Alert texts: one plain-text and one HTML rendering of every message."""

from __future__ import annotations

import html
from typing import Any


def test_message(subscriber: Any) -> tuple[str, dict[str, str]]:
    title = "crswatch test alert"
    text = (
        f"This is a test from crswatch. Alerts for CRS score {subscriber.score} "
        f"(streams: {' '.join(subscriber.streams)}, within {subscriber.within} points) will arrive here.\n"
        f"To stop alerts: crswatch unsubscribe {subscriber.token}"
    )
    return title, {"text": text, "html": f"<p>{html.escape(text).replace(chr(10), '<br>')}</p>"}
