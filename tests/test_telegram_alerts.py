"""Alerts to Telegram subscribers go through the outbox like every other channel, sent by the real
`crswatch check` to the local Bot API stand-in: #392 once, a blocked chat deactivated (never
retried, never dead), a 429 waited out; and the pacer's own arithmetic with an injected clock."""

from __future__ import annotations

import bisect
import json
import random
import threading
from collections.abc import Callable

import pytest
from helpers import cli, outbox, snapshot, store_of
from telegram_api import TOKEN, TelegramAPI

from crswatch.notifier import pacing, telegram
from crswatch.notifier.services import Services
from crswatch.subscribers import manage
from crswatch.subscribers.manage import Defaults

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
    assert (
        by_chat["telegram://7002"]["status"] == "cancelled"
        and "blocked the bot" in by_chat["telegram://7002"]["last_error"]
    )
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


def test_a_telegram_alert_without_a_configured_bot_waits_in_the_outbox(
    tg_env: dict[str, str], api: TelegramAPI
) -> None:
    subscribe(tg_env, 7005)
    check_392({k: v for k, v in tg_env.items() if k != "CRSWATCH_TELEGRAM_TOKEN"})
    (delivery,) = outbox(tg_env)
    assert delivery["status"] == "failed" and "no Telegram bot is configured" in delivery["last_error"]
    assert api.sent() == []


