"""The commands of a subscriber (and /help): their settings, pausing and stopping, the last draws and
the next-draw forecast."""

from __future__ import annotations

from typing import Any

from telegram import Update

from crswatch.draws.streams import label
from crswatch.notifier.i18n import Texts
from crswatch.subscribers import validate
from crswatch.subscribers.model import Subscriber
from crswatch.subscribers.validate import Problem

from . import talk
from .i18n import gettext_for
from .talk import Context


async def _needs_subscriber(update: Update, context: Context) -> Subscriber | None:
    subscriber = talk.subscriber(update, context)
    if subscriber is None:
        _ = gettext_for(talk.language(update, context))
        await talk.say(update, _("You are not subscribed yet. Send /start to sign up."))
    return subscriber


async def cmd_help(update: Update, context: Context) -> None:
    _ = gettext_for(talk.language(update, context, talk.subscriber(update, context)))
    await talk.say(update, "\n".join((
        _("/start: sign up"),
        _("/status: your settings"),
        _("/score N: change your CRS score"),
        _("/within N: how many points short still deserve an alert"),
        _("/streams: choose your programs"),
        _("/language: English or French"),
        _("/cadence instant|daily|weekly: every alert at once, or a digest (an invitation always at once)"),
        _("/pool on|off: tell me when the pool's distribution changes"),
        _("/pause and /resume: stop and restart alerts"),
        _("/last: the latest draws"),
        _("/next: the forecast for your programs"),
        _("/history: the last cut-offs of your programs"),
        _("/stop: unsubscribe and erase your data"),
    )))  # fmt: skip


