"""Reminders: what is about to change a profile subscriber's score, told before (or on) the day.

- 30 days before a birthday that costs age points ("on March 14 your CRS drops from 478 to 472");
- the day a completed year of work experience adds points (and: update the IRCC profile);
- 60 and 14 days before a language test stops counting (two years after it), with the score after;
- 30 and 7 days before the Express Entry profile expires (12 months after it was submitted).

Each reminder has a key (`birthday/2027-03-14`, `language/first_language/2027-06-01/60`…).  The
regular check plans them with its clock: a reminder is due from its day until the next stage's
(a check missed for a few days still sends it), and the key, recorded in the `reminders` table in
the transaction that queues the deliveries, makes it go out once however often the check runs and
however long the outbox keeps its rows.  Everything goes through the outbox, like the alerts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from crswatch.subscribers import reminded
from crswatch.subscribers.model import Subscriber
from crswatch.subscribers.profile import ottawa_day

from .outbox import REMINDER, Delivery

BIRTHDAY, EXPERIENCE, LANGUAGE, EXPIRY = "birthday", "experience", "language", "expiry"
KINDS = (BIRTHDAY, EXPERIENCE, LANGUAGE, EXPIRY)
BIRTHDAY_DAYS = 30
LANGUAGE_DAYS = (60, 14)
EXPIRY_DAYS = (30, 7)
EXPERIENCE_GRACE = 7  # an added year is told on its day, or within a week when checks were missed


@dataclass(frozen=True)
class Reminder:
    key: str
    kind: str
    on: date  # the day the score (or the profile) changes
    before: int | None = None
    after: int | None = None
    days: int = 0  # how many days ahead it was planned for (its stage)
    test: str = ""  # which language test: first_language, second_language, spouse.language
    test_name: str = ""  # ielts, celpip, … (to name it in the message)

    def payload(self) -> dict[str, Any]:
        data = {
            "reminder": self.kind,
            "on": self.on.isoformat(),
            "before": self.before,
            "after": self.after,
            "days": self.days,
        }
        return data | ({"test": self.test, "test_name": self.test_name} if self.test else {})


def due(
    stored: str | None, created: datetime | None, today: date, since: date, rules: tuple[Any, ...] = ()
) -> list[Reminder]:
    """The reminders due on `today` for a stored profile (or None) and an Express Entry submission
    time; `since`: the day the subscriber subscribed (no "today your score rose" for a day before)."""
    found = list(_expiry(created, today))
    if stored is None:
        return found
    from crswatch.draws.crs import ProfileError, RulesError

    try:
        found += (
            _birthday(stored, today, rules)
            + _experience(stored, today, since, rules)
            + _languages(stored, today, rules)
        )
    except (ProfileError, RulesError):
        pass  # a profile with no score on these days has nothing to announce (the check's matching says why)
    return found


def _score(stored: str, day: date, rules: tuple[Any, ...]) -> int:
    from crswatch.subscribers.profile import score_on

    return score_on(stored, day, rules)


def _birthday(stored: str, today: date, rules: tuple[Any, ...]) -> list[Reminder]:
    from crswatch.draws.crs.days import add_years, age_on
    from crswatch.subscribers.profile import _parsed  # noqa: PLC2701 - parsed once per process

    born = _parsed(stored).date_of_birth
    birthday = add_years(born, age_on(born, today) + 1)
    if (birthday - today).days > BIRTHDAY_DAYS:
        return []
    before, after = _score(stored, birthday - timedelta(days=1), rules), _score(stored, birthday, rules)
    return (
        [Reminder(f"{BIRTHDAY}/{birthday}", BIRTHDAY, birthday, before, after, BIRTHDAY_DAYS)] if after < before else []
    )


def _experience(stored: str, today: date, since: date, rules: tuple[Any, ...]) -> list[Reminder]:
    from crswatch.draws.crs.days import experience_years
    from crswatch.subscribers.profile import _parsed  # noqa: PLC2701

    profile = _parsed(stored)
    periods = [p for p in (profile.canadian_experience, profile.foreign_experience) if p]
    found = []
    for back in range(EXPERIENCE_GRACE):
        day = today - timedelta(days=back)
        if day < since:
            break
        if any(experience_years(p, day) > experience_years(p, day - timedelta(days=1)) for p in periods):
            before, after = _score(stored, day - timedelta(days=1), rules), _score(stored, day, rules)
            if after > before:
                found.append(Reminder(f"{EXPERIENCE}/{day}", EXPERIENCE, day, before, after))
    return found


def _languages(stored: str, today: date, rules: tuple[Any, ...]) -> list[Reminder]:
    from crswatch.draws.crs.days import LANGUAGE_YEARS, add_years
    from crswatch.subscribers.profile import _parsed  # noqa: PLC2701

    profile = _parsed(stored)
    tests = {"first_language": profile.first_language, "second_language": profile.second_language,
             "spouse.language": profile.spouse.language if profile.spouse else None}  # fmt: skip
    found = []
    for name, test in tests.items():
        if test is None or test.test_date is None or test.test_date > today:
            continue
        ends = add_years(test.test_date, LANGUAGE_YEARS)
        stage = _stage((ends - today).days, LANGUAGE_DAYS)
        if stage:
            before, after = _score(stored, ends - timedelta(days=1), rules), _score(stored, ends, rules)
            found.append(
                Reminder(f"{LANGUAGE}/{name}/{ends}/{stage}", LANGUAGE, ends, before, after, stage, name, test.test)
            )
    return found


def _expiry(created: datetime | None, today: date) -> Iterator[Reminder]:
    from crswatch.draws.crs.days import add_years

    if created is None:
        return
    expires = add_years(created.date(), 1)
    stage = _stage((expires - today).days, EXPIRY_DAYS)
    if stage:
        yield Reminder(f"{EXPIRY}/{expires}/{stage}", EXPIRY, expires, days=stage)


def _stage(left: int, stages: tuple[int, ...]) -> int:
    """The stage (days ahead) a day `left` days before the change falls in: from the stage's day
    until the next (later) stage's, so each stage is told once and a missed check is made up."""
    for i, days in enumerate(stages):
        later = stages[i + 1] if i + 1 < len(stages) else 0
        if later < left <= days:
            return days
    return 0


