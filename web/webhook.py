"""Telegram's updates by webhook (`[telegram] chats = "serve"`): POST /telegram/webhook.

Telegram sends each update of the bot's chats here, with the secret it was given by setWebhook in
the `X-Telegram-Bot-Api-Secret-Token` header; anything without that secret is refused (403)
before it is read.  The update is handled (the bot's reply sent, the store changed) before
Telegram is answered 200, so an update a stopped or killed `serve` had not handled is sent again,
as an unconfirmed one is by long polling.  POST only (a GET is 405): a GET never changes state.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Protocol

from flask import Flask, Response, abort, request
from flask_wtf.csrf import CSRFProtect

PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
log = logging.getLogger(__name__)


class Hook(Protocol):
    """The bot's side (bot.run.Webhook): the secret Telegram sends, and the handling of one update."""

    secret: str

    def handle(self, update: dict[str, Any]) -> None: ...


def register(flask: Flask, csrf: CSRFProtect, hook: Hook) -> None:
    def telegram_webhook() -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hook.secret or not hmac.compare_digest(given.encode(), hook.secret.encode()):
            abort(403)
        update = request.get_json(silent=True)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            abort(400)
        try:
            hook.handle(update)
        except Exception:  # noqa: BLE001 - Telegram sends it again later; the operator reads why
            log.exception("telegram webhook: update %s could not be handled now", update["update_id"])
            return Response("", 503)
        return Response("", 200)

    csrf.exempt(telegram_webhook)  # Telegram's secret header is the credential, not a form token
    flask.add_url_rule(PATH, "telegram_webhook", telegram_webhook, methods=["POST"])