def test_a_fan_out_of_several_chunks_takes_the_next_one_ahead_and_sends_each_alert_once(
        tg_env: dict[str, str], api: TelegramAPI, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The next outbox chunk is claimed and rendered while one is being sent (so a rate-limited
    route never stands still between chunks), and still every alert goes once."""
    from crswatch.notifier import dispatch as dispatching
    from crswatch.notifier import outbox as outboxes
    from crswatch.notifier.policy import Policy

    for chat in range(9000, 9120):
        subscribe(tg_env, chat)
    check_392(
        {**{k: v for k, v in tg_env.items() if k != "CRSWATCH_TELEGRAM_TOKEN"}, "CRSWATCH_RETRY_BASE": "0"}
    )  # queued, due again
    monkeypatch.setattr(outboxes, "CHUNK", 40)
    taken: list[str] = []
    take = dispatching.take
    monkeypatch.setattr(dispatching, "take", lambda *args: taken.append(threading.current_thread().name) or take(*args))
    store = store_of(tg_env)
    services = Services(telegram.Settings(TOKEN, api.url, rate=30.0), store)
    try:
        # a chunk of 40 at 30 a second takes over a second: the next is taken `lead` (a sixth of the lease: 1 s) before its end
        report = dispatching.dispatch(store, Policy(retry_base=0, lease=6.0), concurrency=8, services=services)
    finally:
        store.dispose()
    assert report.sent == 120 and sorted(c.params["chat_id"] for c in api.sent()) == list(range(9000, 9120))
    assert "ahead" in taken
    assert {d["status"] for d in outbox(tg_env)} == {"sent"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def simulate(pacer: pacing.Pacer, clock: Clock, count: int, latency: Callable[[int], float] = lambda i: 0.005,
             late: Callable[[int], float] = lambda i: 0.0, first: int = 0) -> list[tuple[float, float]]:  # fmt: skip
    """Send `count` messages (to chats first, first + 1, …) one after the other as the sender does:
    each starts when the pacer allows (`late(i)` seconds after that: a slow wake-up) and is answered
    `latency(i)` seconds after it started.  (start, answer) of each."""
    answers: list[tuple[float, int, pacing.Ticket]] = []  # due answers, in time order
    sent: list[tuple[float, float]] = []
    for i in range(first, first + count):
        while (due := pacer.due(str(i))) > clock.now and answers and answers[0][0] <= due:  # an answer comes first
            clock.now, _, ticket = answers.pop(0)
            pacer.answered(ticket)
        clock.now = max(clock.now, due) + late(i)
        while answers and answers[0][0] <= clock.now:
            pacer.answered(answers.pop(0)[2])
        bisect.insort(answers, (clock.now + latency(i), i, pacer.started(str(i))))
        sent.append((clock.now, clock.now + latency(i)))
    for at, _, ticket in answers:
        clock.now = max(clock.now, at)
        pacer.answered(ticket)
    return sent


def test_the_pacer_keeps_the_bot_and_each_chat_within_their_rates() -> None:
    clock = Clock()
    pacer = pacing.Pacer(rate=30, chat_gap=1.0, clock=clock)
    sent = simulate(pacer, clock, 90)
    starts = [start for start, _ in sent]
    assert starts[0] == 100.0 and starts[1] == pytest.approx(100 + 1 / 30)  # evenly spaced at the rate
    assert all(
        b[0] >= a[1] + 1.0 for a, b in zip(sent, sent[30:], strict=False)
    )  # a second after the answer 30 places back
    assert starts[-1] - starts[0] == pytest.approx(
        2 * 1.005 + 29 / 30, abs=0.01
    )  # the rate, and each window's answer delay
    clock.now = starts[-1] + 0.5  # the same chat again: a second after its last message
    assert pacer.due("89") == pytest.approx(starts[-1] + 1.0)
    pacer.hold(5)  # a 429 with retry_after 5
    assert pacer.due("new") == pytest.approx(clock.now + 5)


def test_no_delay_of_the_network_puts_more_than_the_rate_into_a_second_at_telegram() -> None:
    """Each message reaches Telegram at some moment between its start and its answer: whatever
    those moments, whatever the answers' delays (up to 0.3 s) and the sender's late wake-ups,
    no second holds more than 30."""
    rng = random.Random(27)
    clock = Clock()
    pacer = pacing.Pacer(rate=30, chat_gap=1.0, clock=clock)
    sent = simulate(
        pacer,
        clock,
        2000,
        latency=lambda i: rng.choice((0.002, 0.01, 0.3)),
        late=lambda i: rng.choice((0.0, 0.0, 0.02)),
    )
    for reached in (
        [start for start, _ in sent],
        [answer for _, answer in sent],
        [rng.uniform(*pair) for pair in sent],
    ):
        reached.sort()
        assert max(bisect.bisect_left(reached, at + 1.0) - i for i, at in enumerate(reached)) <= 30


def test_late_wake_ups_do_not_add_up() -> None:
    """Each message starts 10 ms after the pacer allowed it (a busy machine): the delays are made
    up by the next messages instead of pushing every later one back (only the one message a
    window that waits for an answer passes its delay on: 12 ms a second here)."""
    clock = Clock()
    pacer = pacing.Pacer(rate=30, chat_gap=1.0, clock=clock)
    starts = [start for start, _ in simulate(pacer, clock, 600, latency=lambda i: 0.002, late=lambda i: 0.010)]
    assert starts[-1] - starts[0] < 1.015 * 599 / 30  # (a fixed 1/rate after each late start: +30%)


def test_a_rate_below_one_a_second_spaces_every_message() -> None:
    clock = Clock()
    pacer = pacing.Pacer(rate=0.5, chat_gap=1.0, clock=clock)
    sent = simulate(pacer, clock, 4, latency=lambda i: 0.1)
    assert all(b[0] == pytest.approx(a[1] + 2.0) for a, b in zip(sent, sent[1:], strict=False))


def test_the_pacer_is_kept_from_one_outbox_chunk_to_the_next_by_its_owner() -> None:
    """The app's services keep the bot's one pacer for the process; another app's (a test's) has its own."""
    services = Services(telegram.Settings("1:a", "http://x", rate=30.0))
    assert services.telegram_pacer() is services.telegram_pacer()
    assert services.telegram_pacer() is not Services(telegram.Settings("1:a", "http://x", rate=30.0)).telegram_pacer()


def test_a_rejected_token_is_never_stored_or_shown(tg_env: dict[str, str], api: TelegramAPI) -> None:
    """python-telegram-bot's InvalidToken quotes the token: the error is masked where it is made,
    so the outbox never keeps it (and `deliveries` never shows it)."""
    from sqlalchemy import text

    subscribe(tg_env, 7006)
    wrong = "123456789:WrongTokenNeverShown42"
    env = {**tg_env, "CRSWATCH_TELEGRAM_TOKEN": wrong}
    check_392(env)
    store = store_of(env)
    try:
        with store.read() as conn:
            (kept,) = conn.execute(text("SELECT last_error FROM deliveries")).scalars().all()
    finally:
        store.dispose()
    assert kept == "Telegram: The token `****` was rejected by the server."
    assert "WrongTokenNeverShown42" not in cli("deliveries", "--format", "json", env=env, check=True).stdout
