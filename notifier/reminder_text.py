"""A reminder's text, in the subscriber's language, as plain text and HTML, with the usual way to
change or stop the messages (the subscriber's pages, or the contact, or the operator's command)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from crswatch.subscribers.links import Links
from crswatch.subscribers.model import Subscriber

from .foot import way_out  # one foot for every message
from .i18n import Texts
from .letters import DEFAULT, Letters
from .reminders import BIRTHDAY, EXPERIENCE, EXPIRY

#: The tests as their makers name them (names, not words: the same in both languages).
TEST_NAMES = {"ielts": "IELTS General Training", "celpip": "CELPIP-General", "pte_core": "PTE Core", "tef": "TEF Canada",
              "tcf": "TCF Canada", "clb": "CLB", "nclc": "NCLC"}  # fmt: skip


def render_reminder(
    sub: Subscriber, payload: dict[str, Any], links: Links | None = None, contact: str = "", letters: Letters = DEFAULT
) -> tuple[str, dict[str, str]]:
    """(title, {"text": …, "html": …}) for one reminder (a delivery's payload)."""
    t = Texts(sub.language)
    title, paragraphs = _texts(payload, sub, t)
    stop = way_out(sub, links, contact, t)
    return title, letters.bodies("message", t, title=title, paragraphs=paragraphs, stop=stop)


def _texts(payload: dict[str, Any], sub: Subscriber, t: Texts) -> tuple[str, list[str]]:
    _ = t.gettext
    kind, day = payload["reminder"], t.day(date.fromisoformat(payload["on"]))
    before, after = payload.get("before"), payload.get("after")
    if kind == BIRTHDAY:
        return _("Reminder: your CRS drops on {day}").format(day=day), [
            _("On {day} your CRS drops from {before} to {after}: age points go down at every birthday from 30 on.").format(day=day, before=before, after=after),
            _("Draws from that day on are matched on {after}; your alerts take it into account.").format(after=after),
        ]  # fmt: skip
    if kind == EXPERIENCE:
        return _("Your CRS rises today: {after}").format(after=after), [
            _("On {day} you complete another year of work experience: your CRS rises from {before} to {after}.").format(day=day, before=before, after=after),
            _("Update your Express Entry profile in your IRCC account so that IRCC counts it too: IRCC does not update it for you."),
        ]  # fmt: skip
    if kind == EXPIRY:
        created = sub.profile_created.date() if isinstance(sub.profile_created, datetime) else None
        submitted = _("submitted on {day}").format(day=t.day(created)) if created else _("submitted a year ago")
        return _("Reminder: your Express Entry profile expires on {day}").format(day=day), [
            _("Your Express Entry profile ({submitted}) expires on {day}: a profile stays in the pool for 12 months.").format(submitted=submitted, day=day),
            _("If you have not been invited by then, submit a new profile in your IRCC account to stay in the pool, and give your alerts its submission time."),
        ]  # fmt: skip
    test = TEST_NAMES.get(payload.get("test_name", ""), payload.get("test_name", ""))
    which = {"first_language": _("your first official language test ({test})"), "second_language": _("your second official language test ({test})"),
             "spouse.language": _("your spouse's language test ({test})")}.get(payload.get("test", ""), _("your language test ({test})")).format(test=test)  # fmt: skip
    return _("Reminder: your language test stops counting on {day}").format(day=day), [
        _("The results of {which} stop counting on {day}, two years after the test.").format(which=which, day=day),
        _("Without a new test, your CRS goes from {before} to {after} that day. Results take a few weeks: book a new test now.").format(before=before, after=after),
    ]  # fmt: skip
