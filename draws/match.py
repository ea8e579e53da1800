"""Matching: the verdict a draw gives a subscriber.  A pure function, tested from a table of cases.

For a draw open to the subscriber (its stream is `general` or one of theirs) with cut-off C and
tie-break T, a subscriber with score S and profile time P gets:

- INVITED      S > C, or S = C and P is before T
- AT_CUTOFF    S = C and T or P unknown (only profiles created before T were invited)
- JUST_MISSED  S = C and P at or after T (lost on the tie-break)
- CLOSE        C - within <= S < C
- None         otherwise, and for draws not open to them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from enum import StrEnum


class Verdict(StrEnum):
    INVITED = "invited"
    AT_CUTOFF = "at_cutoff"
    JUST_MISSED = "just_missed"
    CLOSE = "close"


def is_open(draw_stream: str, streams: Collection[str]) -> bool:
    return draw_stream == "general" or draw_stream in streams


def may_concern(*, stream: str, crs: int, score: int, within: int, streams: Collection[str]) -> bool:
    """The pre-filter: False when the draw can give this subscriber no verdict at all.  Cheap, and
    where most of 100,000 subscribers stop, before their profile time is even read."""
    return score >= crs - within and is_open(stream, streams)


def verdict(
    *,
    stream: str,
    crs: int,
    tie_break: datetime | None,
    score: int,
    within: int,
    streams: Collection[str],
    profile_created: datetime | None,
) -> Verdict | None:
    if not may_concern(stream=stream, crs=crs, score=score, within=within, streams=streams):
        return None
    if score > crs:
        return Verdict.INVITED
    if score == crs:
        if tie_break is None or profile_created is None:
            return Verdict.AT_CUTOFF
        return Verdict.INVITED if profile_created < tie_break else Verdict.JUST_MISSED
    return Verdict.CLOSE  # crs - within <= score < crs
