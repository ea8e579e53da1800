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

import logging
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, g, request
from flask_babel import Babel
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from limits import parse as parse_limit
from werkzeug.middleware.proxy_fix import ProxyFix

from crswatch.app import App
from crswatch.config import web_problems
from crswatch.errors import CrswatchError
from crswatch.metrics import StoreCollector, registry_for
from crswatch.store.errors import StoreError
from crswatch.store.kv import secret
from crswatch.subscribers.model import LANGUAGES
from crswatch.subscribers.validate import Invalid

from .api import api
from .background import ConfirmationSender
from .common import (
    LANGUAGE_COOKIE,
    Page,
    csrf,
    language,
    page,
    pages,
)
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
    here.letters = app.services.letters  # an operator's templates for confirmations too
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


from . import calculator, draws, signup, subscriber  # noqa: E402,F401 - register their views on the pages blueprint
