"""Alert texts: every message is rendered twice, as plain text (SMS, Slack, webhooks) and as HTML
(e-mail); the sender picks one per channel, so apprise never converts a body on its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crswatch.draws.match import Verdict
from crswatch.draws.record import Draw
from crswatch.draws.streams import label, short_name
from crswatch.subscribers.links import Links
from crswatch.subscribers.model import Subscriber

from .foot import way_out
from .i18n import Texts
from .letters import DEFAULT, Letters

NEW, CORRECTION, LATE = "new", "correction", "late"

#: canada.ca publishes each page in both languages under different paths; the feed links to the
#: English ones.  The French counterpart of each English path prefix the feed uses (canada.ca's own
#: language switch): data, to extend when IRCC moves its pages.  A path not listed keeps its
#: English page: better a page that opens than a guessed one.
FRENCH_PAGES = {
    "https://www.canada.ca/en/immigration-refugees-citizenship/corporate/mandate/policies-operational-instructions-agreements/ministerial-instructions/express-entry-rounds/":
    "https://www.canada.ca/fr/immigration-refugies-citoyennete/organisation/mandat/politiques-instructions-operationnelles-ententes/instructions-ministerielles/rondes-entree-express/",
}  # fmt: skip


def official_page(url: str, language: str) -> str:
    """The draw's canada.ca page in the subscriber's language, where its counterpart is known."""
    if language == "fr":
        for english, french in FRENCH_PAGES.items():
            if url.startswith(english):
                return french + url[len(english) :]
    return url


@dataclass(frozen=True)
class Alert:
    """What one subscriber is told about one draw."""

    draw: Draw
    subscriber: Subscriber
    verdict: Verdict | None  # None only in a correction that takes an earlier verdict back
    kind: str = NEW
    previous: dict[str, Any] | None = None  # the draw as first announced, for corrections
    from_profile: bool = False  # the subscriber's score is their profile's on the draw's date


def render(
    alert: Alert, links: Links | None = None, contact: str = "", letters: Letters = DEFAULT
) -> tuple[str, dict[str, str]]:
    """(title, {"text": …, "html": …}) for one alert, in the subscriber's language; with `links`,
    its manage and unsubscribe pages; the HTML from `letters`' alert.html."""
    draw, sub = alert.draw, alert.subscriber
    t = Texts(sub.language)
    _ = t.gettext
    title = _("{prefix}{headline}: #{number} {stream}, cut-off {crs}").format(
        prefix={CORRECTION: _("Correction: "), LATE: _("Late: ")}.get(alert.kind, ""),
        headline=headline(alert, t), number=draw.number, stream=short_name(draw.stream, draw.program, sub.language), crs=draw.crs,
    )  # fmt: skip
    lines = facts(alert, t)
    verdict_text = explain(alert, t)
    steps = next_steps(t) if alert.verdict is Verdict.INVITED else ""
    link = official_page(draw.url or "", sub.language)
    stop = way_out(sub, links, contact, t)
    return title, letters.bodies(
        "alert", t, title=title, lines=lines, verdict=verdict_text, steps=steps, link=link, stop=stop
    )


def facts(alert: Alert, t: Texts) -> list[tuple[str, str]]:
    """The alert's (label, value) lines: what changed or came late, then the draw and the score."""
    draw, sub, _ = alert.draw, alert.subscriber, t.gettext
    lines: list[tuple[str, str]] = []
    if alert.kind == CORRECTION and alert.previous:
        lines.append(
            (
                _("Correction"),
                _("IRCC changed this draw after it was announced ({changes}).").format(
                    changes=_changes(alert.previous, draw, t)
                ),
            )
        )
    if alert.kind == LATE:
        lines.append(
            (
                _("Late alert"),
                _("published on {day}, recognised now: crswatch did not know this program's name until today.").format(
                    day=t.day(draw.date)
                ),
            )
        )
    tie = (
        _("profiles submitted before {moment}").format(moment=t.moment(draw.tie_break))
        if draw.tie_break
        else _("not published")
    )
    lines += [
        (_("Draw"), _("#{number}, {day}").format(number=draw.number, day=t.day(draw.date))),
        (_("Program"), program(draw, sub.language)),
        (_("Invitations"), t.number(draw.invitations)),
        (_("CRS cut-off"), str(draw.crs)),
        (_("Tie-break"), tie),
        (
            _("Your score"),
            _("your CRS on {day}: {score}, from your profile ({difference})").format(
                day=t.day(draw.date), score=sub.score, difference=_difference(sub.score - draw.crs, t)
            )
            if alert.from_profile
            else f"{sub.score} ({_difference(sub.score - draw.crs, t)})",
        ),
    ]
    return lines


def headline(alert: Alert, t: Texts) -> str:
    """The verdict first in every subject, short enough for a phone."""
    _, ngettext = t.gettext, t.ngettext
    match alert.verdict:
        case Verdict.INVITED:
            return _("Invited")
        case Verdict.AT_CUTOFF:
            return _("At the cut-off")
        case Verdict.JUST_MISSED:
            return _("Just missed (tie-break)")
        case Verdict.CLOSE:
            gap = alert.draw.crs - alert.subscriber.score
            return ngettext("Close ({count} point short)", "Close ({count} points short)", gap).format(
                count=t.number(gap)
            )
        case _:
            return _("No longer in your range")


