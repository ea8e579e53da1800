"""Sign-up in the chat: `/start` (or a deep link from the web page), then the score, margin,
streams, language and profile time, one question at a time; only a confirmed summary is stored,
in one transaction, before the bot says so."""

from __future__ import annotations

from collections.abc import Callable

from telegram import InlineKeyboardButton, Update

from crswatch.subscribers import optin, validate
from crswatch.subscribers.model import BLOCKED
from crswatch.subscribers.validate import Invalid, Problem

from . import talk
from .i18n import gettext_for
from .service import Draft
from .talk import Context

WITHIN_CHOICES = (0, 5, 10, 20, 30)


async def cmd_start(update: Update, context: Context) -> None:
    args = talk.args(context)
    if args:
        await _deep_link(update, context, args[0])
        return
    subscriber = talk.subscriber(update, context)
    if subscriber is not None:
        _ = gettext_for(subscriber.language)
        if subscriber.status == BLOCKED:
            subscriber = talk.service(context).set_active(subscriber, True)
            await talk.say(update, _("Welcome back: your alerts are on again.") + "\n\n" + talk.describe(subscriber))
            return
        await talk.say(
            update,
            _("You are already subscribed.")
            + "\n\n"
            + talk.describe(subscriber)
            + "\n\n"
            + _("/help lists what you can change."),
        )
        return
    draft = Draft(language=talk.language(update, context))
    assert context.chat_data is not None
    context.chat_data["draft"] = draft
    _ = gettext_for(draft.language)
    await talk.say(update, _("Welcome! I send an alert after each Express Entry draw that reaches your CRS score.") + "\n\n" + _ask_score(_),
               [[InlineKeyboardButton(_("I don't know my score"), callback_data="score:unknown")]])  # fmt: skip


def _ask_score(_: Callable[[str], str]) -> str:
    return _("What is your CRS score? Send a number from 0 to 1200.")


async def _deep_link(update: Update, context: Context, token: str) -> None:
    state, subscriber = talk.service(context).bind(talk.chat(update), token[:64])
    _ = gettext_for(subscriber.language if subscriber else talk.language(update, context))
    if subscriber is not None:
        await talk.say(
            update, _("You are subscribed. Your alerts will come to this chat.") + "\n\n" + talk.describe(subscriber)
        )
    elif state == optin.USED:
        await talk.say(update, _("This link was already used. Send /start to sign up here."))
    elif state == optin.EXPIRED:
        await talk.say(update, _("This link has expired. Send /start to sign up here, or fill in the form again."))
    else:
        await talk.say(update, _("This link does not work. Send /start to sign up here."))


async def text(update: Update, context: Context) -> None:
    """A message that is no command: the answer to the sign-up's current question."""
    draft = talk.draft(context)
    message = update.effective_message
    value = (message.text or "").strip() if message else ""
    if draft is None:
        _ = gettext_for(talk.language(update, context, talk.subscriber(update, context)))
        await talk.say(update, _("I did not understand that. /help lists what I can do."))
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
            await talk.say(update, _("Please use the buttons above, or send /start to begin again."))
    except Problem:
        await talk.say(update, _explain(_, draft.step))


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
    await talk.say(
        update,
        _("Also tell you when you miss by a few points? Choose how many, or send a number from 0 to 200."),
        buttons,
    )


async def _ask_streams(update: Update, context: Context, draft: Draft) -> None:
    _ = gettext_for(draft.language)
    draft.step = "streams"
    draft.streams = draft.streams or list(talk.service(context).defaults.streams)
    await talk.say(update, _("Which programs are you eligible for? Tap to choose, then Done. Draws open to all programs always count."),
               talk.stream_buttons(draft.language, draft.streams, talk.service(context).defaults.choices, "pick"))  # fmt: skip


async def _ask_language(update: Update, draft: Draft) -> None:
    _ = gettext_for(draft.language)
    draft.step = "language"
    await talk.say(update, _("In which language should your alerts be written?"), talk.language_buttons("lang"))


async def _ask_profile(update: Update, draft: Draft) -> None:
    _ = gettext_for(draft.language)
    draft.step = "profile"
    await talk.say(update, _("When did you submit your Express Entry profile? It decides ties at the cut-off. Send it in UTC like "
                         "2025-10-29 04:35, or press Skip."), [[InlineKeyboardButton(_("Skip"), callback_data="profile:skip")]])  # fmt: skip


async def _ask_confirm(update: Update, draft: Draft) -> None:
    _ = gettext_for(draft.language)
    draft.step = "confirm"
    profile = draft.profile_created.replace("T", " ").replace("+00:00", " UTC") if draft.profile_created else None
    within = draft.within if draft.within is not None else 10
    text = (
        _("Please check:")
        + "\n\n"
        + talk.summary(_, draft.language, draft.score or 0, within, tuple(draft.streams), profile)
    )
    await talk.say(update, text, [[InlineKeyboardButton(_("Confirm"), callback_data="confirm:yes"),
                               InlineKeyboardButton(_("Start over"), callback_data="confirm:no")]])  # fmt: skip


async def sign_up_button(update: Update, context: Context, draft: Draft, kind: str, value: str) -> None:
    _ = gettext_for(draft.language)
    if kind == "score" and value == "unknown":
        await talk.say(
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
        await talk.say(update, _("That button belongs to an earlier question. Please answer the last one."))


async def _pick_stream(update: Update, context: Context, draft: Draft, code: str) -> None:
    _ = gettext_for(draft.language)
    choices = talk.service(context).defaults.choices
    if code == "done":
        if not draft.streams:
            await talk.say(update, _("Choose at least one program."))
            return
        await _ask_language(update, draft)
        return
    if code in choices:
        draft.streams = [c for c in draft.streams if c != code] if code in draft.streams else [*draft.streams, code]
    await talk.edit_buttons(update, talk.stream_buttons(draft.language, draft.streams, choices, "pick"))


async def _confirm(update: Update, context: Context, draft: Draft, yes: bool) -> None:
    assert context.chat_data is not None
    if not yes:
        context.chat_data.pop("draft", None)
        await cmd_start(update, context)
        return
    try:
        subscriber = talk.service(context).subscribe(talk.chat(update), draft)  # committed before the user is told
    except Invalid as exc:
        _ = gettext_for(draft.language)
        await talk.say(update, _("This sign-up cannot be stored: {why}").format(why=exc.problems[0]))
        return
    context.chat_data.pop("draft", None)
    _ = gettext_for(subscriber.language)
    await talk.say(
        update,
        _("You are subscribed. Your alerts will come to this chat.") + "\n\n" + _("/help lists what you can change."),
    )
