"""A sign-up on the web page for Telegram, bound to the chat that presses START on its deep link:
`crswatch serve` and `crswatch bot`, both real, against the local Bot API stand-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from helpers import FAST_CONFIG, store_of
from pages import Site
from servers import SMTPSink
from sqlalchemy import select
from telegram_api import TOKEN, TelegramAPI
from test_telegram_bot import Bot, subscribers

from crswatch.subscribers import deeplink
from crswatch.subscribers.optin import SignUp
from crswatch.subscribers.tables import telegram_links

DEEP_LINK = re.compile(r"https://t\.me/crswatch_test_bot\?start=([A-Za-z0-9_-]{16,64})")


@pytest.fixture
def site(env: dict, smtp: SMTPSink, api: TelegramAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setattr(
        "pages.FAST_CONFIG", FAST_CONFIG + f'\n[telegram]\napi_url = "{api.url}"\nusername = "crswatch_test_bot"\n'
    )
    server = Site({**env, "CRSWATCH_TELEGRAM_TOKEN": TOKEN}, smtp)
    yield server
    server.close()


def stored_links(env: dict) -> list[dict]:
    store = store_of(env)
    try:
        with store.read() as conn:
            return [dict(row) for row in conn.execute(select(telegram_links)).mappings()]
    finally:
        store.dispose()


def test_a_web_sign_up_is_bound_to_the_chat_that_presses_start_once(site: Site, env: dict, api: TelegramAPI) -> None:
    form = site.get("/")
    assert 'name="telegram"' in form.text
    answer = site.post(
        "/",
        {"telegram": "on", "score": "497", "within": "15", "streams": ["cec", "french"], "language": "fr"},
        csrf_from="/",
    )
    assert answer.status_code == 200, answer.text
    (token,) = DEEP_LINK.findall(answer.text)
    assert "<svg" in answer.text  # the QR code of the same link
    assert subscribers(site.env) == []  # nothing active before a chat presses START
    (row,) = stored_links(env)
    assert token not in str(row) and row["used"] is None  # stored hashed
    site.get("/")
    assert stored_links(env) == [row]  # a GET changes nothing
    bot = Bot(site.env, api)
    try:
        assert "Vous êtes abonné" in api.reply(8001, f"/start {token}")  # in the language chosen on the form
        (stored,) = subscribers(site.env)
        assert (stored["score"], stored["within"], stored["streams"], stored["language"]) == (
            497,
            15,
            ["cec", "french"],
            "fr",
        )
        assert stored["channels"] == ["telegram://8001"]
        assert "already used" in api.reply(8002, f"/start {token}")  # a second chat pressing the same link is refused
        assert "already used" in api.reply(8002, f"/start {token}")
        assert [s["channels"] for s in subscribers(site.env)] == [["telegram://8001"]]
        expired = _link(env, made=datetime.now(UTC) - timedelta(hours=49))  # confirm_hours: 48
        assert "expired" in api.reply(8003, f"/start {expired}")
        assert "does not work" in api.reply(8003, "/start not-a-token")
        assert len(subscribers(site.env)) == 1
    finally:
        bot.stop()


def test_the_form_without_e_mail_needs_telegram(site: Site) -> None:
    answer = site.post("/", {"score": "497", "streams": ["cec"]}, csrf_from="/")
    assert answer.status_code == 400 and "e-mail" in answer.text
    answer = site.post("/", {"telegram": "on", "score": "2000", "streams": ["cec"]}, csrf_from="/")
    assert answer.status_code == 400 and "0 to 1200" in answer.text and not DEEP_LINK.search(answer.text)


def _link(env: dict, made: datetime) -> str:
    store = store_of(env)
    try:
        with store.write() as conn:
            return deeplink.start(
                conn, SignUp("telegram://0", 480, None, ("cec",), None), ttl=timedelta(hours=48), now=made
            )
    finally:
        store.dispose()
