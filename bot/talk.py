"""What every handler of the conversation shares: where a message comes from, in which language to
answer, how to say it, and the settings in words."""

from __future__ import annotations

from collections.abc import Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from crswatch.draws.streams import label
from crswatch.subscribers.model import BLOCKED, PAUSED, Subscriber

from .i18n import gettext_for, guess
from .service import Draft, Service

Context = ContextTypes.DEFAULT_TYPE


def service(context: Context) -> Service:
    found: Service = context.bot_data["service"]
    return found


def chat(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def subscriber(update: Update, context: Context) -> Subscriber | None:
    return service(context).find(chat(update))


def draft(context: Context) -> Draft | None:
    return (context.chat_data or {}).get("draft")


def language(update: Update, context: Context, subscriber: Subscriber | None = None) -> str:
    if subscriber is not None:
        return subscriber.language
    started = draft(context)
    if started is not None:
        return started.language
    user = update.effective_user
    return guess(user.language_code if user else None)


async def say(update: Update, text: str, buttons: list[list[InlineKeyboardButton]] | None = None) -> None:
    markup = InlineKeyboardMarkup(buttons) if buttons else None
    if update.effective_chat is not None:
        await update.effective_chat.send_message(text, reply_markup=markup)


def args(context: Context) -> list[str]:
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


def how_often(_: Callable[[str], str], subscriber: Subscriber) -> str:
    cadence = {
        "daily": _("a daily digest (an invitation at once)"),
        "weekly": _("a weekly digest (an invitation at once)"),
    }
    return "\n".join((_("How often: {cadence}").format(cadence=cadence.get(subscriber.cadence, _("every alert at once"))),
                      _("Pool alerts: {state}").format(state=_("on") if subscriber.pool_alerts else _("off"))))  # fmt: skip


def describe(subscriber: Subscriber) -> str:
    _ = gettext_for(subscriber.language)
    profile = f"{subscriber.profile_created:%Y-%m-%d %H:%M} UTC" if subscriber.profile_created else None
    return (
        summary(
            _, subscriber.language, subscriber.score, subscriber.within, subscriber.streams, profile, subscriber.status
        )
        + "\n"
        + how_often(_, subscriber)
    )


def stream_buttons(
    language: str, chosen: list[str] | tuple[str, ...], choices: tuple[str, ...], prefix: str
) -> list[list[InlineKeyboardButton]]:
    rows = [[InlineKeyboardButton(("✅ " if code in chosen else "▫️ ") + (label(code, language) or code), callback_data=f"{prefix}:{code}")]
            for code in choices]  # fmt: skip
    _ = gettext_for(language)
    rows.append([InlineKeyboardButton(_("Done"), callback_data=f"{prefix}:done")])
    return rows


def language_buttons(prefix: str) -> list[list[InlineKeyboardButton]]:
    return [
        [
            InlineKeyboardButton("English", callback_data=f"{prefix}:en"),
            InlineKeyboardButton("Français", callback_data=f"{prefix}:fr"),
        ]
    ]


async def edit_buttons(update: Update, buttons: list[list[InlineKeyboardButton]]) -> None:
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.edit_message_reply_markup(InlineKeyboardMarkup(buttons))
