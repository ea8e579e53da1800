"""Alert texts: every message is rendered twice, as plain text (SMS, Slack, webhooks) and as HTML
(e-mail); the sender picks one per channel, so apprise never converts a body on its own."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scraper.invited import Verdict
from scraper.items import Draw
from scraper.streams import short_name
from subscribers.links import Links
from subscribers.model import Subscriber

NEW, CORRECTION, LATE = "new", "correction", "late"

#: The verdict first in every subject, short enough for a phone.
HEADLINES = {
    Verdict.INVITED: "Invited",
    Verdict.AT_CUTOFF: "At the cut-off",
    Verdict.JUST_MISSED: "Just missed (tie-break)",
    Verdict.CLOSE: "Close",
}

NEXT_STEPS = (
    "What to do next: sign in to your IRCC account and look for the invitation to apply (ITA). "
    "It is valid for 60 days, so start your police certificates and the immigration medical exam now."
)


@dataclass(frozen=True)
class Alert:
    """What one subscriber is told about one draw."""

    draw: Draw
    subscriber: Subscriber
    verdict: Verdict | None  # None only in a correction that takes an earlier verdict back
    kind: str = NEW
    previous: dict[str, Any] | None = None  # the draw as first announced, for corrections


def render(alert: Alert, links: Links | None = None, contact: str = "") -> tuple[str, dict[str, str]]:
    """(title, {"text": …, "html": …}) for one alert; with `links`, its manage and unsubscribe pages."""
    draw, sub = alert.draw, alert.subscriber
    headline = HEADLINES[alert.verdict] if alert.verdict else "No longer in your range"
    if alert.verdict is Verdict.CLOSE:
        headline = f"Close ({plural(draw.crs - sub.score, 'point')} short)"
    prefix = {CORRECTION: "Correction: ", LATE: "Late: "}.get(alert.kind, "")
    title = f"{prefix}{headline}: #{draw.number} {short_name(draw.stream, draw.program)}, cut-off {draw.crs}"
    lines: list[tuple[str, str]] = []
    if alert.kind == CORRECTION and alert.previous:
        lines.append(("Correction", f"IRCC changed this draw after it was announced ({_changes(alert.previous, draw)})."))
    if alert.kind == LATE:
        lines.append(("Late alert", f"published on {_day(draw)}, recognised now: crswatch did not know this program's name until today."))
    lines += [
        ("Draw", f"#{draw.number}, {_day(draw)}"),
        ("Program", draw.program),
        ("Invitations", f"{draw.invitations:,}"),
        ("CRS cut-off", str(draw.crs)),
        ("Tie-break", f"profiles submitted before {_stamp(draw.tie_break)}" if draw.tie_break else "not published"),
        ("Your score", f"{sub.score} ({_difference(sub.score - draw.crs)})"),
    ]
    verdict_text = explain(alert)
    steps = NEXT_STEPS if alert.verdict is Verdict.INVITED else ""
    link = draw.url or ""
    stop = _stop(sub, links, contact)
    text = "\n".join(f"{label}: {value}" for label, value in lines)
    text += f"\n\n{verdict_text}" + (f"\n\n{steps}" if steps else "")
    text += (f"\n\nOfficial details: {link}" if link else "") + f"\n\n{stop.text}"
    return title, {"text": text, "html": _html(title, lines, verdict_text, steps, link, stop)}


def explain(alert: Alert) -> str:
    """The verdict in plain words."""
    draw, sub = alert.draw, alert.subscriber
    tie = _stamp(draw.tie_break) if draw.tie_break else None
    match alert.verdict:
        case Verdict.INVITED if sub.score > draw.crs:
            return f"Your score {sub.score} is above the cut-off {draw.crs}: you should have received an invitation to apply."
        case Verdict.INVITED:
            return (
                f"Your score equals the cut-off {draw.crs} and your profile was submitted on {_stamp(sub.profile_created)}, "
                f"before the tie-break time {tie}: you should have received an invitation to apply."
            )
        case Verdict.AT_CUTOFF:
            rule = f"only profiles submitted before {tie} were invited" if tie else "IRCC did not publish the tie-break time"
            return (
                f"Your score equals the cut-off {draw.crs}: {rule}. "
                "Check your IRCC account; add your profile submission time to your subscription for an exact answer."
            )
        case Verdict.JUST_MISSED:
            return (
                f"Your score equals the cut-off {draw.crs}, but your profile was submitted on {_stamp(sub.profile_created)}, "
                f"not before the tie-break time {tie}: you just missed this draw."
            )
        case Verdict.CLOSE:
            gap = draw.crs - sub.score
            return f"Not this time: the cut-off was {plural(gap, 'point')} above your score (you asked to hear within {plural(sub.within, 'point')})."
        case _:
            return "After IRCC's correction this draw is no longer within your range; please disregard the earlier alert."


def test_message(subscriber: Subscriber, links: Links | None = None, contact: str = "") -> tuple[str, dict[str, str]]:
    title = "crswatch test alert"
    text = (
        f"This is a test from crswatch. Alerts for CRS score {subscriber.score} "
        f"(streams: {' '.join(subscriber.streams)}, within {subscriber.within} points) will arrive here.\n\n"
        + _stop(subscriber, links, contact).text
    )
    return title, {"text": text, "html": f"<p>{html.escape(text).replace(chr(10), '<br>')}</p>"}


def confirmation_message(link: str, hours: int, settings: str = "") -> tuple[str, dict[str, str]]:
    """The double opt-in message sent to an address typed into the subscription page."""
    title = "Confirm your Express Entry draw alerts"
    asked = f"The alerts asked for: {settings}\n\n" if settings else ""
    text = (
        "Someone, hopefully you, asked crswatch to send Express Entry draw alerts to this address.\n\n"
        f"{asked}To confirm, open this link within {hours} hours:\n{link}\n\n"
        "If it was not you, ignore this message: nothing will be sent here unless someone confirms on that page."
    )
    e = html.escape
    body = (
        "<html><body><p>Someone, hopefully you, asked crswatch to send Express Entry draw alerts to this address.</p>"
        + (f"<p>The alerts asked for: {e(settings)}</p>" if settings else "")
        + f"<p><a href=\"{e(link)}\">Confirm your alerts</a> (the link works for {hours} hours).</p>"
        "<p style='color:#555'>If it was not you, ignore this message: nothing will be sent here unless someone confirms on that page.</p>"
        "</body></html>"
    )
    return title, {"text": text, "html": body}


@dataclass(frozen=True)
class Stop:
    text: str  # the sentence(s) for plain text
    manage: str = ""  # links, when the subscription page is public
    unsubscribe: str = ""


def _stop(sub: Subscriber, links: Links | None, contact: str = "") -> Stop:
    """How to change or stop alerts: the subscriber's own pages; else a person to write to (the
    operator's `[alerts] contact`, also the e-mails' Reply-To); else the operator's command."""
    ask = f" Questions: {contact}" if contact else ""
    if links:
        manage, unsubscribe = links.for_subscriber(sub.id)
        return Stop(f"Change your alerts: {manage}\nTo stop these alerts: {unsubscribe}{ask}", manage, unsubscribe)
    if contact:
        return Stop(f"To stop these alerts or change them, reply to this message or write to {contact} (your subscription: {sub.id}).")
    return Stop(f"To stop these alerts, ask the operator to run: crswatch unsubscribe {sub.id}")