# ----------------------------------------------------------------------------------- planning


def plan_reminders(conn: Connection, now: datetime, rules: tuple[Any, ...] = ()) -> list[Delivery]:
    """Queue-ready deliveries for every reminder due today (Ottawa's day) that was not queued
    before, and record their keys (in the caller's transaction: both commit, or neither)."""
    today = ottawa_day(now)
    deliveries: list[Delivery] = []
    for page in reminded.candidates(conn):
        planned = {
            s.id: due(s.profile, s.profile_created, today, ottawa_day(s.created_at), rules)
            for s in page
            if s.wants_reminders
        }
        keys = [(sid, r.key) for sid, found in planned.items() for r in found]
        if not keys:
            continue
        fresh = reminded.record(conn, keys, now)
        for sub in page:
            for reminder in planned.get(sub.id, ()):
                if (sub.id, reminder.key) in fresh:
                    deliveries += _deliveries(sub, reminder, now, len(deliveries))
    return deliveries


def _deliveries(sub: Subscriber, reminder: Reminder, now: datetime, seq: int) -> list[Delivery]:
    found: list[Delivery] = []
    for channel in sub.channels:
        found.append(Delivery(
            id=f"{REMINDER}/{sub.id}/{reminder.key}/{channel.key}", draw="", revision=0, subscriber=sub.id, channel=channel.key,
            masked=channel.masked, verdict=None, kind=REMINDER, queued_at=now, seq=seq + len(found), payload=reminder.payload(),
        ))  # fmt: skip
    return found
