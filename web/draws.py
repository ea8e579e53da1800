"""The draws page (`/draws`, also as JSON through content negotiation) and its charts: the public
history, read from the draws file, in the page's language; the year to date beside the levels plan."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any

from flask import Response, abort, request
from flask_babel import gettext as _

from crswatch.draws.record import ottawa_today
from crswatch.draws.streams import label

from .common import Page, current_language, page, pages
from .site import site

#: What the charts show, and so what their captions count.
CHARTS_SINCE = "2024-01-01"


def records() -> list[dict[str, Any]]:
    from crswatch.draws.table import query_draws

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
    from crswatch.history.stats import oldest_first, stats
    from crswatch.history.ytd import year_to_date

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
    from crswatch.store import kv

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

    from crswatch.history.stats import TREND_DRAWS

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
    from crswatch.history.chart import chart_bytes
    from crswatch.history.stats import oldest_first

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
