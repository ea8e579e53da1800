"""Pool alerts and digests end to end: the real `crswatch check` replays feed snapshots, a real
local SMTP server receives what is sent.  A digest period ends at a fixed hour, so the test plans
it with a clock set just after the end of the period the checks ran in (the same function `check`
calls at the start of every cycle), then a real check sends it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, outbox, snapshot, store_of
from servers import SMTPSink, body_text


@pytest.fixture(params=["sqlite", "postgresql"])
def on_engine(request: pytest.FixtureRequest, env: dict) -> dict:
    """The CLI environment on each store engine: the default SQLite file, or a real PostgreSQL."""
    if request.param == "sqlite":
        return env
    return {**env, "CRSWATCH_STORE": request.getfixturevalue("postgres_server").new_database()}


def _check(env: dict, day: str) -> str:
    return cli("check", "--source", snapshot(day).as_uri(), env=env, check=True).stdout


def _subscribe(env: dict, *args: str) -> str:
    return cli("subscribe", *args, env=env, check=True).stdout.strip()


def _weekly_apart_from_the_next_daily(env: dict) -> None:
    """Weekly digests two days after the next daily one (whatever day the test runs): planning
    the daily period must not also plan a weekly one ending at the same moment, as it would on
    the weekly day (a Friday's run, with digests on Saturdays, planned both at once)."""
    from crswatch.config import Alerts
    from crswatch.draws.record import OTTAWA
    from crswatch.notifier.periodic import WEEKDAYS

    config = Path(env["CRSWATCH_CONFIG"])
    now = datetime.now(OTTAWA)
    next_daily = now.date() + timedelta(days=1 if now.hour >= Alerts.digest_hour else 0)  # (FAST_CONFIG keeps it)
    weekday = WEEKDAYS[(next_daily.weekday() + 2) % 7]  # the day after may be the next daily's if 08:00 passes
    config.write_text(config.read_text().replace("[alerts]\n", f'[alerts]\ndigest_weekday = "{weekday}"\n'))


def _plan_after(env: dict, cadence: str, since: datetime, planned: list | None = None) -> int:
    """Plan the digests of the period that holds `since`, with a clock one minute after it ends
    (rehearsed only, when a `planned` list is given: `check --dry-run`)."""
    from crswatch.config_load import load_config
    from crswatch.notifier.periodic import due_periods
    from crswatch.periodic import plan_digests
    from crswatch.store.draws import Database

    config = load_config(env["CRSWATCH_CONFIG"])
    end = since
    while True:  # the first period end after `since`
        end += timedelta(hours=1)
        (period,) = due_periods(cadence, end, config.alerts.digest_hour, config.alerts.digest_weekday, None)
        if period.end > since:
            break
    store = store_of(env)
    try:
        when = period.end + timedelta(minutes=1)
        return plan_digests(config, Database(config.db), store, when, dry_run=planned is not None, planned=planned)
    finally:
        store.dispose()


def test_one_pool_alert_per_distribution_with_the_feeds_figures(on_engine: dict, smtp: SMTPSink) -> None:
    env = on_engine
    _check(env, "2025-07-08.crlf")
    _subscribe(env, "--score", "485", "--stream", "cec", "--pool-alerts", "--notify", smtp.url("pool@example.com"))
    _subscribe(
        env,
        "--score",
        "470",
        "--stream",
        "cec",
        "--pool-alerts",
        "--language",
        "fr",
        "--notify",
        smtp.url("bassin@example.com"),
    )
    _subscribe(env, "--score", "485", "--stream", "cec", "--notify", smtp.url("nopool@example.com"))
    _check(env, "2025-12-17")  # 33 new draws, one new distribution (December 15, 2025) since July 6, 2025
    _check(env, "2026-01-20")  # #389, #390 (January 4) and #391 (January 19): one alert, for the newest
    _check(env, "2026-01-21")  # #392 shares January 19's distribution: nothing
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)  # a rerun: nothing either
    smtp.wait_for(4)
    got = smtp.to("pool@example.com")
    assert [m["Subject"] for m in got] == ["Pool update (December 15, 2025): 46,646 at or above 481–490",
                                          "Pool update (January 19, 2026): 43,238 at or above 481–490"]  # fmt: skip
    # hand-checked in test_periodic: 390+21,792+12,315+12,149 = 46,646; 358+22,591+13,342+13,830 = 50,121 on July 6
    first, second = (body_text(m) for m in got)
    assert "46,646 candidates are at or above 481–490 (the band of your score 485), as of December 15, 2025." in first
    assert "That is −3,475 since July 6, 2025." in first and "about 40,600" in first
    assert "43,238 candidates are at or above 481–490" in second and "That is −3,408 since December 15, 2025." in second
    assert "Your approximate rank: about 36,800." in second
    assert "The bands and counts are IRCC's" in second and "the rank is only an estimate" in second
    (french, _) = smtp.to("bassin@example.com")
    # 470 is in 461-470: 390 + 21,792 + 12,315 + 12,149 + 14,859 + 14,535 = 76,040 (French numbers: a no-break space)
    assert french["Subject"].replace("\xa0", " ") == "Bassin au 15 décembre 2025 : 76 040 à 461–470 ou plus"
    assert "les tranches et les nombres sont ceux d'IRCC".lower() in body_text(french).lower()
    assert smtp.to("nopool@example.com") == []
    pool = [d for d in outbox(env) if d["kind"] == "pool"]
    assert len(pool) == 4 and {d["status"] for d in pool} == {"sent"}


