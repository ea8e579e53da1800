"""The feed's dates and timestamps, in all the spellings IRCC has published them.

"January 21, 2026" and "January 21, 2026 at 12:37:42 UTC" come with ordinal days, missing commas,
stray AM/PM and repeated ISO dates; these readers take them all and guess at nothing (an
impossible or ambiguous date is None).  Pure functions of a string, kept apart from the round
parsing in `parse.py` (which uses them) so that each spelling is tested on its own."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

MONTHS = {
    name: number
    for number, name in enumerate(
        "january february march april may june july august september october november december".split(),
        start=1,
    )
}

_LONG_DATE = re.compile(r"([a-z]+)\.?\s*(\d{1,2})(?:st|nd|rd|th)?\s*[,.]?\s*(\d{4})")


def parse_long_date(text: str) -> date | None:
    """ "January 21, 2026" (with the feed's usual slips) → date, or None."""
    match = _LONG_DATE.fullmatch(" ".join(text.lower().split()))
    if not match or match[1] not in MONTHS:
        return None
    try:
        return date(int(match[3]), MONTHS[match[1]], int(match[2]))
    except ValueError:
        return None


# "January 21, 2026 at 12:37:42 UTC" and its ~20 irregular spellings: an ordinal day ("21st"), a missing comma, "at",
# year or "UTC"; a stray AM/PM on a 24-hour time; "March 02. 2024"; an ISO date repeated.
_STAMP = re.compile(
    r"""(?P<month>[a-z]+)\.?\s*(?P<day>\d{1,2})(?:st|nd|rd|th)?\s*[,.]?\s*(?P<year>\d{4})?\s*,?\s*
        (?:at)?\s*(?P<iso>\d{4}-\d{2}-\d{2})?\s*
        (?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})\s*(?P<ampm>[ap]\.?m\.?)?\s*(?:utc|gmt|z)?""",
    re.VERBOSE,
)


def parse_stamp(text: str, draw_date: date | None = None) -> datetime | None:
    """A feed timestamp → aware UTC datetime, or None when it cannot be read.

    Parts may be filled only from the same round: a missing year comes from the draw's date (the
    year before when that would put the stamp after the draw).  Times are UTC as the feed says.
    """
    match = _STAMP.fullmatch(" ".join(text.lower().split()))
    if not match or match["month"] not in MONTHS:
        return None
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"])
    if match["ampm"] and hour <= 12:  # "04:22:17 AM"; "15:48:39 AM" is plainly 24-hour
        hour = hour % 12 + (12 if match["ampm"].startswith("p") else 0)
    month, day = MONTHS[match["month"]], int(match["day"])
    if match["iso"]:
        try:
            iso = date.fromisoformat(match["iso"])
        except ValueError:  # "2025-02-30": an impossible date is never guessed at
            return None
        if (iso.month, iso.day) != (month, day) or (match["year"] and int(match["year"]) != iso.year):
            return None
        year = iso.year
    elif match["year"]:
        year = int(match["year"])
    elif draw_date is not None:
        year = draw_date.year
        if (month, day) > (draw_date.month, draw_date.day):
            year -= 1
    else:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
