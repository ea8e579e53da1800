"""The bot's chats answered by `crswatch serve` through a webhook (`[telegram] chats = "serve"`):
the real serve process tells the local Bot API stand-in where to send the updates, and the stand-in
POSTs them there with the secret token, as Telegram does.  A whole sign-up in the chat that way;
a request without the secret, or a GET, changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import FAST_CONFIG, cli
from pages import Site
from servers import SMTPSink
from telegram_api import TOKEN, TelegramAPI
from test_telegram_bot import sign_up, subscribers

CHAT = 5550009
HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
def site(env: dict, smtp: SMTPSink, api: TelegramAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setattr("pages.FAST_CONFIG", FAST_CONFIG + f'\n[telegram]\napi_url = "{api.url}"\nchats = "serve"\n')
    server = Site({**env, "CRSWATCH_TELEGRAM_TOKEN": TOKEN}, smtp)
    yield server
    server.close()


def test_serve_answers_a_whole_sign_up_by_webhook(site: Site, api: TelegramAPI) -> None:
    (hooked,) = api.sent("setWebhook")
    assert hooked.params["url"] == f"{site.base}/telegram/webhook" and len(hooked.params["secret_token"]) >= 32
    assert api.sent("getUpdates") == []  # no polling
    sign_up(api, CHAT)
    (stored,) = subscribers(site.env)
    assert stored["channels"] == [f"telegram://{CHAT}"] and stored["score"] == 510
    assert {status for _, status in api.pushed} == {200}  # each update answered once it was handled
    assert "CRS score: 510" in api.reply(CHAT, "/status")


def test_the_webhook_takes_only_telegrams_posts(site: Site, api: TelegramAPI) -> None:
    secret = api.sent("setWebhook")[0].params["secret_token"]
    update = {"update_id": 900, "message": {"message_id": 1, "date": 0, "chat": {"id": CHAT, "type": "private"},
                                            "from": {"id": CHAT, "is_bot": False, "first_name": "Priya"}, "text": "/help",
                                            "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}  # fmt: skip
    url = f"{site.base}/telegram/webhook"
    assert site.http.post(url, json=update, timeout=30).status_code == 403  # no secret
    assert site.http.post(url, json=update, headers={HEADER: secret[:-1] + "x"}, timeout=30).status_code == 403
    assert site.http.get(url, headers={HEADER: secret}, timeout=30).status_code == 405  # POST only
    assert site.http.post(url, data="not json", headers={HEADER: secret}, timeout=30).status_code == 400
    assert api.texts(CHAT) == []  # none of them reached the bot
    answer = site.http.post(
        url, json=update, headers={HEADER: secret}, timeout=30
    )  # Telegram's: handled before the answer
    assert answer.status_code == 200 and "/score N" in api.texts(CHAT)[-1]


def test_the_bot_command_and_a_webhook_without_public_url_are_refused(env: dict, api: TelegramAPI) -> None:
    with open(env["CRSWATCH_CONFIG"], "a") as config:
        config.write(f'\n[telegram]\napi_url = "{api.url}"\nchats = "serve"\n')
    tg_env = {**env, "CRSWATCH_TELEGRAM_TOKEN": TOKEN}
    result = cli("bot", env=tg_env)
    assert result.returncode == 2 and result.stderr.strip() == (
        'crswatch: error: [telegram] chats = "serve": the chats are answered by crswatch serve (webhook), not by crswatch bot'
    )
    result = cli("serve", "--port", "1", env={**tg_env, "CRSWATCH_CONTACT": "help@example.org"})
    assert result.returncode == 2 and "needs [alerts] public_url" in result.stderr.strip().splitlines()[-1]
    assert api.sent("setWebhook") == []
