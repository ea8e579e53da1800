"""A subscriber's CRS profile: checked from the file they gave, kept as compact JSON (only what
scoring needs), and scored on a draw's date.  Matching reads many profiles for one or two dates,
so a profile is parsed once and each (profile, day) scored once per process."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from crswatch.draws.crs import Grid, ProfileError, RulesError, parse, read, score
from crswatch.draws.crs.profile import Profile, dumps

from .validate import Invalid

OTTAWA = ZoneInfo("America/Toronto")  # IRCC's days are Ottawa's


def ottawa_day(moment: datetime) -> date:
    return moment.astimezone(OTTAWA).date()


def check(text: str, name: str = "profile") -> tuple[str, datetime | None]:
    """(the profile as stored, its Express Entry submission time if it gives one); `Invalid` names
    every wrong key or value."""
    try:
        profile = read(text, name)
    except ProfileError as exc:
        raise Invalid([f"{name}: {p}" for p in exc.problems]) from None
    return dumps(profile), profile.profile_created


@lru_cache(maxsize=100_000)
def _parsed(stored: str) -> Profile:
    import json

    return parse(json.loads(stored))


@lru_cache(maxsize=200_000)
def score_on(stored: str, day: date, extra: Sequence[Grid] = ()) -> int:
    """The stored profile's CRS score on the day, by the grid in force then (`extra`: an
    operator's versions)."""
    return score(_parsed(stored), day, extra).total


def ceiling_of(stored: str, now: datetime, extra: Sequence[Grid] = ()) -> int:
    """The most the profile can score from 30 days before `now` (a draw published late) to ten
    years after: the matching pre-filter."""
    from datetime import timedelta

    from crswatch.draws.crs.days import add_years
    from crswatch.draws.crs.score import ceiling

    today = ottawa_day(now)
    return ceiling(_parsed(stored), today - timedelta(days=30), add_years(today, 10), tuple(extra))


def score_today(stored: str, now: datetime, extra: Sequence[Grid] = ()) -> int:
    try:
        return score_on(stored, ottawa_day(now), tuple(extra))
    except (ProfileError, RulesError) as exc:
        raise Invalid([f"profile: {exc}"]) from None
