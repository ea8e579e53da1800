"""Pure parsing of IRCC's rounds feed: bytes → raw rounds → `Draw` records.

Everything here is a plain function without I/O, tested against golden values from the real
snapshots.  Required fields (number, date, program, invitations, CRS) raise `RoundError` when they
cannot be read; the tolerant fields (draw time, tie-break, pool, link) become None with a warning.
The feed's dates and timestamps, in their many spellings, are read by `dates.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import orjson

from crswatch.draws.record import POOL_BANDS, Draw
from crswatch.draws.streams import BUILTIN, OTHER, StreamMap
from crswatch.draws.text import QUOTE_LIMIT, normal_number, shown

from .dates import parse_long_date, parse_stamp

T = TypeVar("T")
PUBLIC_SITE = "https://www.canada.ca"
_CANADASITE = "/content/canadasite"


class FeedError(ValueError):
    """The body is not a usable rounds feed (the whole run is rejected)."""


class RoundError(ValueError):
    """One round cannot be read (it is held; the rest of the feed is stored)."""


class Implausible(RoundError):
    """A round that reads but cannot be true (a cut-off of 0, a date next month): held until fixed."""


#: Plausible values of a round; anything outside is held, never stored or alerted.
CRS_RANGE = (1, 1200)
INVITATIONS_RANGE = (1, 100_000)
FUTURE_SLACK = timedelta(days=1)  # IRCC's date is Ottawa's; a day covers every time zone
#: The longest field a round may have, in characters (the real feed's longest is about 1 KB), and
#: the most fields: a round beyond either is held, never stored (a 15 MB field would be stored
#: twice per revision and quoted in every warning).
MAX_FIELD = 4096
MAX_FIELDS = 200


# ---------------------------------------------------------------------------------------- feed


def parse_feed(body: bytes) -> list[Any]:
    """The list of raw rounds in a feed body, newest first, or FeedError saying what is wrong."""
    text = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise FeedError("the feed is empty")
    if text[:1] == b"<":
        raise FeedError("the feed is an HTML or XML page, not the rounds JSON")
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise FeedError(f"the feed is not valid JSON ({exc})") from None
    if not isinstance(document, dict) or "rounds" not in document:
        raise FeedError('the feed has no "rounds" list')
    rounds = document["rounds"]
    if not isinstance(rounds, list):
        raise FeedError('the feed\'s "rounds" is not a list')
    if not rounds:
        raise FeedError("the feed lists no rounds")
    return rounds


# --------------------------------------------------------------------------------------- round


def parse_round(raw: Any, streams: StreamMap = BUILTIN) -> Draw:
    """One raw round → a `Draw`; RoundError when a required field cannot be read.

    Required: number, date, program name, invitations, cut-off.  Every other field is optional:
    one that cannot be read is stored empty with a warning, never a reason to lose the round.
    """
    if not isinstance(raw, dict):
        raise RoundError("the round is not a JSON object")
    check_size(raw)
    warnings: list[str] = []
    number = normal_number(_text(raw.get("drawNumber")))
    if not number:
        raise RoundError("drawNumber is missing")
    day = parse_draw_date(raw)
    program = " ".join(_text(raw.get("drawName")).split())
    if not program:
        raise RoundError("drawName is missing")
    stream = streams.code_of(program)
    if stream is None:
        stream = OTHER
        warnings.append(f"unknown draw name {shown(program)}: stored as stream 'other'")
    invitations = parse_int(raw.get("drawSize"), "drawSize")
    crs = parse_int(raw.get("drawCRS"), "drawCRS")
    drawn_at = _optional("drawDateTime", lambda: _stamp_of(raw, "drawDateTime", day, warnings), warnings)
    tie_break = _optional("drawCutOff", lambda: _stamp_of(raw, "drawCutOff", day, warnings), warnings)
    pool, pool_as_of = _optional("pool distribution", lambda: _pool(raw, warnings), warnings) or (None, None)
    programs = _optional("drawText2", lambda: split_programs(_text(raw.get("drawText2"))), warnings) or ()
    url = _optional("link", lambda: round_url(raw, warnings), warnings)
    return Draw(
        number=number,
        date=day,
        program=program,
        stream=stream,
        invitations=invitations,
        crs=crs,
        drawn_at=drawn_at,
        tie_break=tie_break,
        eligible_programs=programs,
        url=url,
        pool=pool,
        pool_as_of=pool_as_of,
        raw=raw,
        warnings=tuple(warnings),
    )


def check_size(raw: dict[str, Any]) -> None:
    """RoundError when a round has more fields than `MAX_FIELDS` or one longer than `MAX_FIELD`."""
    if len(raw) > MAX_FIELDS:
        raise RoundError(f"the round has {len(raw):,} fields (more than {MAX_FIELDS})")
    for key, value in raw.items():
        size = max(len(key), len(value) if isinstance(value, str) else len(orjson.dumps(value)))
        if size > MAX_FIELD:
            raise RoundError(f"field {shown(key, 40)} is {size:,} characters long (more than {MAX_FIELD:,})")


def vet_round(draw: Draw, now: datetime) -> None:
    """Implausible when a round reads but cannot be true; it is then held until IRCC fixes it."""
    if not CRS_RANGE[0] <= draw.crs <= CRS_RANGE[1]:
        raise Implausible(f"cut-off {draw.crs} is outside {CRS_RANGE[0]}-{CRS_RANGE[1]}")
    if not INVITATIONS_RANGE[0] <= draw.invitations <= INVITATIONS_RANGE[1]:
        raise Implausible(
            f"{draw.invitations:,} invitations is outside {INVITATIONS_RANGE[0]}-{INVITATIONS_RANGE[1]:,}"
        )
    if datetime.combine(draw.date, datetime.min.time(), UTC) > now + FUTURE_SLACK:
        raise Implausible(f"the draw is dated {draw.date}, more than a day in the future")


def parse_int(value: Any, name: str) -> int:
    """ "6,000" → 6000; RoundError for anything that is not a whole non-negative number."""
    text = _text(value).replace(",", "").replace("\u00a0", "").replace(" ", "")
    if not text.isdigit():
        raise RoundError(f"{name} {shown(value, 40)} is not a number")
    return int(text)


def parse_draw_date(raw: dict[str, Any]) -> date:
    """The draw's date from drawDate (ISO), else from drawDateFull ("January 21, 2026").

    drawDate was once published as "12-04-2023", which could be read either way; such a date is
    never guessed at: the long form in drawDateFull ("April 12, 2023") decides.
    """
    iso = _text(raw.get("drawDate"))
    full = parse_long_date(_text(raw.get("drawDateFull")))
    try:
        return date.fromisoformat(iso)
    except ValueError:
        pass
    if full is not None:
        return full
    raise RoundError(f"drawDate {shown(iso, 40)} is not a date")


def split_programs(text: str) -> tuple[str, ...]:
    """ "Federal Skilled Worker, Canadian Experience Class and Provincial Nominee Program" → names."""
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+", " ".join(text.split()))
    return tuple(part for part in (p.strip() for p in parts) if part)


def round_url(raw: dict[str, Any], warnings: list[str] | None = None) -> str | None:
    """The public www.canada.ca link of the round, from the first field with a usable <a href>.

    Only https links on canada.ca hosts go into messages; any other href (javascript:, another
    site, a broken address) is dropped with a warning."""
    from bs4 import BeautifulSoup  # noqa: PLC0415 — only rounds with HTML need it

    for key in ("drawNumberURL", "mitext", "DrawText1"):
        html = _text(raw.get(key))
        if "href" not in html:
            continue
        for anchor in BeautifulSoup(html, "html.parser").find_all("a", href=True):
            url = public_url(str(anchor["href"]))
            if url is not None:
                return url
            if warnings is not None:
                warnings.append(
                    f"{key} link {shown(str(anchor['href']), 80)} is not an https link on canada.ca; dropped"
                )
    return None


def public_url(href: str) -> str | None:
    """An href from the feed → its absolute public address (`/content/canadasite` dropped), or
    None unless that is an https address on canada.ca."""
    href = "".join(href.split())  # browsers drop whitespace inside URLs; so do we, before checking
    if href.startswith(_CANADASITE + "/"):
        href = href[len(_CANADASITE) :]
    try:
        url = urljoin(PUBLIC_SITE + "/", href)
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:  # "http://[::1" and the like
        return None
    if parts.scheme != "https" or parts.username or parts.password or parts.port not in (None, 443):
        return None
    return url if host == "canada.ca" or host.endswith(".canada.ca") else None


# ------------------------------------------------------------------------------------- helpers


def _text(value: Any) -> str:
    """A field as text: every value in the feed is a string; a bare number is read as one."""
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise RoundError(f"{type(value).__name__} {shown(str(value), 40)} where text was expected")


def _optional(name: str, read: Callable[[], T], warnings: list[str]) -> T | None:
    """An optional field: whatever goes wrong reading it, the round is kept and the field empty."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 — an optional field never costs the round
        warnings.append(f"{name} could not be read ({type(exc).__name__}: {str(exc)[:QUOTE_LIMIT]}); stored as none")
        return None


def _stamp_of(raw: dict[str, Any], key: str, day: date, warnings: list[str]) -> datetime | None:
    text = _text(raw.get(key))
    if not text:
        return None
    stamp = parse_stamp(text, day)
    if stamp is None:
        warnings.append(f"{key} {shown(text)} could not be read; stored as none")
    return stamp


def _pool(raw: dict[str, Any], warnings: list[str]) -> tuple[dict[str, int] | None, date | None]:
    """The dd1..dd18 bands as {band: count}; None when unpublished (all zero) or unreadable."""
    try:
        counts = [parse_int(raw.get(f"dd{i}"), f"dd{i}") for i in range(1, len(POOL_BANDS) + 1)]
    except RoundError as exc:
        warnings.append(f"pool distribution not stored: {exc}")
        return None, None
    if not any(counts):
        return None, None
    as_of_text = _text(raw.get("drawDistributionAsOn"))
    as_of = parse_long_date(as_of_text)
    if as_of is None and as_of_text:
        warnings.append(f"drawDistributionAsOn {shown(as_of_text)} could not be read")
    return dict(zip(POOL_BANDS, counts, strict=True)), as_of