def test_daily_and_weekly_digests_english_and_french_and_an_invitation_at_once(on_engine: dict, smtp: SMTPSink) -> None:
    env = on_engine
    _weekly_apart_from_the_next_daily(env)
    _check(env, "2025-12-17")
    ids = {
        "daily": _subscribe(env, "--score", "505", "--stream", "cec", "--cadence", "daily", "--notify", smtp.url("daily@example.com")),
        "hebdo": _subscribe(env, "--score", "505", "--stream", "cec", "--cadence", "weekly", "--language", "fr",
                            "--notify", smtp.url("hebdo@example.com")),
        "weekly510": _subscribe(env, "--score", "510", "--stream", "cec", "--cadence", "weekly", "--notify", smtp.url("w510@example.com")),
        "quiet": _subscribe(env, "--score", "460", "--stream", "french", "--cadence", "weekly", "--notify", smtp.url("quiet@example.com")),
    }  # fmt: skip
    began = datetime.now(UTC)
    _check(env, "2026-01-20")  # #390 CEC 511: close for 505, but on a digest: not sent now
    assert smtp.messages == []
    result = _check(env, "2026-01-21")  # #392 CEC 509: invited for 510, on a weekly digest: sent at once all the same
    assert "alerts: 1 sent" in result
    smtp.wait_for(1)
    (invited,) = smtp.to("w510@example.com")
    assert invited["Subject"] == "Invited: #392 CEC, cut-off 509"
    assert smtp.to("daily@example.com") == [] and smtp.to("hebdo@example.com") == []

    assert _plan_after(env, "daily", began) == 1  # the daily subscriber (the others are weekly)
    assert _plan_after(env, "weekly", began) == 3  # hebdo, weekly510 and quiet (a new distribution is news to everyone)
    assert _plan_after(env, "weekly", began) == 0  # never twice
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)  # feed unchanged: sends what is due
    smtp.wait_for(5)
    (daily,) = smtp.to("daily@example.com")
    assert daily["Subject"].startswith("Your daily digest, ") and daily["Subject"].endswith(": 2 draws for you")
    text = body_text(daily)
    assert (
        "#390 January 7, 2026, Canadian Experience Class: cut-off 511, 8,000 invitations: close: 6 points short" in text
    )
    assert (
        "#392 January 21, 2026, Canadian Experience Class: cut-off 509, 6,000 invitations: close: 4 points short"
        in text
    )
    assert "(and 2 draws in programs you did not choose)" in text  # #389 and #391, PNP
    assert "17,018 candidates are at or above 501–600 (the band of your score 505), as of January 19, 2026." in text
    assert "That is −5,164 since December 15, 2025." in text  # 677+16,341 against 390+21,792
    assert "Canadian Experience Class: cut-off about" in text and "Next draws (forecast" in text
    assert f"crswatch unsubscribe {ids['daily']}" in text
    (hebdo,) = smtp.to("hebdo@example.com")
    assert hebdo["Subject"].startswith("Votre résumé hebdomadaire, ") and hebdo["Subject"].endswith(
        " : 2 rondes pour vous"
    )
    french = body_text(hebdo)
    assert (
        "Catégorie de l'expérience canadienne : note minimale 509, 6 000 invitations : proche : 4 points de moins"
        in french.replace("\xa0", " ")
    )
    assert "Le bassin" in french and "Votre rang approximatif" in french
    (weekly,) = smtp.to("w510@example.com")[1:]
    assert "cut-off 509, 6,000 invitations: invited (the alert went out at once)" in body_text(weekly)
    (quiet,) = smtp.to("quiet@example.com")
    assert "No draw in your programs." in body_text(
        quiet
    ) and "(and 4 draws in programs you did not choose)" in body_text(quiet)
    digests = [d for d in outbox(env) if d["kind"] == "digest"]
    assert len(digests) == 4 and {d["status"] for d in digests} == {"sent"}