async def cmd_status(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is not None:
        await talk.say(update, talk.describe(subscriber))


async def _number_command(update: Update, context: Context, field: str) -> None:
    subscriber = await _needs_subscriber(update, context)
    if subscriber is None:
        return
    _ = gettext_for(subscriber.language)
    args = talk.args(context)
    try:
        if len(args) != 1:
            raise Problem("one number")
        value = validate.score(args[0]) if field == "score" else validate.within(args[0])
    except Problem:
        await talk.say(update, _("Give your score as a number from 0 to 1200, like /score 480.") if field == "score"
                   else _("Give a number of points from 0 to 200, like /within 10."))  # fmt: skip
        return
    subscriber = talk.service(context).update(subscriber, **{field: value})
    await talk.say(update, _("Saved.") + "\n\n" + talk.describe(subscriber))


async def cmd_score(update: Update, context: Context) -> None:
    await _number_command(update, context, "score")


async def cmd_within(update: Update, context: Context) -> None:
    await _number_command(update, context, "within")


async def cmd_streams(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is not None:
        _ = gettext_for(subscriber.language)
        await talk.say(update, _("Tap a program to add or remove it."),
                   talk.stream_buttons(subscriber.language, subscriber.streams, talk.service(context).defaults.choices, "set-stream")[:-1])  # fmt: skip


async def cmd_language(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is not None:
        _ = gettext_for(subscriber.language)
        await talk.say(update, _("In which language should your alerts be written?"), talk.language_buttons("set-lang"))


async def settings_button(update: Update, context: Context, kind: str, value: str) -> None:
    subscriber = await _needs_subscriber(update, context)
    if subscriber is None:
        return
    _ = gettext_for(subscriber.language)
    service = talk.service(context)
    if kind == "set-lang" and value in ("en", "fr"):
        subscriber = service.update(subscriber, language=value)
        _ = gettext_for(value)
        await talk.say(update, _("Your alerts will be written in English."))
    elif kind == "set-stream" and value in service.defaults.choices:
        chosen = (
            [c for c in subscriber.streams if c != value]
            if value in subscriber.streams
            else [*subscriber.streams, value]
        )
        if not chosen:
            await talk.say(update, _("Keep at least one program (or /stop the alerts)."))
            return
        subscriber = service.update(subscriber, streams=chosen)
        await talk.edit_buttons(
            update,
            talk.stream_buttons(subscriber.language, subscriber.streams, service.defaults.choices, "set-stream")[:-1],
        )
        await talk.say(
            update,
            _("Programs: {streams}").format(
                streams=", ".join(label(c, subscriber.language) or c for c in subscriber.streams)
            ),
        )
    else:
        await talk.say(update, _("That button is no longer valid."))


async def cmd_cadence(update: Update, context: Context) -> None:
    """/cadence instant|daily|weekly"""
    if (subscriber := await _needs_subscriber(update, context)) is None:
        return
    _ = gettext_for(subscriber.language)
    args = talk.args(context)
    try:
        chosen = validate.cadence(args[0]) if len(args) == 1 else None
    except Problem:
        chosen = None
    if chosen is None:
        await talk.say(update, _("Send /cadence instant (every alert at once), /cadence daily or /cadence weekly (a digest; "
                             "an invitation is always sent at once).") + "\n\n" + talk.how_often(_, subscriber))  # fmt: skip
        return
    subscriber = talk.service(context).update(subscriber, cadence=chosen)
    await talk.say(update, _("Saved.") + "\n\n" + talk.how_often(_, subscriber))


async def cmd_pool(update: Update, context: Context) -> None:
    """/pool on|off"""
    if (subscriber := await _needs_subscriber(update, context)) is None:
        return
    _ = gettext_for(subscriber.language)
    args = talk.args(context)
    try:
        wanted = validate.flag(args[0], "pool") if len(args) == 1 else None
    except Problem:
        wanted = None
    if wanted is None:
        await talk.say(update, _("Send /pool on to hear when IRCC publishes a new pool distribution (how many candidates are at or above "
                             "your score's band), or /pool off.") + "\n\n" + talk.how_often(_, subscriber))  # fmt: skip
        return
    subscriber = talk.service(context).update(subscriber, pool_alerts=wanted)
    await talk.say(update, _("Saved.") + "\n\n" + talk.how_often(_, subscriber))


async def cmd_pause(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is not None:
        talk.service(context).set_active(subscriber, False)
        _ = gettext_for(subscriber.language)
        await talk.say(update, _("Alerts paused. Send /resume to restart them."))


async def cmd_resume(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is not None:
        talk.service(context).set_active(subscriber, True)
        _ = gettext_for(subscriber.language)
        await talk.say(update, _("Alerts are on."))


async def cmd_stop(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is not None:
        talk.service(context).stop(subscriber)
        _ = gettext_for(subscriber.language)
        await talk.say(update, _("You are unsubscribed and your data is erased. Send /start to sign up again."))


def _draw_line(texts: Texts, row: dict[str, Any]) -> str:
    stream = label(row["stream"], texts.language) or row["stream"]
    return f"#{row['number']} {texts.day(_date(row['date']))}: {stream}, {texts.number(row['invitations'] or 0)} ITA, CRS {row['crs']}"


def _date(value: str) -> Any:
    from datetime import date

    return date.fromisoformat(value[:10])


async def cmd_last(update: Update, context: Context) -> None:
    subscriber = talk.subscriber(update, context)
    language = talk.language(update, context, subscriber)
    _ = gettext_for(language)
    rows = talk.service(context).latest()
    if not rows:
        await talk.say(update, _("No draw is stored yet."))
        return
    await talk.say(update, _("The latest draws:") + "\n" + "\n".join(_draw_line(Texts(language), row) for row in rows))


async def cmd_history(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is None:
        return
    _ = gettext_for(subscriber.language)
    texts = Texts(subscriber.language)
    parts = []
    for stream in subscriber.streams:
        rows = talk.service(context).history((stream,))
        if rows:
            name = label(stream, subscriber.language) or stream
            parts.append(f"{name}: " + ", ".join(f"{row['crs']} ({texts.day(_date(row['date']))})" for row in rows))
    await talk.say(
        update,
        _("The last cut-offs:") + "\n" + "\n".join(parts) if parts else _("No draw is stored yet for your programs."),
    )


async def cmd_next(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is None:
        return
    _ = gettext_for(subscriber.language)
    rows = talk.service(context).forecast(subscriber.streams, subscriber.score)
    if not rows:
        await talk.say(update, _("Too few draws of your programs are stored for a forecast."))
        return
    lines = [_("{stream}: next cut-off about {crs} ({low}-{high}), around {date}; your chance: {chance}").format(
        stream=label(row["stream"], subscriber.language) or row["stream"], crs=round(row["next_crs"]), low=round(row["low"]),
        high=round(row["high"]), date=row["next_date"] or "?",
        chance=f"{round(100 * row['p_invited'])}%" if row.get("p_invited") is not None else "?",
    ) for row in rows]  # fmt: skip
    await talk.say(update, "\n".join(lines) + "\n\n" + _("An estimate from past draws, not a promise."))


async def unknown_command(update: Update, context: Context) -> None:
    _ = gettext_for(talk.language(update, context, talk.subscriber(update, context)))
    await talk.say(update, _("I do not know that command. /help lists what I can do."))
