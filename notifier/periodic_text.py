"""The texts of pool alerts and digests, in the subscriber's language (the alerts' own gettext
catalogue), as plain text and HTML.  Everything a message says was fixed when it was planned (the
delivery's payload: this subscriber's figures and verdicts) or when its distribution or period was
announced (the record: dates, draws, forecasts), so a retry says the same thing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from crswatch.draws.record import OTTAWA
from crswatch.draws.streams import label as stream_label
from crswatch.subscribers.links import Links
from crswatch.subscribers.model import DAILY, Subscriber

from .foot import Stop, way_out
from .i18n import Texts
from .letters import DEFAULT, Letters


def _band(band: str) -> str:
    return band.replace("-", "–")


def _signed(t: Texts, value: int) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "±") + t.number(abs(value))


def pool_lines(t: Texts, figures: Mapping[str, Any], as_of: str, previous_as_of: str | None) -> list[str]:
    """The pool's figures for one score: shared by the pool alert and the digest."""
    _ = t.gettext
    band = _band(figures["band"])
    lines = [_("{count} candidates are at or above {band} (the band of your score {score}), as of {day}.").format(
        count=t.number(figures["count"]), band=band, score=figures["score"], day=t.day(date.fromisoformat(as_of)))]  # fmt: skip
    if figures.get("change") is not None and previous_as_of:
        lines.append(
            _("That is {change} since {day}.").format(
                change=_signed(t, figures["change"]), day=t.day(date.fromisoformat(previous_as_of))
            )
        )
    lines.append(_("Your approximate rank: about {rank}.").format(rank=t.number(figures["rank"])))
    lines.append(_("The bands and counts are IRCC's, published with the draws; the rank is only an estimate by crswatch, "
                   "which assumes the candidates of your band are spread evenly over its scores."))  # fmt: skip
    return lines


def render_pool(sub: Subscriber, figures: Mapping[str, Any], record: Mapping[str, Any], links: Links | None = None,
                contact: str = "", letters: Letters = DEFAULT) -> tuple[str, dict[str, str]]:  # fmt: skip
    """A pool alert: (title, {"text", "html"})."""
    t = Texts(sub.language)
    _ = t.gettext
    day = t.day(date.fromisoformat(record["as_of"]))
    title = _("Pool update ({day}): {count} at or above {band}").format(
        day=day, count=t.number(figures["count"]), band=_band(figures["band"])
    )
    intro = _("IRCC published a new distribution of the Express Entry pool's CRS scores, as of {day}.").format(day=day)
    lines = pool_lines(t, figures, record["as_of"], record.get("previous_as_of"))
    paragraphs = [intro, "\n".join(lines[:-1]), lines[-1]]
    return title, _bodies(t, title, paragraphs, way_out(sub, links, contact, t), letters)


def _verdict(t: Texts, code: str, short: int) -> str:
    _, ngettext = t.gettext, t.ngettext
    points = ngettext("{count} point", "{count} points", short).format(count=t.number(short))
    return {
        "invited": _("invited (the alert went out at once)"),
        "at_cutoff": _("at the cut-off (the alert went out at once)"),
        "just_missed": _("just missed (tie-break)"),
        "close": _("close: {points} short").format(points=points),
        "below": _("{points} short").format(points=points),
    }[code]


def _program(record: Mapping[str, Any], language: str) -> str:
    """As IRCC named it; in French from the streams' table (as in the draw alerts)."""
    if language == "fr" and record["stream"] != "other":
        return stream_label(record["stream"], "fr") or record["program"]
    return str(record["program"])


def _when(t: Texts, value: str) -> str:
    moment = datetime.fromisoformat(value).astimezone(OTTAWA)
    return t.day(moment.date()) + f" {moment:%H:%M}"


def digest_paragraphs(t: Texts, sub: Subscriber, payload: Mapping[str, Any], record: Mapping[str, Any]) -> list[str]:
    _, ngettext = t.gettext, t.ngettext
    draws = {d["number"]: d for d in record.get("draws", [])}
    paragraphs = [
        _("Express Entry draws from {start} to {end} (Ottawa time):").format(
            start=_when(t, record["start"]), end=_when(t, record["end"])
        )
    ]
    lines = []
    for number, code, short, _score in payload["draws"]:
        d = draws[number]
        lines.append(_("#{number} {day}, {program}: cut-off {crs}, {invitations} invitations: {verdict}").format(
            number=number, day=t.day(date.fromisoformat(d["date"])), program=_program(d, t.language), crs=d["crs"],
            invitations=t.number(d["invitations"]), verdict=_verdict(t, code, short)))  # fmt: skip
    if not lines:
        lines.append(_("No draw in your programs."))
    if payload.get("others"):
        lines.append(ngettext("(and {count} draw in programs you did not choose)", "(and {count} draws in programs you did not choose)",
                              payload["others"]).format(count=t.number(payload["others"])))  # fmt: skip
    paragraphs.append("\n".join(lines))
    pool = record.get("pool")
    if payload.get("pool") and pool:
        lines = pool_lines(t, payload["pool"], pool["as_of"], pool.get("previous_as_of"))
        paragraphs.append(_("The pool") + "\n" + "\n".join(lines[:-1]) + "\n" + lines[-1])
    forecasts = [f for f in record.get("forecasts", []) if f["stream"] in (*sub.streams, "general")]
    if forecasts:
        rows = [_forecast(t, f) for f in forecasts]
        paragraphs.append(
            _("Next draws (forecast from each program's own history; an estimate, not a promise)")
            + "\n"
            + "\n".join(rows)
        )
    return paragraphs


def _forecast(t: Texts, row: Mapping[str, Any]) -> str:
    _ = t.gettext
    name = stream_label(row["stream"], t.language) or row["stream"]
    when = (_("overdue since {day}") if row.get("overdue") else _("around {day}")).format(
        day=t.day(date.fromisoformat(row["next_date"]))
    )
    return _("{program}: cut-off about {crs} ({low}–{high}), {when}").format(
        program=name, crs=row["next_crs"], low=row["low"], high=row["high"], when=when
    )


def render_digest(sub: Subscriber, payload: Mapping[str, Any], record: Mapping[str, Any], links: Links | None = None,
                  contact: str = "", letters: Letters = DEFAULT) -> tuple[str, dict[str, str]]:  # fmt: skip
    """A daily or weekly digest: (title, {"text", "html"})."""
    t = Texts(sub.language)
    _, ngettext = t.gettext, t.ngettext
    count = len(payload["draws"])
    draws = ngettext("{count} draw for you", "{count} draws for you", count).format(count=t.number(count))
    end = t.day(datetime.fromisoformat(record["end"]).astimezone(OTTAWA).date())
    title = (
        _("Your daily digest, {day}: {draws}")
        if record["cadence"] == DAILY
        else _("Your weekly digest, {day}: {draws}")
    ).format(day=end, draws=draws)
    return title, _bodies(
        t, title, digest_paragraphs(t, sub, payload, record), way_out(sub, links, contact, t), letters
    )


def _bodies(t: Texts, title: str, paragraphs: list[str], stop: Stop, letters: Letters) -> dict[str, str]:
    return letters.bodies("message", t, title=title, paragraphs=paragraphs, stop=stop)
