"""What the sign-up form turns into: destinations (apprise URLs from the operator's templates),
and problems in plain words."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from flask_babel import gettext as _

EMAIL = re.compile(r"^[^@\s<>\"'(),;:\\\[\]]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
PHONE = re.compile(r"^\+?[1-9][0-9]{7,14}$")


def destinations(
    values: dict[str, Any], email_template: str, sms_template: str, telegram: bool = False
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """[(kind, address, apprise URL)] from the form's e-mail and phone, and the problems found
    (`telegram`: the Telegram box is ticked, so neither is needed)."""
    destinations, problems = [], []
    email, phone = values["email"], re.sub(r"[\s().-]", "", values["phone"])
    if not email and not phone and not telegram:
        problems.append(_("give an e-mail address or a phone number") if sms_template else _("give an e-mail address"))
    if email:
        if EMAIL.match(email) and len(email) <= 254:
            destinations.append(("e-mail", email, email_template.replace("{email}", quote(email, safe="@+"))))
        else:
            problems.append(_("the e-mail address does not look valid (like name@example.com)"))
    if phone:
        if not sms_template:
            problems.append(_("this site does not send SMS; leave the phone number empty"))
        elif PHONE.match(phone):
            destinations.append(("phone", phone, sms_template.replace("{phone}", phone.lstrip("+"))))
        else:
            problems.append(_("the phone number does not look valid (country code and number, like +1 555 123 4567)"))
    return destinations, problems


def plain(problem: str) -> str:
    """A validation sentence for people who never saw an apprise URL, in the page's language.

    The subscribers stage words its problems for the command line ("score 2000 is out of
    range; give a CRS score from 0 to 1200"); each field's problem is said here in the form's words."""
    field = problem.split(" ", 1)[0]
    if field == "channel":
        return str(_("that address cannot receive messages here; please check it"))
    if field == "score":
        return str(_("give your CRS score as a whole number from 0 to 1200"))
    if field == "within":
        return str(_("give the closeness margin as a whole number of points from 0 to 200"))
    if field == "profile_created":
        return str(_("the profile submission time is not valid or is in the future"))
    if "stream" in problem:
        return str(_("choose at least one program or category"))
    if field == "unknown" and "language" in problem:
        return str(_("choose English or French for your alerts"))
    if field == "unknown" and "cadence" in problem:
        return str(_("choose how often to hear from us: every alert at once, a daily digest or a weekly digest"))
    return problem  # already the form's words (the destinations' problems)
