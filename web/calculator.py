"""`/crs`: the CRS calculator page, a plain server-rendered form (no JavaScript).

GET shows the form and changes nothing.  POST `/crs` computes the score and IRCC's breakdown by
the grid in force on the day asked (the same code as `crswatch crs`) and stores nothing.  From the
result, "alert me with this profile" (POST `/crs/alert`) is a sign-up like the home page's: it is
kept pending, with the profile, until the address follows its confirmation link (double opt-in);
only then does the profile become the subscriber's.  A profile is never logged."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from flask import g, request
from flask_babel import gettext as _

from crswatch.draws.crs import SECTIONS, ProfileError, RulesError, parse, score
from crswatch.draws.crs.language import ABILITIES
from crswatch.draws.crs.profile import CANADIAN_EDUCATION, EDUCATION, dumps
from crswatch.notifier.channels import check_url
from crswatch.subscribers import optin
from crswatch.subscribers.validate import Invalid

from .common import Page, allowed, current_language, page, pages, start_sign_up, too_many_sign_ups, used_up
from .forms import destinations, plain
from .site import site

TESTS = ("ielts", "celpip", "pte_core", "tef", "tcf", "clb", "nclc")
SPOUSE = ("none", "accompanying", "not_accompanying", "citizen_or_pr")
JOB = ("none", "teer_0_to_3", "major_group_00")
FIELDS = 60  # at most this many form values are read


def _form() -> dict[str, str]:
    return {k: v.strip()[:40] for k, v in list(request.form.items())[:FIELDS]}


def _number(values: dict[str, str], key: str, problems: list[str], whole: bool = False) -> Any:
    text = values.get(key, "").replace(",", ".")
    try:
        return int(text) if whole else float(text)
    except ValueError:
        problems.append(_("%(field)s must be a number", field=key))
        return None


def _language(values: dict[str, str], prefix: str, problems: list[str]) -> dict[str, Any] | None:
    test = values.get(f"{prefix}_test", "")
    if not test or test == "none":
        return None
    data: dict[str, Any] = {"test": test}
    if values.get(f"{prefix}_test_date"):
        data["test_date"] = values[f"{prefix}_test_date"]
    for ability in ABILITIES:
        data[ability] = _number(values, f"{prefix}_{ability}", problems)
    return data


def profile_data(values: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The form's answers as a profile (the keys of a `crswatch crs` file), and the problems."""
    problems: list[str] = []
    data: dict[str, Any] = {
        "date_of_birth": values.get("date_of_birth", ""),
        "education": values.get("education", "less_than_secondary"),
    }
    for prefix, key in (("first", "first_language"), ("second", "second_language")):
        test = _language(values, prefix, problems)
        if test:
            data[key] = test
    for key in ("canadian_experience_years", "foreign_experience_years"):
        if values.get(key):
            data[key] = _number(values, key, problems, whole=True)
    for key in ("certificate_of_qualification", "sibling_in_canada", "provincial_nomination"):
        data[key] = values.get(key) == "on"
    data["canadian_education"] = values.get("canadian_education", "none")
    job = values.get("job_offer", "none")
    if job != "none":
        data["job_offer"] = {"teer": 0, "major_group_00": True} if job == "major_group_00" else {"teer": 1}
    spouse = values.get("spouse", "none")
    if spouse != "none":
        data["spouse"] = {"accompanying": spouse != "not_accompanying", "canadian_citizen_or_pr": spouse == "citizen_or_pr",
                          "education": values.get("spouse_education", "less_than_secondary")}  # fmt: skip
        if values.get("spouse_canadian_experience_years"):
            data["spouse"]["canadian_experience_years"] = _number(
                values, "spouse_canadian_experience_years", problems, whole=True
            )
        if any(values.get(f"spouse_{a}") for a in ABILITIES):
            data["spouse"]["language"] = {
                "test": "clb",
                **{a: _number(values, f"spouse_{a}", problems) for a in ABILITIES},
            }
    return data, problems