def test_dry_run_rehearses_pool_alerts_and_digests_and_keeps_nothing(env: dict, smtp: SMTPSink) -> None:
    """`check --dry-run` lists the pool alerts and the digests that are due as it lists draw
    alerts, and stores none of them: the real run after it queues and sends each once."""
    from crswatch.cli.check import rehearsed

    _check(env, "2025-07-08.crlf")
    pool = _subscribe(
        env, "--score", "485", "--stream", "cec", "--pool-alerts", "--notify", smtp.url("pool@example.com")
    )
    weekly = _subscribe(
        env, "--score", "505", "--stream", "cec", "--cadence", "weekly", "--notify", smtp.url("w@example.com")
    )
    began = datetime.now(UTC)
    rehearsal = cli("check", "--dry-run", "--source", snapshot("2025-12-17").as_uri(), env=env, check=True).stdout
    assert f"would alert {pool} via mailto://" in rehearsal
    assert ": pool distribution of 2025-12-15: about 46,646 at or above 481-490" in rehearsal
    assert "[dry run: nothing stored or sent]" in rehearsal
    assert outbox(env) == [] and smtp.messages == []
    _check(env, "2025-12-17")  # the real run: the pool alert, once
    smtp.wait_for(1)
    assert [m["Subject"] for m in smtp.to("pool@example.com")] == [
        "Pool update (December 15, 2025): 46,646 at or above 481–490"
    ]
    planned: list = []
    assert _plan_after(env, "weekly", began, planned) == 1
    (digest,) = planned
    assert digest.subscriber == weekly and rehearsed(digest).startswith("weekly digest ending ")
    assert rehearsed(digest).endswith(": 8 draws")  # the CEC ones of the 33
    assert [d["kind"] for d in outbox(env)] == ["pool"]  # the rehearsal queued nothing
    assert _plan_after(env, "weekly", began) == 1  # the real planning still does


def test_nothing_to_say_nothing_sent(env: dict, smtp: SMTPSink) -> None:
    _check(env, "2026-01-20")
    _subscribe(
        env, "--score", "460", "--stream", "french", "--cadence", "daily", "--notify", smtp.url("quiet@example.com")
    )
    began = datetime.now(UTC)
    _check(env, "2026-01-21")  # one CEC draw, no new distribution: nothing for a French candidate
    assert _plan_after(env, "daily", began) == 0


@pytest.mark.lifecycle
def test_kill_during_digest_sending_loses_and_doubles_nothing(env: dict, tmp_path: Path) -> None:
    """SIGKILL `check` while it sends 600 weekly digests; the rerun sends the rest.  At most the
    messages in flight (the concurrency, 16) can go twice, as for every alert."""
    slow = SMTPSink(delay=0.004).start()
    try:
        _check(env, "2026-01-20")
        rows = ["name,score,within,streams,profile_created,channels,cadence"]
        rows += [f"p{i},505,,cec,,{slow.url(f'p{i}@example.com')},weekly" for i in range(600)]
        (tmp_path / "people.csv").write_text("\n".join(rows) + "\n")
        cli("import", str(tmp_path / "people.csv"), env=env, check=True)
        began = datetime.now(UTC)
        _check(env, "2026-01-21")
        assert slow.messages == []  # close by 4: waits for the digest
        assert _plan_after(env, "weekly", began) == 600
        child = subprocess.Popen([sys.executable, "-m", "crswatch", "check", "--source", snapshot("2026-01-21").as_uri()],
                                 env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 120
        while len(slow.messages) < 150 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait()
        at_kill = len(slow.messages)
        assert 0 < at_kill < 600, "the kill must land mid-send"
        cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
        slow.wait_for(600)
        per_person: dict[Any, int] = {}
        for message in slow.messages:
            per_person[message["X-Envelope-To"]] = per_person.get(message["X-Envelope-To"], 0) + 1
        assert len(per_person) == 600, "no digest lost"
        assert sum(n - 1 for n in per_person.values()) <= 16, "no more doubles than were in flight"
        assert all(m["Subject"].startswith("Your weekly digest") for m in slow.messages)
        assert {d["status"] for d in outbox(env) if d["kind"] == "digest"} == {"sent"}
        assert _plan_after(env, "weekly", began) == 0  # and planning again adds nothing
    finally:
        slow.stop()
