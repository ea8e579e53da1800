"""What the sign-up form turns into: destinations (apprise URLs from the operator's templates),
and problems in plain words."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

EMAIL = re.compile(r"^[^@\s<>\"'(),;:\\\[\]]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
PHONE = re.compile(r"^\+?[1-9][0-9]{7,14}$")


def destinations(values: dict[str, Any], email_template: str, sms_template: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """[(kind, address, apprise URL)] from the form's e-mail and phone, and the problems found."""
    destinations, problems = [], []
    email, phone = values["email"], re.sub(r"[\s().-]", "", values["phone"])
    if not email and not phone:
        problems.append("give an e-mail address" + (" or a phone number" if sms_template else ""))
    if email:
        if EMAIL.match(email) and len(email) <= 254:
            destinations.append(("e-mail", email, email_template.replace("{email}", quote(email, safe="@+"))))
        else:
            problems.append("the e-mail address does not look valid (like name@example.com)")
    if phone:
        if not sms_template:
            problems.append("this site does not send SMS; leave the phone number empty")
        elif PHONE.match(phone):
            destinations.append(("phone", phone, sms_template.replace("{phone}", phone.lstrip("+"))))
        else:
            problems.append("the phone number does not look valid (country code and number, like +1 555 123 4567)")
    return destinations, problems


def plain(problem: str) -> str:
    """A validation sentence for people who never saw an apprise URL."""
    if problem.startswith("channel"):
        return "that address cannot receive messages here; please check it"
    return problem.replace("profile_created", "profile submission time")