def _choices() -> dict[str, Any]:
    return {"education": EDUCATION, "canadian_education": CANADIAN_EDUCATION, "tests": TESTS, "spouse_choices": SPOUSE,
            "jobs": JOB, "abilities": ABILITIES, "sections": SECTIONS}  # fmt: skip


def _today() -> date:
    from crswatch.subscribers.profile import ottawa_day

    return ottawa_day(site().clock())


@pages.get("/crs")
def calculator() -> Page:
    return page("crs.html", values={"on": _today().isoformat()}, **_choices())


@pages.post("/crs")
def calculate() -> Page:
    """The score and its breakdown; nothing is stored."""
    from crswatch.config import crs_rules

    g.private = True  # the answers are personal: never cached
    values = _form()
    data, problems = profile_data(values)
    on = _today()
    if values.get("on"):
        try:
            on = date.fromisoformat(values["on"])
        except ValueError:
            problems.append(_("the day to score must be a date (YYYY-MM-DD)"))
    result = profile = None
    try:  # every problem at once: the numbers that are not numbers, and what the profile's rules say
        profile = parse(data)
        result = score(profile, on, crs_rules(site().config)) if not problems else None
    except (ProfileError, RulesError) as exc:
        problems += exc.problems if isinstance(exc, ProfileError) else [str(exc)]
    if result is None or profile is None or problems:
        return page("crs.html", 400, values=values, problems=problems, **_choices())
    stored = dumps(profile)
    defaults = site().defaults
    alert = {
        "within": str(defaults.within),
        "streams": list(defaults.streams),
        "profile_created": values.get("profile_created", ""),
    }
    return page("crs.html", values=values, result=result, stored=stored, alert=alert, **_choices())


def _score_today(text: str) -> int:
    """Today's score of a profile sent by a client (not cached: anyone may send anything)."""
    from crswatch.config import crs_rules
    from crswatch.draws.crs import read

    try:
        return score(read(text, "profile"), _today(), crs_rules(site().config)).total
    except ProfileError as exc:
        raise Invalid([f"profile: {p}" for p in exc.problems]) from None
    except (RulesError, ValueError, TypeError, AttributeError) as exc:
        raise Invalid([f"profile: {exc}"]) from None


@pages.post("/crs/alert")
def alert_me() -> Page:
    """ "Alert me with this profile": a pending sign-up with the profile, confirmed by e-mail."""
    here = site()
    web = here.config.web
    g.private = True
    client = request.remote_addr or "?"
    if used_up(here.per_client, "client", client):
        return too_many_sign_ups()
    form = request.form
    values = {"email": form.get("email", "").strip()[:254], "phone": "", "within": form.get("within", "").strip()[:10],
              "profile_created": form.get("profile_created", "").strip()[:40], "language": form.get("language", "")}  # fmt: skip
    language = values["language"] if values["language"] in ("en", "fr") else current_language()
    stored = form.get("profile", "")[:4000]
    wanted, problems = destinations(values, web.email_channel, "", False)
    sign_up = None
    try:
        today = _score_today(stored)  # the profile as the form sent it back: checked again
        for _kind, _address, url in wanted:
            sign_up = optin.validate_sign_up(channel=url, score=today, within=values["within"], streams=form.getlist("streams")[:20],
                                             profile_created=values["profile_created"], check=check_url, choices=here.defaults.choices,
                                             language=language, profile=stored)  # fmt: skip
    except Invalid as exc:
        problems += [plain(p) for p in exc.problems]
    if problems or sign_up is None:
        return page(
            "message.html", 400, title=_("Please fix:"), text="; ".join(problems) or _("give an e-mail address")
        )
    if not allowed(here.per_client, "client", client):
        return too_many_sign_ups()
    digest = hashlib.sha256(wanted[0][1].lower().encode()).hexdigest()
    if allowed(here.per_destination, "destination", digest):
        # the sign-up (with its profile) and its confirmation message, together; the note in the alerts' language
        start_sign_up(
            sign_up,
            timedelta(hours=web.confirm_hours),
            note=lambda: _("Your score is computed from your profile on each draw's date."),
        )
        if here.sender is not None:
            here.sender.wake.set()
    return page("sent.html", kinds=_("e-mail"), hours=web.confirm_hours)
