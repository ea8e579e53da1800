"""The conversation: sign-up with `/start` (or a deep link from the web page) and the commands.

Every reply is in the user's language (their subscription's, else the one chosen during sign-up,
else their Telegram app's).  Wrong input always gets a one-line explanation.  A sign-up lives in
the bot's memory until its summary is confirmed, and only then is it stored, in one transaction,
before the bot says so: a bot killed at any moment loses at most an unconfirmed sign-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from draws.streams import label
from notifier.i18n import Texts
from subscribers import optin, validate
from subscribers.model import BLOCKED, PAUSED, Subscriber
from subscribers.validate import Invalid, Problem

from .i18n import gettext_for, guess
from .service import Draft, Service

log = logging.getLogger("crswatch.bot")
Context = ContextTypes.DEFAULT_TYPE
WITHIN_CHOICES = (0, 5, 10, 20, 30)
COMMANDS = ("start", "status", "score", "within", "streams", "language", "cadence", "pool", "pause", "resume", "last", "next", "history", "stop",
            "help")  # fmt: skip


def install(application: Application[Any, Any, Any, Any, Any, Any], service: Service, calculator_url: str) -> None:
    """Register every handler of the conversation on a python-telegram-bot Application."""
    application.bot_data.update(service=service, calculator=calculator_url)
    for name in COMMANDS:
        application.add_handler(CommandHandler(name, _guarded(globals()[f"cmd_{name}"])))
    application.add_handler(MessageHandler(filters.COMMAND, _guarded(unknown_command)))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _guarded(text)))
    application.add_handler(CallbackQueryHandler(_guarded(button)))


def _guarded(handler: Callable[[Update, Context], Any]) -> Callable[[Update, Context], Any]:
    """A reply in every case: a problem with the store is said in one line, never silence."""

    async def run(update: Update, context: Context) -> None:
        try:
            await handler(update, context)
        except Exception:  # noqa: BLE001 - the user hears of it; the operator reads the log
            log.exception("bot: a %s failed", handler.__name__)
            _ = gettext_for(_language(update, context))
            await _say(update, _("Something went wrong on our side; please try again in a minute."))

    run.__name__ = handler.__name__
    return run


# ---------------------------------------------------------------------------- helpers


def _service(context: Context) -> Service:
    found: Service = context.bot_data["service"]
    return found


def _chat(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def _subscriber(update: Update, context: Context) -> Subscriber | None:
    return _service(context).find(_chat(update))


def _draft(context: Context) -> Draft | None:
    return (context.chat_data or {}).get("draft")


def _language(update: Update, context: Context, subscriber: Subscriber | None = None) -> str:
    if subscriber is not None:
        return subscriber.language
    draft = _draft(context)
    if draft is not None:
        return draft.language
    user = update.effective_user
    return guess(user.language_code if user else None)


async def _say(update: Update, text: str, buttons: list[list[InlineKeyboardButton]] | None = None) -> None:
    markup = InlineKeyboardMarkup(buttons) if buttons else None
    if update.effective_chat is not None:
        await update.effective_chat.send_message(text, reply_markup=markup)


def _args(context: Context) -> list[str]:
    return list(context.args or [])


def summary(_: Callable[[str], str], language: str, score: int, within: int, streams: tuple[str, ...], profile: str | None,
            status: str | None = None) -> str:  # fmt: skip
    """The settings in words (the sign-up's summary and /status)."""
    names = ", ".join(label(code, language) or code for code in streams)
    lines = [
        _("CRS score: {score}").format(score=score),
        _("Close means within: {within} points").format(within=within),
        _("Programs: {streams}").format(streams=names),
        _("Alerts in: {language}").format(language="English" if language == "en" else "français"),
        _("Profile submitted: {moment}").format(moment=profile or _("not given")),
    ]
    if status is not None:
        state = {
            PAUSED: _("paused (/resume to restart)"),
            BLOCKED: _("stopped: the bot was blocked (/resume to restart)"),
        }
        lines.append(_("Alerts: {state}").format(state=state.get(status, _("active"))))
    return "\n".join(lines)


def _how_often(_: Callable[[str], str], subscriber: Subscriber) -> str:
    cadence = {
        "daily": _("a daily digest (an invitation at once)"),
        "weekly": _("a weekly digest (an invitation at once)"),
    }
    return "\n".join((_("How often: {cadence}").format(cadence=cadence.get(subscriber.cadence, _("every alert at once"))),
                      _("Pool alerts: {state}").format(state=_("on") if subscriber.pool_alerts else _("off"))))  # fmt: skip


def _describe(subscriber: Subscriber) -> str:
    _ = gettext_for(subscriber.language)
    profile = f"{subscriber.profile_created:%Y-%m-%d %H:%M} UTC" if subscriber.profile_created else None
    return (
        summary(
            _, subscriber.language, subscriber.score, subscriber.within, subscriber.streams, profile, subscriber.status
        )
        + "\n"
        + _how_often(_, subscriber)
    )


# ---------------------------------------------------------------------------- sign-up


async def cmd_start(update: Update, context: Context) -> None:
    args = _args(context)
    if args:
        await _deep_link(update, context, args[0])
        return
    subscriber = _subscriber(update, context)
    if subscriber is not None:
        _ = gettext_for(subscriber.language)
        if subscriber.status == BLOCKED:
            subscriber = _service(context).set_active(subscriber, True)
            await _say(update, _("Welcome back: your alerts are on again.") + "\n\n" + _describe(subscriber))
            return
        await _say(
            update,
            _("You are already subscribed.")
            + "\n\n"
            + _describe(subscriber)
            + "\n\n"
            + _("/help lists what you can change."),
        )
        return
    draft = Draft(language=_language(update, context))
    assert context.chat_data is not None
    context.chat_data["draft"] = draft
    _ = gettext_for(draft.language)
    await _say(update, _("Welcome! I send an alert after each Express Entry draw that reaches your CRS score.") + "\n\n" + _ask_score(_),
               [[InlineKeyboardButton(_("I don't know my score"), callback_data="score:unknown")]])  # fmt: skip


def _ask_score(_: Callable[[str], str]) -> str:
    return _("What is your CRS score? Send a number from 0 to 1200.")


async def _deep_link(update: Update, context: Context, token: str) -> None:
    state, subscriber = _service(context).bind(_chat(update), token[:64])
    _ = gettext_for(subscriber.language if subscriber else _language(update, context))
    if subscriber is not None:
        await _say(
            update, _("You are subscribed. Your alerts will come to this chat.") + "\n\n" + _describe(subscriber)
        )
    elif state == optin.USED:
        await _say(update, _("This link was already used. Send /start to sign up here."))
    elif state == optin.EXPIRED:
        await _say(update, _("This link has expired. Send /start to sign up here, or fill in the form again."))
    else:
        await _say(update, _("This link does not work. Send /start to sign up here."))


async def text(update: Update, context: Context) -> None:
    """A message that is no command: the answer to the sign-up's current question."""
    draft = _draft(context)
    message = update.effective_message
    value = (message.text or "").strip() if message else ""
    if draft is None:
        _ = gettext_for(_language(update, context, _subscriber(update, context)))
        await _say(update, _("I did not understand that. /help lists what I can do."))
        return
    _ = gettext_for(draft.language)
    try:
        if draft.step == "score":
            draft.score = validate.score(value)
            await _ask_within(update, draft)
        elif draft.step == "within":
            draft.within = validate.within(value)
            await _ask_streams(update, context, draft)
        elif draft.step == "profile":
            draft.profile_created = _profile(value)
            await _ask_confirm(update, draft)
        else:
            await _say(update, _("Please use the buttons above, or send /start to begin again."))
    except Problem:
        await _say(update, _explain(_, draft.step))


def _explain(_: Callable[[str], str], step: str) -> str:
    return {
        "score": _("Please send your CRS score as a whole number from 0 to 1200, like 480."),
        "within": _("Please send a whole number of points from 0 to 200, like 10, or use a button."),
        "profile": _("Please send a date and time in UTC like 2025-10-29 04:35 (not in the future), or press Skip."),
    }.get(step, _("Please use the buttons above, or send /start to begin again."))


def _profile(value: str) -> str:
    moment = validate.profile_created(value.replace(" ", "T", 1))
    if moment is None:
        raise Problem("empty")
    return moment.isoformat()


async def _ask_within(update: Update, draft: Draft) -> None:
    _ = gettext_for(draft.language)
    draft.step = "within"
    buttons = [[InlineKeyboardButton(str(n), callback_data=f"within:{n}") for n in WITHIN_CHOICES]]
    await _say(
        update,
        _("Also tell you when you miss by a few points? Choose how many, or send a number from 0 to 200."),
        buttons,
    )


def _stream_buttons(
    language: str, chosen: list[str] | tuple[str, ...], choices: tuple[str, ...], prefix: str
) -> list[list[InlineKeyboardButton]]:
    rows = [[InlineKeyboardButton(("✅ " if code in chosen else "▫️ ") + (label(code, language) or code), callback_data=f"{prefix}:{code}")]
            for code in choices]  # fmt: skip
    _ = gettext_for(language)
    rows.append([InlineKeyboardButton(_("Done"), callback_data=f"{prefix}:done")])
    return rows


async def _ask_streams(update: Update, context: Context, draft: Draft) -> None:
    _ = gettext_for(draft.language)
    draft.step = "streams"
    draft.streams = draft.streams or list(_service(context).defaults.streams)
    await _say(update, _("Which programs are you eligible for? Tap to choose, then Done. Draws open to all programs always count."),
               _stream_buttons(draft.language, draft.streams, _service(context).defaults.choices, "pick"))  # fmt: skip


async def _ask_language(update: Update, draft: Draft) -> None:
    _ = gettext_for(draft.language)
    draft.step = "language"
    await _say(update, _("In which language should your alerts be written?"), _language_buttons("lang"))


def _language_buttons(prefix: str) -> list[list[InlineKeyboardButton]]:
    return [
        [
            InlineKeyboardButton("English", callback_data=f"{prefix}:en"),
            InlineKeyboardButton("Français", callback_data=f"{prefix}:fr"),
        ]
    ]


async def _ask_profile(update: Update, draft: Draft) -> None:
    _ = gettext_for(draft.language)
    draft.step = "profile"
    await _say(update, _("When did you submit your Express Entry profile? It decides ties at the cut-off. Send it in UTC like "
                         "2025-10-29 04:35, or press Skip."), [[InlineKeyboardButton(_("Skip"), callback_data="profile:skip")]])  # fmt: skip


async def _ask_confirm(update: Update, draft: Draft) -> None:
    _ = gettext_for(draft.language)
    draft.step = "confirm"
    profile = draft.profile_created.replace("T", " ").replace("+00:00", " UTC") if draft.profile_created else None
    within = draft.within if draft.within is not None else 10
    text = (
        _("Please check:")
        + "\n\n"
        + summary(_, draft.language, draft.score or 0, within, tuple(draft.streams), profile)
    )
    await _say(update, text, [[InlineKeyboardButton(_("Confirm"), callback_data="confirm:yes"),
                               InlineKeyboardButton(_("Start over"), callback_data="confirm:no")]])  # fmt: skip


async def button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    kind, _sep, value = (query.data or "").partition(":")
    if kind in ("set-stream", "set-lang"):
        await _settings_button(update, context, kind, value)
        return
    draft = _draft(context)
    if draft is None:
        _ = gettext_for(_language(update, context))
        await _say(update, _("This sign-up is no longer open. Send /start to begin again."))
        return
    await _sign_up_button(update, context, draft, kind, value)


async def _sign_up_button(update: Update, context: Context, draft: Draft, kind: str, value: str) -> None:
    _ = gettext_for(draft.language)
    if kind == "score" and value == "unknown":
        await _say(
            update,
            _("Find it with IRCC's calculator: {url}").format(url=context.bot_data["calculator"])
            + "\n\n"
            + _ask_score(_),
        )
    elif kind == "within" and draft.step == "within" and value.isdigit():
        draft.within = int(value)
        await _ask_streams(update, context, draft)
    elif kind == "pick" and draft.step == "streams":
        await _pick_stream(update, context, draft, value)
    elif kind == "lang" and draft.step == "language" and value in ("en", "fr"):
        draft.language = value
        await _ask_profile(update, draft)
    elif kind == "profile" and draft.step == "profile":
        draft.profile_created = None
        await _ask_confirm(update, draft)
    elif kind == "confirm" and draft.step == "confirm":
        await _confirm(update, context, draft, value == "yes")
    else:
        await _say(update, _("That button belongs to an earlier question. Please answer the last one."))


async def _pick_stream(update: Update, context: Context, draft: Draft, code: str) -> None:
    _ = gettext_for(draft.language)
    choices = _service(context).defaults.choices
    if code == "done":
        if not draft.streams:
            await _say(update, _("Choose at least one program."))
            return
        await _ask_language(update, draft)
        return
    if code in choices:
        draft.streams = [c for c in draft.streams if c != code] if code in draft.streams else [*draft.streams, code]
    await _edit_buttons(update, _stream_buttons(draft.language, draft.streams, choices, "pick"))


async def _edit_buttons(update: Update, buttons: list[list[InlineKeyboardButton]]) -> None:
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.edit_message_reply_markup(InlineKeyboardMarkup(buttons))


async def _confirm(update: Update, context: Context, draft: Draft, yes: bool) -> None:
    assert context.chat_data is not None
    if not yes:
        context.chat_data.pop("draft", None)
        await cmd_start(update, context)
        return
    try:
        subscriber = _service(context).subscribe(_chat(update), draft)  # committed before the user is told
    except Invalid as exc:
        _ = gettext_for(draft.language)
        await _say(update, _("This sign-up cannot be stored: {why}").format(why=exc.problems[0]))
        return
    context.chat_data.pop("draft", None)
    _ = gettext_for(subscriber.language)
    await _say(
        update,
        _("You are subscribed. Your alerts will come to this chat.") + "\n\n" + _("/help lists what you can change."),
    )


# ---------------------------------------------------------------------------- commands


async def _needs_subscriber(update: Update, context: Context) -> Subscriber | None:
    subscriber = _subscriber(update, context)
    if subscriber is None:
        _ = gettext_for(_language(update, context))
        await _say(update, _("You are not subscribed yet. Send /start to sign up."))
    return subscriber


async def cmd_help(update: Update, context: Context) -> None:
    _ = gettext_for(_language(update, context, _subscriber(update, context)))
    await _say(update, "\n".join((
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
        await _say(update, _describe(subscriber))


async def _number_command(update: Update, context: Context, field: str) -> None:
    subscriber = await _needs_subscriber(update, context)
    if subscriber is None:
        return
    _ = gettext_for(subscriber.language)
    args = _args(context)
    try:
        if len(args) != 1:
            raise Problem("one number")
        value = validate.score(args[0]) if field == "score" else validate.within(args[0])
    except Problem:
        await _say(update, _("Give your score as a number from 0 to 1200, like /score 480.") if field == "score"
                   else _("Give a number of points from 0 to 200, like /within 10."))  # fmt: skip
        return
    subscriber = _service(context).update(subscriber, **{field: value})
    await _say(update, _("Saved.") + "\n\n" + _describe(subscriber))


async def cmd_score(update: Update, context: Context) -> None:
    await _number_command(update, context, "score")


async def cmd_within(update: Update, context: Context) -> None:
    await _number_command(update, context, "within")


async def cmd_streams(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is not None:
        _ = gettext_for(subscriber.language)
        await _say(update, _("Tap a program to add or remove it."),
                   _stream_buttons(subscriber.language, subscriber.streams, _service(context).defaults.choices, "set-stream")[:-1])  # fmt: skip


async def cmd_language(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is not None:
        _ = gettext_for(subscriber.language)
        await _say(update, _("In which language should your alerts be written?"), _language_buttons("set-lang"))


async def _settings_button(update: Update, context: Context, kind: str, value: str) -> None:
    subscriber = await _needs_subscriber(update, context)
    if subscriber is None:
        return
    _ = gettext_for(subscriber.language)
    service = _service(context)
    if kind == "set-lang" and value in ("en", "fr"):
        subscriber = service.update(subscriber, language=value)
        _ = gettext_for(value)
        await _say(update, _("Your alerts will be written in English."))
    elif kind == "set-stream" and value in service.defaults.choices:
        chosen = (
            [c for c in subscriber.streams if c != value]
            if value in subscriber.streams
            else [*subscriber.streams, value]
        )
        if not chosen:
            await _say(update, _("Keep at least one program (or /stop the alerts)."))
            return
        subscriber = service.update(subscriber, streams=chosen)
        await _edit_buttons(
            update,
            _stream_buttons(subscriber.language, subscriber.streams, service.defaults.choices, "set-stream")[:-1],
        )
        await _say(
            update,
            _("Programs: {streams}").format(
                streams=", ".join(label(c, subscriber.language) or c for c in subscriber.streams)
            ),
        )
    else:
        await _say(update, _("That button is no longer valid."))


async def cmd_cadence(update: Update, context: Context) -> None:
    """/cadence instant|daily|weekly"""
    if (subscriber := await _needs_subscriber(update, context)) is None:
        return
    _ = gettext_for(subscriber.language)
    args = _args(context)
    try:
        chosen = validate.cadence(args[0]) if len(args) == 1 else None
    except Problem:
        chosen = None
    if chosen is None:
        await _say(update, _("Send /cadence instant (every alert at once), /cadence daily or /cadence weekly (a digest; "
                             "an invitation is always sent at once).") + "\n\n" + _how_often(_, subscriber))  # fmt: skip
        return
    subscriber = _service(context).update(subscriber, cadence=chosen)
    await _say(update, _("Saved.") + "\n\n" + _how_often(_, subscriber))


async def cmd_pool(update: Update, context: Context) -> None:
    """/pool on|off"""
    if (subscriber := await _needs_subscriber(update, context)) is None:
        return
    _ = gettext_for(subscriber.language)
    args = _args(context)
    try:
        wanted = validate.flag(args[0], "pool") if len(args) == 1 else None
    except Problem:
        wanted = None
    if wanted is None:
        await _say(update, _("Send /pool on to hear when IRCC publishes a new pool distribution (how many candidates are at or above "
                             "your score's band), or /pool off.") + "\n\n" + _how_often(_, subscriber))  # fmt: skip
        return
    subscriber = _service(context).update(subscriber, pool_alerts=wanted)
    await _say(update, _("Saved.") + "\n\n" + _how_often(_, subscriber))


async def cmd_pause(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is not None:
        _service(context).set_active(subscriber, False)
        _ = gettext_for(subscriber.language)
        await _say(update, _("Alerts paused. Send /resume to restart them."))


async def cmd_resume(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is not None:
        _service(context).set_active(subscriber, True)
        _ = gettext_for(subscriber.language)
        await _say(update, _("Alerts are on."))


async def cmd_stop(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is not None:
        _service(context).stop(subscriber)
        _ = gettext_for(subscriber.language)
        await _say(update, _("You are unsubscribed and your data is erased. Send /start to sign up again."))


def _draw_line(texts: Texts, row: dict[str, Any]) -> str:
    stream = label(row["stream"], texts.language) or row["stream"]
    return f"#{row['number']} {texts.day(_date(row['date']))}: {stream}, {texts.number(row['invitations'] or 0)} ITA, CRS {row['crs']}"


def _date(value: str) -> Any:
    from datetime import date

    return date.fromisoformat(value[:10])


async def cmd_last(update: Update, context: Context) -> None:
    subscriber = _subscriber(update, context)
    language = _language(update, context, subscriber)
    _ = gettext_for(language)
    rows = _service(context).latest()
    if not rows:
        await _say(update, _("No draw is stored yet."))
        return
    await _say(update, _("The latest draws:") + "\n" + "\n".join(_draw_line(Texts(language), row) for row in rows))


async def cmd_history(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is None:
        return
    _ = gettext_for(subscriber.language)
    texts = Texts(subscriber.language)
    parts = []
    for stream in subscriber.streams:
        rows = _service(context).history((stream,))
        if rows:
            name = label(stream, subscriber.language) or stream
            parts.append(f"{name}: " + ", ".join(f"{row['crs']} ({texts.day(_date(row['date']))})" for row in rows))
    await _say(
        update,
        _("The last cut-offs:") + "\n" + "\n".join(parts) if parts else _("No draw is stored yet for your programs."),
    )


async def cmd_next(update: Update, context: Context) -> None:
    if (subscriber := await _needs_subscriber(update, context)) is None:
        return
    _ = gettext_for(subscriber.language)
    rows = _service(context).forecast(subscriber.streams, subscriber.score)
    if not rows:
        await _say(update, _("Too few draws of your programs are stored for a forecast."))
        return
    lines = [_("{stream}: next cut-off about {crs} ({low}-{high}), around {date}; your chance: {chance}").format(
        stream=label(row["stream"], subscriber.language) or row["stream"], crs=round(row["next_crs"]), low=round(row["low"]),
        high=round(row["high"]), date=row["next_date"] or "?",
        chance=f"{round(100 * row['p_invited'])}%" if row.get("p_invited") is not None else "?",
    ) for row in rows]  # fmt: skip
    await _say(update, "\n".join(lines) + "\n\n" + _("An estimate from past draws, not a promise."))


async def unknown_command(update: Update, context: Context) -> None:
    _ = gettext_for(_language(update, context, _subscriber(update, context)))
    await _say(update, _("I do not know that command. /help lists what I can do."))
