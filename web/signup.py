"""Signing up on the web: the form, the sign-up it sends (the same answer whether or not the address
is known; rate-limited per client and per destination), and the confirmation page, whose form
(not its link: a GET never changes state) confirms the subscription."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from flask import g, request
from flask_babel import gettext as _
from markupsafe import Markup

from crswatch.draws.record import ottawa_today
from crswatch.notifier import telegram
from crswatch.notifier.channels import check_url
from crswatch.status import WEB_SIGN_UPS
from crswatch.store import kv
from crswatch.subscribers import deeplink, optin
from crswatch.subscribers import links as link_tokens
from crswatch.subscribers.model import LANGUAGES
from crswatch.subscribers.validate import Invalid

from .common import (
    Page,
    allowed,
    current_language,
    page,
    pages,
    start_sign_up,
    too_many_sign_ups,
    used_up,
)
from .forms import destinations, plain
from .site import site

log = logging.getLogger(__name__)


@pages.get("/")
def form() -> Page:
    defaults = site().defaults
    return page("form.html", values={"within": str(defaults.within), "streams": list(defaults.streams)})


@pages.post("/")
def subscribe() -> Page:
    here = site()
    web = here.config.web
    client = request.remote_addr or "?"
    if used_up(here.per_client, "client", client):  # a look only: a form sent back with a typo counts for nothing
        return too_many_sign_ups()
    values: dict[str, Any] = {key: request.form.get(key, "").strip()[:200] for key in ("email", "phone", "score", "within", "profile_created", "language",
                                                                                     "cadence")}  # fmt: skip
    values["pool_alerts"] = request.form.get("pool_alerts") == "on"
    values["language"] = values["language"] if values["language"] in LANGUAGES else current_language()
    values["streams"] = request.form.getlist("streams")[:20]
    values["telegram"] = bool(here.config.telegram.username) and request.form.get("telegram") == "on"
    values["noc"] = request.form.get("noc", "").strip()[:20]
    wanted, problems = destinations(values, web.email_channel, web.sms_channel, values["telegram"])
    occupation = occupation_streams(values, problems)  # the code adds its categories; it is not kept
    sign_ups = []
    if values["telegram"]:  # the chat is not known yet: the sign-up waits for the one that presses START
        wanted.append(("telegram", "", telegram.channel(0)))
    for kind, address, url in wanted:
        try:
            sign_ups.append((kind, address, optin.validate_sign_up(
                channel=url, score=values["score"], within=values["within"], streams=values["streams"],
                profile_created=values["profile_created"], check=telegram.checker(check_url), choices=here.defaults.choices, language=values["language"],
                cadence=values["cadence"], pool_alerts=values["pool_alerts"],
            )))  # fmt: skip
        except Invalid as exc:
            problems += [p for p in exc.problems if p not in problems]
    if problems:
        return page("form.html", 400, values=values, problems=[plain(p) for p in problems])
    if not allowed(here.per_client, "client", client):  # only a valid sign-up uses up the client's allowance
        return too_many_sign_ups()
    ttl = timedelta(hours=web.confirm_hours)
    link = ""
    for kind, address, sign_up in sign_ups:
        if kind == "telegram":
            with here.store.write() as conn:
                link = f"https://t.me/{here.config.telegram.username}?start={deeplink.start(conn, sign_up, ttl=ttl)}"
            continue
        digest = hashlib.sha256(address.lower().encode()).hexdigest()
        if not allowed(here.per_destination, "destination", digest):
            log.info("confirmation to a %s not sent: its limit (%s) is reached", kind, web.destination_limit)
            continue  # the same answer as when it is sent: the page reveals nothing
        start_sign_up(sign_up, ttl)
    if here.sender is not None:
        here.sender.wake.set()
    sent = {kind for kind, _address, _sign_up in sign_ups} - {"telegram"}
    if link:
        return page(
            "telegram.html",
            link=link,
            qr=qr_code(link),
            sent=bool(sent),
            hours=web.confirm_hours,
            occupation=occupation,
        )
    kinds = _("e-mail and phone") if len(sent) == 2 else _("e-mail") if "e-mail" in sent else _("phone") if sent else ""
    return page("sent.html", kinds=kinds, hours=web.confirm_hours, occupation=occupation)


def occupation_streams(values: dict[str, Any], problems: list[str]) -> list[str]:
    """The form's occupation (a NOC 2021 code, optional): its categories join the chosen streams, and
    the sentences that say so (the same for every address, so the page still reveals nothing)."""
    from crswatch.errors import UsageError
    from crswatch.occupations import lookup

    if not values["noc"]:
        return []
    here = site()
    try:
        found = lookup(here.config, values["noc"], ottawa_today(here.clock()))
    except UsageError:
        problems.append(_("the occupation code must be the 5 digits of a NOC 2021 code (like 31102), or left empty"))
        return []
    added = [code for code in found.streams if code not in values["streams"]]
    values["streams"] = [*values["streams"], *added]
    names = here.names(current_language())
    listed = "; ".join(names.get(code, code) for code in found.streams)
    if added:
        said = [
            _(
                "Your occupation (NOC %(noc)s) is on IRCC's lists for: %(names)s. These categories were added to your alerts.",
                noc=found.match.noc,
                names=listed,
            )
        ]
    elif found.streams:
        said = [
            _(
                "Your occupation (NOC %(noc)s) is on IRCC's lists for: %(names)s, which you had already chosen.",
                noc=found.match.noc,
                names=listed,
            )
        ]
    else:
        said = [
            _(
                "Your occupation (NOC %(noc)s) is on none of IRCC's category lists: no category was added. The program draws do not depend on it.",
                noc=found.match.noc,
            )
        ]
    if found.match.unconfirmed:
        said.append(
            _(
                "Some lists could not be confirmed and may also hold it: %(names)s.",
                names="; ".join(names.get(c, c) for c in found.match.unconfirmed),
            )
        )
    return said


def qr_code(link: str) -> Markup:
    """The deep link as an inline SVG QR code (segno), to scan with the phone that has Telegram."""
    import segno

    return Markup(segno.make(link, error="m").svg_inline(scale=4, title="QR"))


def sign_up_gone(state: str | None) -> Page:
    if state == optin.USED:
        return page("message.html", 410, title=_("This link was already used"),
                    text=_("The alerts it asked for are active. Every alert ends with links to change or stop them."))  # fmt: skip
    if state == optin.EXPIRED:
        return page("message.html", 410, title=_("This link has expired"),
                    text=_("Confirmation links work for %(hours)s hours. Please subscribe again from the home page.", hours=site().config.web.confirm_hours))  # fmt: skip
    return page("message.html", 404, title=_("This link does not work"),
                text=_("It may be mistyped, or so old that it was forgotten. You can subscribe again from the home page."))  # fmt: skip


@pages.get("/confirm/<token>")
def confirm_form(token: str) -> Page:
    # A GET never changes anything: mail scanners open links.  It shows what the sign-up asks.
    g.private = True
    if not allowed(site().per_client, "confirm", request.remote_addr or "?"):
        return page("message.html", 429, title=_("Too many attempts"), text=_("Please try again later."))
    with site().store.read() as view:
        found = optin.lookup(view, token[:100])
    if found is None or found[0] != optin.PENDING:
        return sign_up_gone(found[0] if found else None)
    return page("confirm.html", sign_up=found[1])


@pages.post("/confirm/<token>")
def confirm(token: str) -> Page:
    g.private = True
    here = site()
    if not allowed(here.per_client, "confirm", request.remote_addr or "?"):
        return page("message.html", 429, title=_("Too many attempts"), text=_("Please try again later."))
    with here.store.write() as tx:
        subscriber = optin.confirm(tx, token[:100], check=check_url, defaults=here.defaults)
        found = optin.lookup(tx, token[:100]) if subscriber is None else None
        if subscriber is not None:  # `check` and `status` warn when such subscribers have no way out
            kv.put(tx, WEB_SIGN_UPS, {"confirmed": True})
    if subscriber is None:
        return sign_up_gone(found[0] if found else None)
    manage_url, _unsubscribe_url = link_tokens.Links(here.own_url, here.link_key).for_subscriber(
        subscriber.id, subscriber.language
    )
    return page("confirmed.html", subscriber=subscriber, manage_url=manage_url)
