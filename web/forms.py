"""What the sign-up form turns into: destinations (apprise URLs from the operator's templates),
a fast channel check for them, and problems in plain words."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

EMAIL = re.compile(r"^[^@\s<>\"'(),;:\\\[\]]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
PHONE = re.compile(r"^\+?[1-9][0-9]{7,14}$")


class TemplateCheck:
    """The channel check for sign-ups, whose URLs are the operator's templates with an address
    put in.  apprise checks each template once, at start (about a millisecond a parse); a URL
    that is a known template plus an address the form's rules accepted gets the template's masked
    form with that address.  Any other URL goes through apprise's full check."""

    SAMPLES = {"{email}": "someone@example.com", "{phone}": "15550000000"}

    def __init__(self, full: Callable[[str], str]):
        self.full = full
        self.templates: list[tuple[str, str, re.Pattern[str], str, str, bool]] = []  # prefix, suffix, rule, masked, sample as shown, quoted

    def learn(self, template: str, placeholder: str) -> None:
        sample = self.SAMPLES[placeholder]
        masked = self.full(template.replace(placeholder, sample))
        shown = next((form for form in (quote(sample, safe=""), sample) if form in masked), "")
        prefix, _, suffix = template.partition(placeholder)
        rule = EMAIL if placeholder == "{email}" else PHONE
        self.templates.append((prefix, suffix, rule, masked, shown, shown != sample))

    def __call__(self, url: str) -> str:
        for prefix, suffix, rule, masked, shown, quoted in self.templates:
            if shown and url.startswith(prefix) and url.endswith(suffix) and len(url) > len(prefix) + len(suffix):
                address = unquote(url[len(prefix) : len(url) - len(suffix)])
                if rule.match(address):
                    return masked.replace(shown, quote(address, safe="") if quoted else address)
        return self.full(url)


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
