"""`crswatch serve`: the subscription pages, a front end over the same code as the CLI.

Candidates subscribe from a phone browser with an e-mail address (and a phone number where the
operator has set up SMS); nothing is sent to an address until it follows the confirmation link
sent to it (double opt-in, `subscribers.optin`).  Every alert links back here (`subscribers.links`)
to change or stop alerts.

Security: CSRF tokens on every form (Flask-WTF); confirmation tokens are 256 random bits stored
hashed, single-use and expiring; alert links are signed and expiring; every answer to a sign-up is
the same page whether or not the address is known; sign-ups are rate-limited per client address
and confirmation messages per destination (moving windows, `limits`); strict CSP, no referrer,
no framing; channel URLs and secrets are never rendered.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, abort, g, request
from flask_babel import Babel
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from limits import parse as parse_limit
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

from crswatch.app import App
from crswatch.config import web_problems
from crswatch.errors import CrswatchError
from crswatch.metrics import StoreCollector, registry_for
from crswatch.status import WEB_SIGN_UPS
from draws.record import ottawa_today
from draws.streams import label
from notifier import telegram
from notifier.channels import check_url
from store import kv
from store.errors import StoreError
from store.kv import secret
from subscribers import deeplink, manage, optin
from subscribers import links as link_tokens
from subscribers import store as subscribers
from subscribers.model import LANGUAGES, Subscriber
from subscribers.validate import Invalid

from .api import api
from .background import ConfirmationSender
from .common import (
    LANGUAGE_COOKIE,
    Page,
    allowed,
    csrf,
    current_language,
    language,
    page,
    pages,
    start_sign_up,
    too_many_sign_ups,
    used_up,
)
from .forms import destinations, plain
from .health import health
from .site import Site, site
from .webhook import Hook
from .webhook import register as register_webhook

log = logging.getLogger(__name__)


def create_app(app: App, sender: ConfirmationSender | None = None, clock: Callable[[], datetime] | None = None,
               telegram_hook: Hook | None = None) -> Flask:  # fmt: skip
    """The WSGI application; `sender` is woken when a confirmation is queued (`crswatch serve`
    runs one; without it, confirmations wait for the next `check`); `telegram_hook` answers the
    bot's chats by webhook (`[telegram] chats = "serve"`, see web.webhook)."""
    config = app.config
    problems = web_problems(config.web)
    if problems:
        raise Invalid(problems)
    store = app.store  # only once the configuration is known to be good: a bad one changes nothing on disk
    web = config.web
    flask = Flask(__name__)
    flask.config.update(
        SECRET_KEY=secret(store, "web"),
        MAX_CONTENT_LENGTH=16 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.alerts.public_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=2 * 3600,
        WTF_CSRF_SSL_STRICT=False,  # pages send no Referer (no-referrer policy); the token and SameSite cookie remain
    )
    flask.extensions["crswatch"] = Site(
        config=config, store=store, defaults=app.subscriber_defaults, link_key=secret(store, "links"),
        per_client=parse_limit(web.client_limit), per_destination=parse_limit(web.destination_limit),
        own_url=(config.alerts.public_url or f"http://{web.host}:{web.port}").rstrip("/"), sender=sender,
        database=app.database, api_limit=parse_limit(web.api_limit),
    )  # fmt: skip
    here: Site = flask.extensions["crswatch"]
    if clock is not None:
        here.clock = clock
    here.metrics = registry_for(StoreCollector(config, store, app.database, here.clock))
    csrf.init_app(flask)
    Babel(flask, locale_selector=language)  # the catalogue in web/translations (scripts/i18n)
    if web.proxies:
        flask.wsgi_app = ProxyFix(flask.wsgi_app, x_for=web.proxies)  # type: ignore[method-assign]
    flask.register_blueprint(pages)
    flask.register_blueprint(api)
    flask.register_blueprint(health)
    if telegram_hook is not None:
        register_webhook(flask, csrf, telegram_hook)
    return flask


@pages.after_app_request
def headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    if getattr(g, "private", False):
        response.headers["Cache-Control"] = "no-store"
    if request.blueprint == pages.name:  # the pages' language; the open data has none
        chosen = request.args.get("lang")
        if chosen in LANGUAGES and chosen != request.cookies.get(
            LANGUAGE_COOKIE
        ):  # the switch: kept for the next pages
            response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="Lax", httponly=True,
                                secure=site().config.alerts.public_url.startswith("https://"))  # fmt: skip
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    location = response.headers.get("Location")
    if location:  # werkzeug's own redirects (merged slashes…) name the request's Host: never echo it
        parts = urlsplit(location)
        if parts.netloc and parts.netloc != urlsplit(site().own_url).netloc:
            response.headers["Location"] = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return response


@pages.app_errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> Page:
    return page(
        "message.html", 400, title=_("This form has expired"), text=_("Please go back, reload the page and try again.")
    )


@pages.app_errorhandler(404)
def not_found(error: Exception) -> Page:
    return page("message.html", 404, title=_("Page not found"), text=_("This page does not exist."))


@pages.app_errorhandler(CrswatchError)
@pages.app_errorhandler(StoreError)
def unavailable(error: Exception) -> Page:
    log.error("%s", error)
    return page(
        "message.html", 503, title=_("Please try again in a minute"), text=_("crswatch is busy or under maintenance.")
    )