def _html(title: str, lines: list[tuple[str, str]], verdict: str, steps: str, link: str, stop: Stop) -> str:
    e = html.escape
    rows = "".join(f"<tr><th align='left' style='padding-right:1em'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in lines)
    parts = [f"<h2>{e(title)}</h2>", f"<table>{rows}</table>", f"<p><strong>{e(verdict)}</strong></p>"]
    if steps:
        parts.append(f"<p>{e(steps)}</p>")
    if link:
        parts.append(f"<p><a href=\"{e(link)}\">Official details of draw on canada.ca</a></p>")
    if stop.unsubscribe:
        stop_html = f'<a href="{e(stop.manage)}">Change your alerts</a> · <a href="{e(stop.unsubscribe)}">Unsubscribe</a>'
    else:
        stop_html = e(stop.text)
    parts.append(f"<p style='color:#555'>{stop_html}</p>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def _day(draw: Draw) -> str:
    return f"{draw.date:%B} {draw.date.day}, {draw.date.year}"


def _stamp(moment: datetime | None) -> str:
    return f"{moment:%B} {moment.day}, {moment.year} at {moment:%H:%M:%S} UTC" if moment else "an unknown time"


def plural(count: int, word: str) -> str:
    """ "1 point", "2 points", "6,000 invitations" """
    return f"{count:,} {word}{'' if abs(count) == 1 else 's'}"


def _difference(points: int) -> str:
    if points == 0:
        return "exactly the cut-off"
    unit = "point" if abs(points) == 1 else "points"
    return f"{abs(points)} {unit} {'above' if points > 0 else 'below'} the cut-off"


def _changes(previous: dict[str, Any], draw: Draw) -> str:
    changes = []
    if previous.get("crs") != draw.crs:
        changes.append(f"cut-off {previous.get('crs')} → {draw.crs}")
    if previous.get("invitations") != draw.invitations:
        changes.append(f"invitations {previous.get('invitations'):,} → {draw.invitations:,}")
    if previous.get("tie_break") != (draw.to_record()["tie_break"]):
        changes.append("tie-break time")
    return ", ".join(changes) or "details"
