"""Alerts to Telegram subscribers go through the outbox like every other channel, sent by the real
`crswatch check` to the local Bot API stand-in: #392 once, a blocked chat deactivated (never
retried, never dead), a 429 waited out; and the pacer's own arithmetic with an injected clock."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from helpers import cli, outbox, snapshot, store_of
from notifier import pacing, telegram
from subscribers import manage
from subscribers.manage import Defaults
from telegram_api import TOKEN, TelegramAPI

DAY1, DAY2 = snapshot("2026-01-20"), snapshot("2026-01-21")  # #392 (CEC, cut-off 509) appears on day 2


@pytest.fixture
def tg_env(env: dict[str, str], api: TelegramAPI) -> dict[str, str]:
    with open(env["CRSWATCH_CONFIG"], "a") as config:
        config.write(f'\n[telegram]\napi_url = "{api.url}"\n')
    cli("check", env={**env, "CRSWATCH_SOURCE": DAY1.as_uri()}, check=True)  # the history before #392
    return {**env, "CRSWATCH_TELEGRAM_TOKEN": TOKEN}


def subscribe(env: dict[str, str], chat: int, score: int = 510) -> str:
    """A Telegram subscriber as the bot makes one (the channel names the chat, never the token)."""
    store = store_of(env)
    try:
        with store.write() as conn:
            subscriber, _ = manage.subscribe(conn, score=score, channels=[telegram.channel(chat)], check=telegram.check,
                                             defaults=Defaults(10, ("cec",)))  # fmt: skip
        return subscriber.id
    finally:
        store.dispose()


def check_392(env: dict[str, str]) -> str:
    result = cli("check", env={**env, "CRSWATCH_SOURCE": DAY2.as_uri()}, check=True)
    return result.stdout


def test_an_alert_for_392_reaches_a_telegram_subscriber_once(tg_env: dict[str, str], api: TelegramAPI) -> None:
    subscribe(tg_env, 7001)
    check_392(tg_env)
    (sent,) = api.sent()
    assert sent.params["chat_id"] == 7001 and sent.params["text"].startswith("Invited: #392 CEC, cut-off 509")
    assert "Your score: 510" in sent.params["text"]
    check_392(tg_env)  # again: nothing new
    assert len(api.sent()) == 1
    (delivery,) = outbox(tg_env)
    assert delivery["status"] == "sent" and delivery["channel"] == "telegram://7001"


def test_a_chat_that_blocked_the_bot_deactivates_its_subscriber(tg_env: dict[str, str], api: TelegramAPI) -> None:
    blocked, fine = subscribe(tg_env, 7002), subscribe(tg_env, 7003)
    api.blocked.add(7002)
    assert "0 failed" in check_392(tg_env)
    listed = {s["id"]: s for s in json.loads(cli("subscribers", "--format", "json", env=tg_env, check=True).stdout)}
    assert listed[blocked]["status"] == "blocked" and listed[fine]["status"] == "active"  # visible in `subscribers`
    by_chat = {d["channel"]: d for d in outbox(tg_env)}
    assert by_chat["telegram://7002"]["status"] == "cancelled" and "blocked the bot" in by_chat["telegram://7002"]["last_error"]
    assert by_chat["telegram://7003"]["status"] == "sent"
    tries = len([c for c in api.calls if c.params.get("chat_id") == 7002])
    cli("check", env={**tg_env, "CRSWATCH_SOURCE": DAY2.as_uri(), "CRSWATCH_RETRY_BASE": "0"}, check=True)
    assert len([c for c in api.calls if c.params.get("chat_id") == 7002]) == tries  # never retried, never dead


def test_a_429_is_waited_out_for_its_retry_after(tg_env: dict[str, str], api: TelegramAPI) -> None:
    subscribe(tg_env, 7004)
    api.throttle = [1]  # the first sendMessage: 429, retry after 1 s
    check_392(tg_env)
    (refused,) = api.sent("429")
    (sent,) = api.sent()
    assert sent.at - refused.at >= 1.0  # retried only after retry_after
    assert outbox(tg_env)[0]["status"] == "sent"


def test_a_telegram_alert_without_a_configured_bot_waits_in_the_outbox(tg_env: dict[str, str], api: TelegramAPI) -> None:
    subscribe(tg_env, 7005)
    check_392({k: v for k, v in tg_env.items() if k != "CRSWATCH_TELEGRAM_TOKEN"})
    (delivery,) = outbox(tg_env)
    assert delivery["status"] == "failed" and "no Telegram bot is configured" in delivery["last_error"]
    assert api.sent() == []


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_pacer_keeps_the_bot_and_each_chat_within_their_rates() -> None:
    clock = Clock()
    pacer = pacing.Pacer(rate=30, chat_gap=1.0, clock=clock)
    starts = [start(pacer, clock, str(chat)) for chat in range(90)]
    assert starts[0] == 100.0 and starts[30] == pytest.approx(100 + pacing.MARGIN)  # 30, then the window is full
    assert all(later - earlier >= 1.0 for earlier, later in zip(starts, starts[30:], strict=False))  # never 31 in one second
    assert starts[-1] - starts[0] == pytest.approx(89 * pacing.MARGIN / 30, abs=0.05)  # on average, the rate
    clock.now = starts[-1] + 0.9  # the same chat again: a second after its last message, and after the others
    assert pacer.due("89") == pytest.approx(starts[-1] + 1.0)
    pacer.hold(5)  # a 429 with retry_after 5
    assert pacer.due("new") == pytest.approx(clock.now + 5)


def test_late_wake_ups_do_not_add_up() -> None:
    """Each message starts 10 ms after the pacer allowed it (a busy machine): the delays are made
    up by the next messages instead of pushing every later one back, never above the rate."""
    clock = Clock()
    pacer = pacing.Pacer(rate=30, chat_gap=1.0, clock=clock)
    starts = []
    for chat in range(600):
        clock.now = max(clock.now, pacer.due(str(chat))) + 0.010
        pacer.started(str(chat))
        starts.append(clock.now)
    assert all(later - earlier >= 1.0 for earlier, later in zip(starts, starts[30:], strict=False))  # never 31 in one second
    assert starts[-1] - starts[0] < 1.01 * 599 * pacing.MARGIN / 30  # a fixed 1/rate after each late start: +30%


def test_a_rate_below_one_a_second_spaces_every_message() -> None:
    clock = Clock()
    pacer = pacing.Pacer(rate=0.5, chat_gap=1.0, clock=clock)
    starts = [start(pacer, clock, str(chat)) for chat in range(4)]
    assert all(b - a == pytest.approx(2 * pacing.MARGIN) for a, b in zip(starts, starts[1:], strict=False))


def start(pacer: pacing.Pacer, clock: Clock, chat: str) -> float:
    """Start a message to `chat` as soon as the pacer allows (the clock jumps there)."""
    clock.now = max(clock.now, pacer.due(chat))
    pacer.started(chat)
    return clock.now
