"""`crswatch bot`, the real process, against a local stand-in for Telegram's Bot API
(tests/telegram_api.py): the whole sign-up in the chat, each command, a kill -9 in the middle of a
conversation, and the token never shown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cli, snapshot
from telegram_api import TOKEN, TelegramAPI

CHAT = 5550001


@pytest.fixture
def tg_env(env: dict[str, str], api: TelegramAPI, tmp_path: Path) -> dict[str, str]:
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text() + f'\n[telegram]\napi_url = "{api.url}"\nusername = "crswatch_test_bot"\n')
    return {**env, "CRSWATCH_TELEGRAM_TOKEN": TOKEN}


class Bot:
    """`crswatch bot` in a subprocess, its stderr kept."""

    def __init__(self, env: dict[str, str], api: TelegramAPI, *args: str) -> None:
        self.api = api
        self.log = Path(env["CRSWATCH_DB"]).with_name(f"bot-{len(api.calls)}.log")
        self.process = subprocess.Popen([sys.executable, "-m", "crswatch", *args, "bot", "--poll-timeout", "1"], env={**os.environ, **env},
                                        stdout=subprocess.DEVNULL, stderr=self.log.open("w"))  # fmt: skip
        polls = len(api.sent("getMe"))
        api.wait(lambda: len(api.sent("getMe")) > polls, timeout=60)

    def stop(self, sig: int = signal.SIGTERM) -> str:
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        return self.log.read_text()


@pytest.fixture
def bot(tg_env: dict[str, str], api: TelegramAPI) -> Iterator[Bot]:
    running = Bot(tg_env, api)
    yield running
    if running.process.poll() is None:
        running.stop()


def subscribers(env: dict[str, str]) -> list[dict]:
    return json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)


def sign_up(api: TelegramAPI, chat: int = CHAT) -> None:
    """The whole conversation: score, margin, programs, language, profile time, confirm."""
    assert "CRS score" in api.reply(chat, "/start")
    assert "0 to 200" in api.reply(chat, "510") or "miss" in api.texts(chat)[-1]
    assert "programs" in api.tap(chat, "within:5")
    api.press(chat, "pick:french")
    api.wait(
        lambda: any(
            "Français" in label or "French" in label
            for label, data in api.buttons(chat)
            if data == "pick:french" and label.startswith("✅")
        )
    )
    assert "language" in api.tap(chat, "pick:done")
    assert "Express Entry profile" in api.tap(chat, "lang:en")
    summary = api.reply(chat, "2025-10-01 12:30")
    assert "CRS score: 510" in summary and "within: 5 points" in summary and "2025-10-01 12:30" in summary
    assert "You are subscribed" in api.tap(chat, "confirm:yes")


def test_a_whole_sign_up_in_the_chat_is_stored_only_when_confirmed(
    bot: Bot, api: TelegramAPI, tg_env: dict[str, str]
) -> None:
    assert "CRS score" in api.reply(CHAT, "/start")
    assert "I don't know my score" in [label for label, _ in api.buttons(CHAT)]
    assert "crs-tool" in api.tap(CHAT, "score:unknown")  # the calculator's link, then the question again
    assert "0 to 1200" in api.reply(CHAT, "lots")  # wrong input: one line saying what is wanted
    assert "0 to 1200" in api.reply(CHAT, "1500")
    api.reply(CHAT, "510")
    assert subscribers(tg_env) == []  # nothing stored before the summary is confirmed
    api.tap(CHAT, "within:5")
    api.tap(CHAT, "pick:done")
    assert "profil Entrée express" in api.tap(CHAT, "lang:fr")
    summary = api.tap(CHAT, "profile:skip")
    assert "Score CRS : 510" in summary and "Confirmer" in [
        label for label, _ in api.buttons(CHAT)
    ]  # French from the language step on
    assert subscribers(tg_env) == []
    assert "Vous êtes abonné" in api.tap(CHAT, "confirm:yes")
    (stored,) = subscribers(tg_env)
    assert (stored["score"], stored["within"], stored["streams"], stored["language"]) == (
        510,
        5,
        ["cec", "fsw", "fst"],
        "fr",
    )
    assert stored["channels"] == [f"telegram://{CHAT}"]  # the chat only: no token is stored
    assert TOKEN.split(":")[1] not in json.dumps(stored)
    assert "déjà abonné" in api.reply(CHAT, "/start")  # a second /start changes nothing


def test_the_sign_up_with_a_profile_time_and_other_programs(bot: Bot, api: TelegramAPI, tg_env: dict[str, str]) -> None:
    sign_up(api)
    (stored,) = subscribers(tg_env)
    assert stored["streams"] == ["cec", "fsw", "fst", "french"] and stored["profile_created"].startswith(
        "2025-10-01T12:30"
    )


@pytest.mark.lifecycle
def test_kill_9_mid_conversation_loses_no_confirmed_subscriber(tg_env: dict[str, str], api: TelegramAPI) -> None:
    first = Bot(tg_env, api)
    sign_up(api, 1001)
    api.reply(1002, "/start")
    api.reply(1002, "480")  # a second user half-way through
    first.stop(signal.SIGKILL)
    assert [s["channels"] for s in subscribers(tg_env)] == [["telegram://1001"]]
    second = Bot(tg_env, api)
    try:
        assert "déjà" not in api.reply(1001, "/status") and "CRS score: 510" in api.texts(1001)[-1]
        assert "no longer open" in api.tap(1002, "within:10")  # the unconfirmed sign-up is gone, and said so
        sign_up(api, 1002)
        assert sorted(s["channels"][0] for s in subscribers(tg_env)) == ["telegram://1001", "telegram://1002"]
    finally:
        second.stop()


def test_each_command(bot: Bot, api: TelegramAPI, tg_env: dict[str, str]) -> None:
    cli("check", env={**tg_env, "CRSWATCH_SOURCE": snapshot("2026-01-21").as_uri()}, check=True)
    assert "not subscribed" in api.reply(CHAT, "/status")
    assert "/score N" in api.reply(CHAT, "/help")
    assert "latest draws" in api.reply(CHAT, "/last") and "#392" in api.texts(CHAT)[-1]
    sign_up(api)
    assert "CRS score: 510" in api.reply(CHAT, "/status")
    assert "CRS score: 495" in api.reply(CHAT, "/score 495")
    assert "like /score 480" in api.reply(CHAT, "/score")
    assert "like /score 480" in api.reply(CHAT, "/score high")
    assert "within: 20 points" in api.reply(CHAT, "/within 20")
    assert "like /within 10" in api.reply(CHAT, "/within 500")
    assert "Tap a program" in api.reply(CHAT, "/streams")
    assert "Programs:" in api.tap(CHAT, "set-stream:fsw")
    assert "fsw" not in subscribers(tg_env)[0]["streams"]
    assert "paused" in api.reply(CHAT, "/pause") and subscribers(tg_env)[0]["status"] == "paused"
    assert "paused" in api.reply(CHAT, "/status")
    assert "on" in api.reply(CHAT, "/resume") and subscribers(tg_env)[0]["status"] == "active"
    assert "last cut-offs" in api.reply(CHAT, "/history") and "509" in api.texts(CHAT)[-1]
    assert "next cut-off" in api.reply(CHAT, "/next") or "Too few" in api.texts(CHAT)[-1]
    assert "language" in api.reply(CHAT, "/language")
    assert "français" in api.tap(CHAT, "set-lang:fr") and subscribers(tg_env)[0]["language"] == "fr"
    assert "Score CRS : 495" in api.reply(CHAT, "/status")
    assert "commande" in api.reply(CHAT, "/bogus")
    assert "compris" in api.reply(CHAT, "hello")
    assert "désabonné" in api.reply(CHAT, "/stop")
    assert subscribers(tg_env) == []


def test_the_token_is_never_printed_or_logged(tg_env: dict[str, str], api: TelegramAPI) -> None:
    running = Bot(tg_env, api, "-vv")
    api.reply(CHAT, "/help")
    log = running.stop()
    assert "getUpdates" in log or "HTTP" in log  # the HTTP library did log its requests, masked
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    shown = cli("config", env=tg_env, check=True).stdout
    assert TOKEN.split(":")[1] not in shown and "****" in shown
    status = cli("status", "--format", "json", env=tg_env)
    assert TOKEN.split(":")[1] not in status.stdout + status.stderr


def test_a_rejected_token_or_no_token_is_one_line(tg_env: dict[str, str], api: TelegramAPI) -> None:
    result = cli("bot", env={**tg_env, "CRSWATCH_TELEGRAM_TOKEN": "42:wrong-token-wrong-token"})
    assert (
        result.returncode == 2
        and result.stderr.strip().splitlines()[-1]
        == "crswatch: error: the Telegram bot token was rejected by the Bot API server"
    )
    assert "wrong-token" not in result.stderr
    result = cli("bot", env={k: v for k, v in tg_env.items() if k != "CRSWATCH_TELEGRAM_TOKEN"})
    assert result.returncode == 2 and "no Telegram bot token" in result.stderr
