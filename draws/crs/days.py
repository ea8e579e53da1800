"""The calendar of a profile: anniversaries, ages in completed years, the completed years of work
in a window, and how long a language result counts.

Plain date arithmetic with no grid in it, shared by the scoring (`score.py`, which judges a
profile on one day) and by what looks ahead at a profile's days (the reminders of a birthday, a
year of work or an expiring test)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from .profile import Period

LANGUAGE_YEARS = 2  # results count for two years from the test date (Ministerial Instructions s. 3(4))
EXPERIENCE_WINDOW = 10  # work counts when it was done in the ten years before the day scored


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def age_on(born: date, on: date) -> int:
    """Completed years on the day."""
    age = on.year - born.year
    return age if add_years(born, age) <= on else age - 1


def experience_years(periods: Iterable[Period], on: date, window: bool = True) -> int:
    """Completed years in the periods, counted in the ten years before `on` (`to` is the last day
    worked, inclusive; an open period runs to the day before `on`).  Overlapping periods count once;
    each stretch counts its whole calendar years, and the days left over from all of them add up in
    365-day years."""
    earliest = add_years(on, -EXPERIENCE_WINDOW) if window else date.min
    spans = sorted((max(p.start, earliest), min(p.end + timedelta(days=1) if p.end else on, on)) for p in periods)
    merged: list[list[date]] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    years, days = 0, 0
    for start, end in merged:
        whole = end.year - start.year
        while whole > 0 and add_years(start, whole) > end:
            whole -= 1
        years += whole
        days += (end - add_years(start, whole)).days
    return years + days // 365