def program(draw: Draw, language: str) -> str:
    """The draw's program or category: as IRCC named it, or in French from the table beside the
    stream codes (a name crswatch does not know stays as IRCC published it)."""
    if language == "fr" and draw.stream != "other":
        return label(draw.stream, "fr") or draw.program
    return draw.program


def next_steps(t: Texts) -> str:
    return t.gettext(
        "What to do next: sign in to your IRCC account and look for the invitation to apply (ITA). "
        "It is valid for 60 days, so start your police certificates and the immigration medical exam now."
    )


def explain(alert: Alert, t: Texts | None = None) -> str:
    """The verdict in plain words."""
    t = t or Texts(alert.subscriber.language)
    _, ngettext = t.gettext, t.ngettext
    draw, sub = alert.draw, alert.subscriber
    tie = t.moment(draw.tie_break) if draw.tie_break else None
    match alert.verdict:
        case Verdict.INVITED if sub.score > draw.crs:
            return _(
                "Your score {score} is above the cut-off {crs}: you should have received an invitation to apply."
            ).format(score=sub.score, crs=draw.crs)
        case Verdict.INVITED:
            return _(
                "Your score equals the cut-off {crs} and your profile was submitted on {submitted}, "
                "before the tie-break time {tie}: you should have received an invitation to apply."
            ).format(crs=draw.crs, submitted=t.moment(sub.profile_created), tie=tie)
        case Verdict.AT_CUTOFF:
            rule = (
                _("only profiles submitted before {tie} were invited").format(tie=tie)
                if tie
                else _("IRCC did not publish the tie-break time")
            )
            return _(
                "Your score equals the cut-off {crs}: {rule}. "
                "Check your IRCC account; add your profile submission time to your subscription for an exact answer."
            ).format(crs=draw.crs, rule=rule)
        case Verdict.JUST_MISSED:
            return _(
                "Your score equals the cut-off {crs}, but your profile was submitted on {submitted}, "
                "not before the tie-break time {tie}: you just missed this draw."
            ).format(crs=draw.crs, submitted=t.moment(sub.profile_created), tie=tie)
        case Verdict.CLOSE:
            gap, within = draw.crs - sub.score, sub.within
            return _(
                "Not this time: the cut-off was {gap} above your score (you asked to hear within {within})."
            ).format(
                gap=ngettext("{count} point", "{count} points", gap).format(count=t.number(gap)),
                within=ngettext("{count} point", "{count} points", within).format(count=t.number(within)),
            )
        case _:
            return _(
                "After IRCC's correction this draw is no longer within your range; please disregard the earlier alert."
            )


def test_message(subscriber: Subscriber, links: Links | None = None, contact: str = "",
                 letters: Letters = DEFAULT) -> tuple[str, dict[str, str]]:  # fmt: skip
    t = Texts(subscriber.language)
    _ = t.gettext
    title = _("crswatch test alert")
    said = _("This is a test from crswatch. Alerts for CRS score {score} (streams: {streams}, within {within} points) will arrive here.").format(
        score=subscriber.score, streams=" ".join(subscriber.streams), within=subscriber.within)  # fmt: skip
    stop = way_out(subscriber, links, contact, t)
    return title, letters.bodies("message", t, title=title, paragraphs=[said], stop=stop)


def confirmation_message(link: str, hours: int, settings: str = "", language: str = "en",
                         letters: Letters = DEFAULT) -> tuple[str, dict[str, str]]:  # fmt: skip
    """The double opt-in message sent to an address typed into the subscription page."""
    t = Texts(language)
    _ = t.gettext
    title = _("Confirm your Express Entry draw alerts")
    someone = _("Someone, hopefully you, asked crswatch to send Express Entry draw alerts to this address.")
    asked = _("The alerts asked for: {settings}").format(settings=settings) if settings else ""
    ignore = _(
        "If it was not you, ignore this message: nothing will be sent here unless someone confirms on that page."
    )
    confirm = _("Confirm your alerts")
    return title, letters.bodies("confirmation", t, someone=someone, asked=asked, link=link, confirm=confirm,
                                 ignore=ignore, hours=hours, lasts=_("(the link works for {hours} hours).").format(hours=hours))  # fmt: skip


def _difference(points: int, t: Texts) -> str:
    _, ngettext = t.gettext, t.ngettext
    if points == 0:
        return _("exactly the cut-off")
    count = t.number(abs(points))
    if points > 0:
        return ngettext("{count} point above the cut-off", "{count} points above the cut-off", abs(points)).format(
            count=count
        )
    return ngettext("{count} point below the cut-off", "{count} points below the cut-off", abs(points)).format(
        count=count
    )


def _changes(previous: dict[str, Any], draw: Draw, t: Texts) -> str:
    _ = t.gettext
    changes = []
    if previous.get("crs") != draw.crs:
        changes.append(_("cut-off {before} → {after}").format(before=previous.get("crs"), after=draw.crs))
    if previous.get("invitations") != draw.invitations:
        changes.append(
            _("invitations {before} → {after}").format(
                before=t.number(previous.get("invitations") or 0), after=t.number(draw.invitations)
            )
        )
    if previous.get("tie_break") != (draw.to_record()["tie_break"]):
        changes.append(_("tie-break time"))
    return ", ".join(changes) or _("details")
