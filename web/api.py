"""Open data: the draws as JSON (`/api/...`, described at `/api/openapi.json`) and as Atom feeds
(`/draws.atom`, `/draws/<stream>.atom`).  Read-only and public: nothing here touches the
subscribers, and every answer is the one the command line gives (`history.answers`).

Cacheable: each answer is made once per data version (the draws file's size and time) and kept;
its ETag and Last-Modified come from that version, so a conditional GET costs a `stat` and
answers 304.  CORS is open for GET.  A per-client moving window (in this process: a read must not
cost a store write) keeps one client from taking the server.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from crswatch.draws.record import from_iso, ottawa_midnight, ottawa_today
from crswatch.draws.table import query_draws
from crswatch.history.answers import NoAnswer, draw_detail, draw_list, forecast_rows, stream_list

from .site import site

api = Blueprint("api", __name__)
OPENAPI = Path(__file__).with_name("openapi.json")
CACHED = 512  # answers kept per data version (distinct queries)
_limiter = MovingWindowRateLimiter(MemoryStorage())


class BadRequest(ValueError):
    """A query parameter that cannot be used; the message names it."""


def version() -> tuple[str, datetime | None]:
    """(tag, last modified) of the data every answer comes from: the draws file and the stream labels."""
    here = site()
    try:
        info = here.database.path.stat()
        stamp, modified = f"{info.st_mtime_ns}:{info.st_size}", datetime.fromtimestamp(int(info.st_mtime), UTC)
    except FileNotFoundError:
        stamp, modified = "empty", None
    return f"{stamp}:{here.labels_tag}", modified


def cached(kind: str, make: Callable[[], tuple[bytes, str]], day: date | None = None) -> Response:
    """The answer for this request (made once per data version, with its ETag), or 304 to a
    conditional GET; 404 when nothing stored answers it (`NoAnswer`).  An answer that depends on
    the day too (the forecast) names `day` (Ottawa's): a new day is a new version, and its
    Last-Modified is no earlier than that day's midnight."""
    tag, modified = version()
    if day is not None:
        tag += f":{day.isoformat()}"
        modified = max(modified, ottawa_midnight(day)) if modified else ottawa_midnight(day)
    key = (kind, request.full_path, tag)
    answers: dict[Any, tuple[bytes, str, str]] = site().answers
    if key not in answers:
        if len(answers) >= CACHED:
            answers.clear()
        try:
            body, mimetype = make()
        except NoAnswer as exc:
            return _error(404, str(exc))
        answers[key] = (
            body,
            mimetype,
            hashlib.blake2b(f"{tag}|{request.full_path}".encode(), digest_size=10).hexdigest(),
        )
    body, mimetype, etag = answers[key]
    response = Response(body, mimetype=mimetype)
    response.set_etag(etag)
    if modified:
        response.last_modified = modified
    response.headers["Cache-Control"] = "public, max-age=60"
    response.make_conditional(request)  # turns itself into a 304 when the client has this version
    return response


def over_limit() -> bool:
    """One more public read by this client; True when it is over `web.api_limit` (the API, the
    feeds and the draws pages share it)."""
    return not _limiter.hit(site().api_limit, "api", request.remote_addr or "?")


#: The query parameters each endpoint reads; any other is refused (a misspelt `sinse=` would
#: otherwise answer the whole history as if it had been understood).
PARAMETERS = {"api.draws": {"stream", "since", "until", "limit"}, "api.forecast": {"stream", "score", "draws"}}


@api.before_request
def limit() -> Response | None:
    if over_limit():
        return _error(429, "too many requests; please slow down")
    if request.path.startswith("/api/"):
        unknown = sorted(set(request.args) - PARAMETERS.get(request.endpoint or "", set()))
        if unknown:
            known = ", ".join(sorted(PARAMETERS.get(request.endpoint or "", ()))) or "none"
            return _error(
                400,
                f"unknown query parameter{'s' if len(unknown) > 1 else ''} {', '.join(repr(u[:40]) for u in unknown[:10])}; this endpoint takes: {known}",
            )
    return None


@api.after_request
def open_to_all(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified"
    response.headers["Access-Control-Allow-Headers"] = "If-None-Match, If-Modified-Since"
    response.vary.add("Origin")
    return response


@api.errorhandler(BadRequest)
def bad_request(error: BadRequest) -> Response:
    return _error(400, str(error))


def _error(status: int, message: str) -> Response:
    response = Response(json.dumps({"error": message}), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(data: Any) -> tuple[bytes, str]:
    return json.dumps(data, ensure_ascii=False).encode(), "application/json"


def _day(name: str) -> date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}={value!r} is not a date (use YYYY-MM-DD)") from None


def _number(name: str, low: int, high: int, default: int | None = None) -> int | None:
    value = request.args.get(name)
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadRequest(f"{name}={value!r} is not a whole number from {low} to {high}")
    return int(value)


def _streams() -> list[str]:
    wanted = request.args.getlist("stream")
    unknown = [s for s in wanted if s not in site().labels]
    if unknown:
        raise BadRequest(f"unknown stream {unknown[0]!r}; the codes are listed at /api/streams")
    return wanted


@api.get("/api/draws")
def draws() -> Response:
    streams, since, until = _streams(), _day("since"), _day("until")
    if since and until and since > until:
        raise BadRequest(f"since={since} is after until={until}")
    limit = _number("limit", 1, 10_000)

    def make() -> tuple[bytes, str]:
        with site().database.reader() as view:
            return _json(draw_list(view, streams, since, until, limit))

    return cached("draws", make)


@api.get("/api/draws/<number>")
def draw(number: str) -> Response:
    def make() -> tuple[bytes, str]:
        with site().database.reader() as view:
            found = draw_detail(view, number[:20])
        if found is None:
            raise NoAnswer(f"no draw numbered {number[:20]!r} is stored")
        return _json(found)

    return cached("draw", make)


@api.get("/api/streams")
def streams() -> Response:
    def make() -> tuple[bytes, str]:
        with site().database.reader() as view:
            return _json(stream_list(view, site().labels))

    return cached("streams", make)


@api.get("/api/forecast")
def forecast() -> Response:
    from crswatch.history.stats import oldest_first

    streams, score, draws = _streams(), _number("score", 0, 1200), _number("draws", 1, 50, 1)
    assert draws is not None
    today = ottawa_today(site().clock())  # "overdue" changes with the day: so do the answer and its ETag

    def make() -> tuple[bytes, str]:
        with site().database.reader() as view:
            records = oldest_first(query_draws(view))
        return _json(forecast_rows(records, streams, score, draws, today))

    return cached("forecast", make, day=today)


@api.get("/api/feed")
def feed_status() -> Response:
    """When the feed was last checked and changed: it moves with every check, so it is never cached."""
    from crswatch.store import kv

    with site().store.read() as conn:
        status = kv.get(conn, "status")
    response = Response(json.dumps({"last_checked": status.get("last_check_at"), "last_changed": status.get("last_changed_at")}),
                        mimetype="application/json")  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


@api.get("/api/openapi.json")
def openapi() -> Response:
    return cached("openapi", lambda: (OPENAPI.read_bytes(), "application/json"))


# --------------------------------------------------------------------------- Atom


@api.get("/draws.atom")
def feed() -> Response:
    return cached("atom", lambda: (_atom(None), "application/atom+xml"))


@api.get("/draws/<stream>.atom")
def stream_feed(stream: str) -> Response:
    if stream not in site().labels:
        return _error(404, f"unknown stream {stream[:40]!r}; the codes are listed at /api/streams")
    return cached("atom", lambda: (_atom(stream), "application/atom+xml"))


FEED_DRAWS = 50  # entries in a feed: the newest draws


def entry_id(number: str) -> str:
    """A draw's Atom id: the same on every crswatch, for ever (a UUID from the draw number)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://www.canada.ca/express-entry/rounds/{number}").urn


def _atom(stream: str | None) -> bytes:
    from feedgen.feed import FeedGenerator

    here = site()
    with here.database.reader() as view:
        rows = query_draws(view, [stream] if stream else [], None, None, FEED_DRAWS)
    name = here.labels[stream] if stream else "all streams"
    path = f"/draws/{stream}.atom" if stream else "/draws.atom"
    fg = FeedGenerator()
    fg.id(uuid.uuid5(uuid.NAMESPACE_URL, f"{here.own_url}{path}").urn)
    fg.title(f"Express Entry draws: {name}")
    fg.subtitle("IRCC's rounds of invitations, as published, from crswatch")
    fg.link(href=f"{here.own_url}{path}", rel="self", type="application/atom+xml")
    fg.link(href=f"{here.own_url}/draws", rel="alternate", type="text/html")
    fg.author({"name": "crswatch"})
    fg.language("en")
    newest = datetime(2015, 1, 31, tzinfo=UTC)
    for row in reversed(rows):  # feedgen puts the last added first: newest on top
        updated = _moment(row.get("updated_at") or row.get("first_seen")) or _moment(row["date"])
        published = _moment(row.get("drawn_at")) or _moment(row["date"])
        assert updated is not None and published is not None
        newest = max(newest, updated)
        entry = fg.add_entry()
        entry.id(entry_id(row["number"]))
        entry.title(f"#{row['number']} {row['program']}: CRS {row['crs']}, {row['invitations']:,} invitations")
        entry.summary(_facts(row))
        entry.published(published)
        entry.updated(updated)
        entry.category(term=row["stream"], label=here.labels.get(row["stream"], row["stream"]))
        if row.get("url"):
            entry.link(href=row["url"], rel="alternate", type="text/html")
    fg.updated(newest)
    return bytes(fg.atom_str(pretty=False))


def _facts(row: dict[str, Any]) -> str:
    tie = f"; tie-break: profiles submitted before {row['tie_break']}" if row.get("tie_break") else ""
    return (f"Draw #{row['number']} on {row['date']}: {row['program']}, {row['invitations']:,} invitations, "
            f"CRS cut-off {row['crs']}{tie}.")  # fmt: skip


def _moment(text: str | None) -> datetime | None:
    """A record's moment; a bare date is its midnight UTC."""
    if text and len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    return from_iso(text)
