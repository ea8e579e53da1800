"""What every page of `crswatch serve` shares: the pages blueprint, the page's language, rendering
a page with the site's choices, the store-kept rate limits, and a sign-up's settings in words.
The views (`web.app`, `web.calculator`) import this; it imports no view."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect
from limits import RateLimitItem

from crswatch.notifier.channels import check_url
from crswatch.notifier.message import confirmation_message
from crswatch.notifier.outbox import confirmation, queue
from crswatch.store import limits
from crswatch.subscribers import optin
from crswatch.subscribers.links import language_query
from crswatch.subscribers.model import LANGUAGES

from .site import site

pages = Blueprint("pages", __name__)


csrf = CSRFProtect()


Page = tuple[str, int]


LANGUAGE_COOKIE = "lang"


ROUNDS_URL = {
    "en": "https://www.canada.ca/en/immigration-refugees-citizenship/corporate/mandate/policies-operational-instructions-agreements/ministerial-instructions/express-entry-rounds.html",
    "fr": "https://www.canada.ca/fr/immigration-refugies-citoyennete/organisation/mandat/politiques-instructions-operationnelles-ententes/instructions-ministerielles/rondes-entree-express.html",
}


def language() -> str:
    """The page's language: the switch's `?lang=`, else the choice kept in a cookie, else the
    browser's Accept-Language, else English."""
    for chosen in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if chosen in LANGUAGES:
            return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def current_language() -> str:
    return str(get_locale() or "en")


def allowed(limit: RateLimitItem, scope: str, who: str) -> bool:
    """A moving-window limit kept in the store: shared by every `serve` process."""
    with site().store.write() as conn:
        return limits.hit(conn, f"{scope}:{who}", limit.amount, limit.get_expiry())


def used_up(limit: RateLimitItem, scope: str, who: str) -> bool:
    """Whether `who` has no allowance left under `limit` (nothing is recorded)."""
    with site().store.read() as conn:
        return limits.count(conn, f"{scope}:{who}", limit.get_expiry()) >= limit.amount


def too_many_sign_ups() -> Page:
    return page(
        "message.html",
        429,
        title=_("Too many sign-ups"),
        text=_("Too many sign-ups from your network. Please try again later."),
    )


def page(template: str, status: int = 200, **context: Any) -> Page:
    here, lang = site(), current_language()
    return render_template(
        template, choices=here.choices(lang), names=here.names(lang), sms=bool(here.config.web.sms_channel), language=lang,
        rounds_url=ROUNDS_URL[lang], telegram=bool(here.config.telegram.username), **context,
    ), status  # fmt: skip


def settings(sign_up: optin.SignUp) -> str:
    """The sign-up's choices in words, repeated in its confirmation message (in its language)."""
    from flask_babel import ngettext

    within = site().defaults.within if sign_up.within is None else sign_up.within
    names = site().names(sign_up.language)
    text: str = ngettext("CRS score %(score)s, close means within %(num)s point, for: ", "CRS score %(score)s, close means within %(num)s points, for: ",
                    within, score=sign_up.score)  # fmt: skip
    text += "; ".join(names.get(code, code) for code in sign_up.streams)
    if sign_up.profile_created:
        text += _("; profile submitted %(moment)s UTC", moment=f"{sign_up.profile_created:%Y-%m-%d %H:%M:%S}")
    if sign_up.cadence != "instant":
        text += (
            _("; a daily digest (an invitation at once)")
            if sign_up.cadence == "daily"
            else _("; a weekly digest (an invitation at once)")
        )
    if sign_up.pool_alerts:
        text += _("; pool alerts")
    return text + "."


def start_sign_up(sign_up: optin.SignUp, ttl: timedelta, note: Callable[[], str] | None = None) -> None:
    """The pending sign-up and its confirmation message, written together (the message in the
    language chosen for the alerts; `note()`, translated there, added to the settings it repeats)."""
    here = site()
    with here.store.write() as conn:
        token = optin.start(conn, sign_up, ttl=ttl)
        with force_locale(sign_up.language):
            asked = settings(sign_up) + (" " + note() if note else "")
        title, bodies = confirmation_message(
            f"{here.own_url}/confirm/{token}{language_query(sign_up.language)}",
            here.config.web.confirm_hours,
            asked,
            sign_up.language,
            here.letters,
        )
        queue(conn, [confirmation(sign_up.channel, check_url(sign_up.channel), token, title, bodies)])
