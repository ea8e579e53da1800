"""Operator notices: one message per incident, never one per check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scraper.items import Draw

from .outbox import Delivery


@dataclass(frozen=True)
class Notice:
    title: str
    text: str


def notices(
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    failures_threshold: int,
    new_draws: list[Draw] = (),  # type: ignore[assignment]
    dead: list[Delivery] = (),  # type: ignore[assignment]
) -> list[Notice]:
    """What the operator should hear about, given the status before and after one check."""
    out: list[Notice] = []
    failures = after.get("consecutive_failures", 0)
    if after.get("outcome") == "failed" and failures == failures_threshold:
        out.append(Notice(f"crswatch: the feed failed {failures} checks in a row", f"Last error: {after.get('message', '')}"))
    if after.get("outcome") == "rejected" and before.get("outcome") != "rejected":
        out.append(Notice("crswatch: the feed was rejected as malformed", f"Nothing was stored. Reason: {after.get('message', '')}"))
    if after.get("outcome") in ("updated", "unchanged") and before.get("consecutive_failures", 0) >= failures_threshold:
        out.append(Notice("crswatch: the feed is back", f"A check succeeded after {before['consecutive_failures']} failures."))
    for draw in new_draws:
        if draw.stream == "other":
            out.append(
                Notice(
                    f"crswatch: draw #{draw.number} has an unknown program",
                    f"'{draw.program}' matches no known stream; it was stored as 'other' and only subscribers of "
                    "'other' were alerted. Map it in scraper/streams.py if it is a renamed category.",
                )
            )
    if dead:
        sample = ", ".join(f"{d.id} ({d.last_error})" for d in dead[:5])
        out.append(
            Notice(
                f"crswatch: {len(dead)} deliveries are dead",
                f"They failed every retry and will not be tried again: {sample}. Re-queue with: crswatch retry --dead",
            )
        )
    return out