@pages.app_errorhandler(413)
def too_large(error: Exception) -> Page:
    return page("message.html", 413, title=_("Too much data"), text=_("The form sent was too large."))


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


csrf.exempt(unsubscribe)  # checked above instead (flask-wtf's exempt, called: its decorator form is untyped)


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


# --------------------------------------------------------------------------- the draws
#: What the charts show, and so what their captions count.
CHARTS_SINCE = "2024-01-01"


def records() -> list[dict[str, Any]]:
    from draws.table import query_draws

    with site().database.reader() as view:
        return query_draws(view, (), None, None)


@pages.get("/draws")
def draws() -> Response | Page:
    """The public draws page: made once per data version and language, like the open data, and
    read under the same per-client limit (`web.api_limit`)."""
    from .api import CACHED, over_limit, version

    if over_limit():
        return page("message.html", 429, title=_("Too many attempts"), text=_("Please try again later."))
    tag, modified = version()
    lang = current_language()
    feed = feed_times()  # "last checked" moves without the data: part of the page's version
    today = ottawa_today(site().clock())  # so does the day: the year to date runs to it
    key = ("draws-page", lang, tag, feed["checked"], feed["changed"], today)
    answers = site().answers
    if key not in answers:
        if len(answers) >= CACHED:
            answers.clear()
        etag = hashlib.blake2b(
            f"{tag}|{lang}|{feed['checked']}|{feed['changed']}|{today}".encode(), digest_size=10
        ).hexdigest()
        answers[key] = (draws_page(feed, today).encode(), "text/html", etag)
    body, mimetype, etag = answers[key]
    response = Response(body, mimetype=mimetype)
    response.set_etag(etag)
    if modified:
        response.last_modified = modified
    response.make_conditional(request)
    return response


def draws_page(feed: dict[str, str | None], today: date) -> str:
    from history.stats import oldest_first, stats
    from history.ytd import year_to_date

    rows = records()
    newest = sorted(rows, key=lambda r: (r["date"], r["number"]), reverse=True)[:20]
    since = CHARTS_SINCE
    newest_date = newest[0]["date"] if newest else since
    stale = (date.fromisoformat(newest_date) - timedelta(days=365)).isoformat()
    recent = [s | ({"trend": None} if s["last_date"] < stale else {})  # no draw for a year: no current trend
              for s in stats(oldest_first([r for r in rows if r["date"] >= since])) if s["stream"] != "other"]  # fmt: skip
    return page("draws.html", draws=newest, streams=recent, program=draw_program, number=draw_number, trend=trend_text, feed=feed,
                ytd=year_to_date(rows, today), group_name=group_name)[0]  # fmt: skip


def group_name(group: str) -> str:
    """A levels plan's program group in the page's language (IRCC's French names)."""
    return str(
        {"federal_high_skilled": _("Federal High Skilled"), "pnp": _("Provincial Nominee Program")}.get(group, group)
    )


def feed_times() -> dict[str, str | None]:
    """When the feed was last checked and last changed (its body), to the minute, UTC; shared by every host."""
    from store import kv

    with site().store.read() as conn:
        status = kv.get(conn, "status")
    return {"checked": _minute(status.get("last_check_at")), "changed": _minute(status.get("last_changed_at"))}


def _minute(moment: str | None) -> str | None:
    return f"{datetime.fromisoformat(moment):%Y-%m-%d %H:%M}" if moment else None


def draw_program(row: dict[str, Any]) -> str:
    """A draw's program in the page's language (IRCC's own name for one crswatch does not know)."""
    if current_language() == "fr" and row["stream"] != "other":
        return label(row["stream"], "fr") or row["program"]
    return str(row["program"])


def draw_number(value: int) -> str:
    from flask_babel import format_decimal

    return str(format_decimal(value))


def trend_text(row: dict[str, Any]) -> str:
    from flask_babel import ngettext

    from history.stats import TREND_DRAWS

    slope, draws = row.get("trend_per_draw"), min(TREND_DRAWS, row["draws"])
    if slope is None:
        return str(_("not enough draws"))
    if abs(slope) < 1:
        return str(ngettext("flat over the last %(num)s draw", "flat over the last %(num)s draws", draws))
    if slope > 0:
        return str(
            _("rising %(points)s points per draw over the last %(draws)s", points=f"{abs(slope):g}", draws=draws)
        )
    return str(_("falling %(points)s points per draw over the last %(draws)s", points=f"{abs(slope):g}", draws=draws))


@pages.get("/draws/<stream>.png")
def chart(stream: str) -> Response:
    from history.chart import chart_bytes
    from history.stats import oldest_first

    from .api import over_limit

    if over_limit():
        return Response(*page("message.html", 429, title=_("Too many attempts"), text=_("Please try again later.")))
    labels = site().labels
    if stream not in labels:
        abort(404)
    rows = [r for r in oldest_first(records()) if r["stream"] == stream and r["date"] >= CHARTS_SINCE]
    if not rows:
        abort(404)
    key = (stream, f"{len(rows)}:{rows[-1]['number']}:{rows[-1]['crs']}:{rows[-1]['invitations']}")
    charts = site().charts
    if key not in charts:
        charts[key] = chart_bytes(rows, "png", size=(770, 352), title=f"{labels[stream]}: cut-offs since 2024")
    response = Response(charts[key], mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=600"
    return response


from . import calculator  # noqa: E402,F401 - registers /crs and /crs/alert on the pages blueprint
