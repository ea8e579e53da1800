"""A subscriber's own pages, reached from the signed link in every alert: change the settings, or
stop the alerts (also as a mail provider's one-click List-Unsubscribe POST)."""

from __future__ import annotations

from flask import Response, abort, g, request
from flask_babel import gettext as _

from crswatch.notifier.channels import check_url
from crswatch.subscribers import links as link_tokens
from crswatch.subscribers import manage
from crswatch.subscribers import store as subscribers
from crswatch.subscribers.model import Subscriber
from crswatch.subscribers.validate import Invalid

from .common import (
    Page,
    csrf,
    page,
    pages,
)
from .forms import plain
from .site import site


def subscriber_of(token: str) -> Subscriber:
    """The subscriber a signed link names; a link that no longer works says why (HTTP 410)."""
    g.private = True
    state, subscriber_id = link_tokens.check(site().link_key, token[:300])
    if state == link_tokens.EXPIRED:
        abort(Response(*page("message.html", 410, title=_("This link has expired"),
                             text=_("Links in alerts work for 400 days; the newest alert you received has a working one."))))  # fmt: skip
    with site().store.read() as view:
        found = subscribers.get(view, subscriber_id) if subscriber_id else None
    if found is None and subscriber_id:
        abort(Response(*page("message.html", 410, title=_("You are unsubscribed"),
                             text=_("No alerts are sent for this subscription any more. You can subscribe again from the home page."))))  # fmt: skip
    if found is None:
        abort(404)
    return found.subscriber


@pages.get("/unsubscribe/<token>")
def unsubscribe_form(token: str) -> Page:
    subscriber_of(token)
    return page("unsubscribe.html")


@pages.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> Page:
    # A mail provider's RFC 8058 one-click POST (from the List-Unsubscribe header) carries no
    # form token: the signed link is the credential.  Any other POST needs the form's token.
    if request.form.get("List-Unsubscribe") != "One-Click":
        csrf.protect()
    subscriber = subscriber_of(token)
    with site().store.write() as tx:
        if subscribers.get(tx, subscriber.id):
            manage.unsubscribe(tx, subscriber.id)
    return page(
        "message.html",
        title=_("You are unsubscribed"),
        text=_("No more alerts will be sent to you. Good luck with your application."),
    )


@pages.route("/manage/<token>", methods=["GET", "POST"])
def manage_page(token: str) -> Page:
    subscriber = subscriber_of(token)
    problems: list[str] = []
    saved = False
    if request.method == "POST":
        form = request.form
        try:
            with site().store.write() as tx:
                typed: str | None = form.get("score", "").strip()[:10]
                if subscriber.profile and typed == str(subscriber.score):
                    typed = None  # a profile subscriber who left the score as shown keeps the profile (a typed score replaces it)
                updated = manage.update(
                    tx, subscriber.id, check=check_url, score=typed,
                    within=form.get("within", "").strip()[:10], streams=form.getlist("streams")[:20],
                    profile_created=form.get("profile_created", "").strip()[:40] or None, choices=site().defaults.choices,
                    language=form.get("language", "").strip()[:8] or None, cadence=form.get("cadence", "").strip()[:8] or None,
                    pool_alerts=form.get("pool_alerts") == "on",
                )  # fmt: skip
                paused = form.get("paused") == "on"
                if paused != (not updated.active):
                    updated = manage.set_status(tx, subscriber.id, active=not paused)
            subscriber, saved = updated, True
        except Invalid as exc:
            problems = [plain(p) for p in exc.problems]
    return page("manage.html", 400 if problems else 200, subscriber=subscriber, problems=problems, saved=saved,
                unsubscribe_url=f"{site().own_url}/unsubscribe/{token}")  # fmt: skip


csrf.exempt(unsubscribe)  # checked above instead (flask-wtf's exempt, called: its decorator form is untyped)
