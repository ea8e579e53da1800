"""Reminders of what is about to change a profile subscriber's score: the days each is due (pure),
then end to end: subscribers made by the real `crswatch subscribe`, the check's own planning step
run on the days the test chooses (an injected clock), the real dispatcher, a real local SMTP
server; each kind once, in English and in French, with the manage and unsubscribe links, and
nothing more when the check is repeated."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from helpers import cli, store_of
from servers import SMTPSink, body_text

from crswatch.draws.crs import parse
from crswatch.draws.crs.profile import dumps
from crswatch.notifier.reminders import due
from crswatch.notifier.services import Services

# Born 1990-03-14: 37 on 2027-03-14 (age points 72 → 66).  In Canada since 2025-01-10: two
# completed years on 2027-01-10 (40 → 53, and transferability with it).  IELTS taken 2025-06-01:
# stops counting on 2027-06-01.  The Express Entry profile, submitted 2026-05-01, expires on 2027-05-01.
PROFILE = """\
date_of_birth = 1990-03-14
education = "bachelors_or_three_year"
canadian_experience = [{ from = 2025-01-10 }]
first_language = { test = "ielts", test_date = 2025-06-01, reading = 8.0, writing = 7.5, listening = 8.5, speaking = 7.5 }
profile_created = 2026-05-01T12:00:00Z
"""
CREATED = datetime(2026, 5, 1, 12, tzinfo=UTC)
SINCE = date(2026, 12, 1)


def _stored() -> str:
    import tomllib

    return dumps(parse(tomllib.loads(PROFILE)))


def _keys(day: date) -> list[str]:
    return sorted(r.key for r in due(_stored(), CREATED, day, SINCE))


@pytest.mark.parametrize(("day", "keys"), [
    (date(2027, 1, 9), []),
    (date(2027, 1, 10), ["experience/2027-01-10"]),  # the day the second year is complete
    (date(2027, 1, 16), ["experience/2027-01-10"]),  # made up within a week of missed checks
    (date(2027, 1, 17), []),
    (date(2027, 2, 11), []),
    (date(2027, 2, 12), ["birthday/2027-03-14"]),  # 30 days before
    (date(2027, 3, 13), ["birthday/2027-03-14"]),
    (date(2027, 3, 31), []),
    (date(2027, 4, 1), ["expiry/2027-05-01/30"]),
    (date(2027, 4, 2), ["expiry/2027-05-01/30", "language/first_language/2027-06-01/60"]),
    (date(2027, 4, 24), ["expiry/2027-05-01/7", "language/first_language/2027-06-01/60"]),
    (date(2027, 5, 17), ["language/first_language/2027-06-01/60"]),
    (date(2027, 5, 18), ["language/first_language/2027-06-01/14"]),
    (date(2027, 5, 31), ["language/first_language/2027-06-01/14"]),
    (date(2027, 6, 1), []),
])  # fmt: skip
def test_the_days_each_reminder_is_due(day: date, keys: list[str]) -> None:
    assert _keys(day) == keys


def test_what_each_reminder_says_in_numbers() -> None:
    (birthday,) = due(_stored(), None, date(2027, 2, 12), SINCE)
    assert (birthday.on, birthday.before - birthday.after) == (date(2027, 3, 14), 6)  # 72 → 66 without a spouse
    (year,) = due(_stored(), None, date(2027, 1, 10), SINCE)
    assert year.after > year.before
    (test,) = due(_stored(), None, date(2027, 5, 18), SINCE)
    assert test.after < test.before and test.days == 14
    # a birthday that adds points (17 → 18) is no reminder; nor a year of work before subscribing
    assert due(dumps(parse({"date_of_birth": "2009-02-01"})), None, date(2027, 1, 5), SINCE) == []
    assert due(_stored(), None, date(2027, 1, 10), date(2027, 1, 11)) == []


DAYS = [  # (the day the check runs, what each subscriber receives that day)
    (datetime(2027, 1, 10, 15, tzinfo=UTC), "experience"),
    (datetime(2027, 2, 12, 15, tzinfo=UTC), "birthday"),
    (datetime(2027, 4, 1, 15, tzinfo=UTC), "expiry 30"),
    (datetime(2027, 4, 2, 15, tzinfo=UTC), "language 60"),
    (datetime(2027, 4, 24, 15, tzinfo=UTC), "expiry 7"),
    (datetime(2027, 5, 18, 15, tzinfo=UTC), "language 14"),
]
SUBJECTS = {
    "en": {"experience": "Your CRS rises today: ", "birthday": "Reminder: your CRS drops on March 14, 2027",
           "expiry 30": "Reminder: your Express Entry profile expires on May 1, 2027", "expiry 7": "Reminder: your Express Entry profile expires on May 1, 2027",
           "language 60": "Reminder: your language test stops counting on June 1, 2027",
           "language 14": "Reminder: your language test stops counting on June 1, 2027"},
    "fr": {"experience": "Votre note SCG augmente aujourd'hui : ", "birthday": "Rappel : votre note SCG baisse le 14 mars 2027",
           "expiry 30": "Rappel : votre profil Entrée express expire le 1 mai 2027", "expiry 7": "Rappel : votre profil Entrée express expire le 1 mai 2027",
           "language 60": "Rappel : votre test de langue cesse de compter le 1 juin 2027",
           "language 14": "Rappel : votre test de langue cesse de compter le 1 juin 2027"},
}  # fmt: skip


def test_each_reminder_is_sent_once_in_english_and_french(env: dict, smtp: SMTPSink, tmp_path: Path) -> None:
    from crswatch import cycle, sending
    from crswatch.config_load import load_config

    env = {**env, "CRSWATCH_PUBLIC_URL": "https://alerts.example.com"}
    (tmp_path / "p.toml").write_text(PROFILE)
    for who, language in (("en@example.com", "en"), ("fr@example.com", "fr")):
        cli(
            "subscribe",
            "--profile",
            str(tmp_path / "p.toml"),
            "--language",
            language,
            "--notify",
            smtp.url(who),
            env=env,
            check=True,
        )
    typed = cli(
        "subscribe",
        "--score",
        "480",
        "--profile-created",
        "2026-05-01",
        "--notify",
        smtp.url("typed@example.com"),
        env=env,
        check=True,
    )
    off = cli(
        "subscribe",
        "--profile",
        str(tmp_path / "p.toml"),
        "--no-reminders",
        "--notify",
        smtp.url("off@example.com"),
        env=env,
        check=True,
    )
    assert typed.returncode == off.returncode == 0
    config = load_config(env["CRSWATCH_CONFIG"], db=env["CRSWATCH_DB"])
    config = type(config)(
        **{
            **config.__dict__,
            "alerts": type(config.alerts)(**{**config.alerts.__dict__, "public_url": "https://alerts.example.com"}),
        }
    )
    store = store_of(env)
    try:
        for count, (now, kind) in enumerate(DAYS, 1):
            for repeat in (now, now.replace(hour=20)):  # the check runs again the same day: nothing more
                cycle.remind(config, store, repeat)
                asyncio.run(sending.deliver(config, store, Services()))
            smtp.wait_for(2 * count)
            for who, language in (("en@example.com", "en"), ("fr@example.com", "fr")):
                got = smtp.to(who)
                assert len(got) == count, [m["Subject"] for m in got]
                assert got[-1]["Subject"].startswith(SUBJECTS[language][kind]), (kind, got[-1]["Subject"])
                text = body_text(got[-1])
                assert (
                    "https://alerts.example.com/unsubscribe/" in text and "https://alerts.example.com/manage/" in text
                )
                assert got[-1]["List-Unsubscribe"]
        # a day later every window but the birthday's is still open: each reminder was queued once
        cycle.remind(config, store, datetime(2027, 5, 19, 15, tzinfo=UTC))
        asyncio.run(sending.deliver(config, store, Services()))
    finally:
        store.dispose()
    assert len(smtp.to("en@example.com")) == len(smtp.to("fr@example.com")) == len(DAYS)
    assert smtp.to("off@example.com") == []
    # a typed score with --reminders off by default: nothing; the profile subscriber heard everything
    assert smtp.to("typed@example.com") == []
    english = {m["Subject"]: body_text(m) for m in smtp.to("en@example.com")}
    birthday = english["Reminder: your CRS drops on March 14, 2027"]
    assert "On March 14, 2027 your CRS drops from" in birthday
    assert "Update your Express Entry profile in your IRCC account" in next(
        v for k, v in english.items() if k.startswith("Your CRS rises")
    )
    french = [body_text(m) for m in smtp.to("fr@example.com")]
    assert any("IELTS General Training" in t and "1 juin 2027" in t for t in french)


def test_reminders_can_be_turned_on_and_off(env: dict, tmp_path: Path) -> None:
    import json

    (tmp_path / "p.toml").write_text(PROFILE)
    sub = cli(
        "subscribe", "--profile", str(tmp_path / "p.toml"), "--notify", "ntfy://a-topic", env=env, check=True
    ).stdout.strip()
    typed = cli("subscribe", "--score", "480", "--notify", "ntfy://b-topic", env=env, check=True).stdout.strip()

    def listed() -> dict:
        return {
            r["id"]: r["reminders"]
            for r in json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)
        }

    assert listed() == {sub: True, typed: False}  # on by default with a profile only
    cli("update", sub, "--no-reminders", env=env, check=True)
    cli("update", typed, "--reminders", env=env, check=True)
    assert listed() == {sub: False, typed: True}


def test_a_profile_leaves_nothing_behind(store_url: str) -> None:
    """Personal data is erased: an unconfirmed sign-up's profile when its link expires, a confirmed
    one's from the used sign-up, and a subscriber's reminder keys with the subscriber (on SQLite
    and on a real PostgreSQL server)."""
    from datetime import timedelta

    from sqlalchemy import select

    from crswatch.notifier.outbox import queue
    from crswatch.notifier.reminders import plan_reminders
    from crswatch.store.sql import Store
    from crswatch.subscribers import manage, optin, reminded
    from crswatch.subscribers.tables import pending

    store = Store(store_url)
    defaults = manage.Defaults(within=10, streams=("cec",))
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)

    def sign_up(address: str) -> optin.SignUp:
        return optin.validate_sign_up(channel=f"ntfy://{address}", score=480, within=None, streams=("cec",), profile_created=None,
                                      check=lambda url: url, now=now, profile=PROFILE)  # fmt: skip

    try:
        with store.write() as conn:
            forgotten = optin.start(conn, sign_up("forgotten"), ttl=timedelta(hours=48), now=now)
            kept = optin.start(conn, sign_up("kept"), ttl=timedelta(hours=48), now=now)
            sub = optin.confirm(conn, kept, check=lambda url: url, defaults=defaults, now=now)
            assert sub is not None and sub.profile and sub.wants_reminders
            optin.start(
                conn, sign_up("later"), ttl=timedelta(hours=48), now=now + timedelta(days=3)
            )  # the first has expired by then
            profiles = dict(conn.execute(select(pending.c.channel, pending.c.profile)).all())
            assert profiles == {"ntfy://forgotten": None, "ntfy://kept": None, "ntfy://later": profiles["ntfy://later"]}
            assert optin.lookup(conn, forgotten, now + timedelta(days=3))[0] == optin.EXPIRED
            queue(conn, plan_reminders(conn, datetime(2027, 2, 12, 15, tzinfo=UTC)))
            assert reminded.queued_for(conn, sub.id) == ["birthday/2027-03-14"]
            manage.unsubscribe(conn, sub.id)
            assert reminded.queued_for(conn, sub.id) == []
    finally:
        store.dispose()


def test_the_regular_check_plans_and_sends_them(env: dict, smtp: SMTPSink, tmp_path: Path) -> None:
    """The real `crswatch check` (today's clock): a 35th birthday 20 days from now is told once,
    and the next check, the same day, sends nothing more."""
    from datetime import timedelta

    from helpers import snapshot

    from crswatch.draws.crs.days import add_years
    from crswatch.draws.record import ottawa_today

    born = add_years(ottawa_today() + timedelta(days=20), -35)
    birthday = add_years(born, 35)
    (tmp_path / "p.toml").write_text(f'date_of_birth = {born.isoformat()}\neducation = "secondary"\n')
    cli("subscribe", "--profile", str(tmp_path / "p.toml"), "--notify", smtp.url("b@example.com"), env=env, check=True)
    source = snapshot("2026-01-21").as_uri()
    first = cli("check", "--source", source, env=env, check=True)
    smtp.wait_for(1)
    (message,) = smtp.to("b@example.com")
    assert message["Subject"] == f"Reminder: your CRS drops on {birthday:%B} {birthday.day}, {birthday.year}"
    assert "alerts: 1 sent" in first.stdout and born.isoformat() not in first.stdout + first.stderr
    again = cli("check", "--source", source, env=env, check=True)
    assert "alerts:" not in again.stdout and len(smtp.to("b@example.com")) == 1
