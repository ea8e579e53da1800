"""The bot inside `crswatch run` (`[telegram] chats = "run"`): the real run process answers chats
on its own event loop, even while a cycle waits for the feed, and stops with it: SIGTERM lets the
cycle finish (exit 0), a second Ctrl-C abandons it (130), as without the bot (tests/test_signals.py)."""

from __future__ import annotations

import signal
import subprocess

from helpers import cli
from telegram_api import TOKEN, TelegramAPI
from test_signals import HANG, HeldFeed, held, start, until  # noqa: F401 - `held` is a fixture

CHAT = 5550021


def bot_env(env: dict[str, str], api: TelegramAPI) -> dict[str, str]:
    with open(env["CRSWATCH_CONFIG"], "a") as config:
        config.write(f'\n[telegram]\napi_url = "{api.url}"\nchats = "run"\n')
    return {**env, "CRSWATCH_TELEGRAM_TOKEN": TOKEN}


def running(env: dict[str, str], held: HeldFeed) -> subprocess.Popen[str]:
    process = start(env, "run", "--every", "1h", "--window", "off", "--jitter", "0", "--source", held.feed.url)
    assert held.arrived.wait(HANG), "the first cycle reached the feed"
    return process


def ended(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return process.communicate(timeout=HANG)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_run_answers_chats_during_a_cycle_and_sigterm_ends_both_cleanly(
    held: HeldFeed, env: dict, api: TelegramAPI
) -> None:
    process = running(bot_env(env, api), held)
    try:
        assert "/score N" in api.reply(CHAT, "/help")  # while the cycle waits for the feed
        process.send_signal(signal.SIGTERM)
        until(process, "stopping; waiting for the cycle in progress")
        held.release()
    finally:
        out, err = ended(process)
    assert process.returncode == 0, err
    assert "393 new" in out and "stopped after 1 cycle(s)" in out and "Traceback" not in err, out + err
    assert "/score N" in api.texts(CHAT)[-1] and len(api.texts(CHAT)) == 1
    assert TOKEN.split(":")[1] not in out + err


def test_a_second_ctrl_c_abandons_the_cycle_with_the_bot_running(held: HeldFeed, env: dict, api: TelegramAPI) -> None:
    process = running(bot_env(env, api), held)
    try:
        assert "/score N" in api.reply(CHAT, "/help")
        process.send_signal(signal.SIGINT)
        until(process, "stopping; waiting for the cycle in progress")
        process.send_signal(signal.SIGINT)
    finally:
        out, err = ended(process)
    assert process.returncode == 130, err
    assert (
        err
        == "crswatch: error: run stopped by Ctrl-C (SIGINT) during a cycle; nothing is lost: the next check finishes the work\n"
    ), err


def test_run_with_a_rejected_token_says_so_in_one_line(env: dict, api: TelegramAPI) -> None:
    result = cli(
        "run", "--max-cycles", "1", env={**bot_env(env, api), "CRSWATCH_TELEGRAM_TOKEN": "42:wrong-token-wrong-token"}
    )
    assert (
        result.returncode == 2
        and result.stderr.strip().splitlines()[-1]
        == "crswatch: error: the Telegram bot token was rejected by the Bot API server"
    )
    assert "wrong-token" not in result.stderr + result.stdout
