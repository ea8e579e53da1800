"""Choosing a cadence and pool alerts from every front end: the command line, the CSV import, the
configuration's digest hour, the web form and its manage page, and the Telegram bot."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import cli
from pages import Site
from servers import SMTPSink
from telegram_api import TelegramAPI
from test_telegram_bot import CHAT, Bot, sign_up, tg_env  # noqa: F401 (tg_env: a fixture)


def _subscribers(env: dict) -> list[dict]:
    return json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)


def test_subscribe_and_update_take_a_cadence_and_pool_alerts(env: dict) -> None:
    sub = cli(
        "subscribe",
        "--score",
        "481",
        "--cadence",
        "weekly",
        "--pool-alerts",
        "--notify",
        "json://127.0.0.1:9/a",
        env=env,
        check=True,
    ).stdout.strip()
    (doc,) = _subscribers(env)
    assert (doc["cadence"], doc["pool_alerts"]) == ("weekly", True)
    listing = cli("subscribers", env=env, check=True).stdout
    assert "cadence  pool_alerts" in listing and "weekly   yes" in listing
    cli("update", sub, "--cadence", "DAILY", "--no-pool-alerts", env=env, check=True)
    (doc,) = _subscribers(env)
    assert (doc["cadence"], doc["pool_alerts"]) == ("daily", False)
    cli("subscribe", "--score", "470", "--notify", "json://127.0.0.1:9/b", env=env, check=True)
    assert {(d["cadence"], d["pool_alerts"]) for d in _subscribers(env)} == {
        ("daily", False),
        ("instant", False),
    }  # the defaults


def test_a_bad_cadence_is_one_line_and_changes_nothing(env: dict) -> None:
    result = cli("subscribe", "--score", "481", "--cadence", "hourly", "--notify", "json://127.0.0.1:9/a", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == "crswatch: error: unknown cadence 'hourly'; valid cadences: instant daily weekly"
    assert _subscribers(env) == []


def test_the_csv_takes_cadence_and_pool_alerts_columns(env: dict, tmp_path: Path) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text("name,score,within,streams,profile_created,channels,cadence,pool_alerts\n"
                   "Ann,501,,,,json://127.0.0.1:9/ann,weekly,yes\nBen,512,,,,json://127.0.0.1:9/ben,,\n")  # fmt: skip
    cli("import", str(csv), env=env, check=True)
    assert {d["name"]: (d["cadence"], d["pool_alerts"]) for d in _subscribers(env)} == {
        "Ann": ("weekly", True),
        "Ben": ("instant", False),
    }
    csv.write_text(
        "name,score,within,streams,profile_created,channels,cadence,pool_alerts\nCy,501,,,,json://127.0.0.1:9/cy,monthly,maybe\n"
    )
    result = cli("import", str(csv), env=env)
    assert result.returncode == 2
    assert (
        "line 2: unknown cadence 'monthly'" in result.stderr
        and "line 2: pool_alerts 'maybe' is not yes or no" in result.stderr
    )
    assert len(_subscribers(env)) == 2


def test_the_digest_hour_is_checked(env: dict) -> None:
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text().replace("[alerts]\n", "[alerts]\ndigest_hour = 24\n"))
    result = cli("subscribers", env=env)
    assert result.returncode == 2 and "digest_hour must be an hour from 0 to 23, not 24" in result.stderr
    config.write_text(config.read_text().replace("digest_hour = 24\n", 'digest_hour = 18\ndigest_weekday = "friday"\n'))
    result = cli("subscribers", env=env)
    assert (
        result.returncode == 2
        and "digest_weekday must be one of mon tue wed thu fri sat sun, not 'friday'" in result.stderr
    )
    config.write_text(config.read_text().replace('"friday"', '"fri"'))
    assert "digest_hour = 18" in cli("config", env=env, check=True).stdout


def test_the_web_form_and_the_manage_page(env: dict, smtp: SMTPSink) -> None:
    from bs4 import BeautifulSoup

    site = Site(env, smtp)
    try:
        assert site.sign_up("ana@example.com", score=481, cadence="weekly", pool_alerts="on").status_code == 200
        confirmed = site.confirm(site.confirmation_link("ana@example.com"))
        (doc,) = _subscribers(env)
        assert (doc["cadence"], doc["pool_alerts"]) == ("weekly", True)
        path = (
            BeautifulSoup(confirmed.text, "html.parser")
            .find("a", string="change your settings now")["href"]
            .removeprefix(site.base)
        )
        page = BeautifulSoup(site.get(path).text, "html.parser")
        assert page.find("input", id="cadence-weekly").has_attr("checked") and page.find(
            "input", id="pool_alerts"
        ).has_attr("checked")
        site.post(
            path, {"score": "481", "within": "10", "streams": ["cec"], "cadence": "daily"}, csrf_from=path
        )  # the box left unticked
        (doc,) = _subscribers(env)
        assert (doc["cadence"], doc["pool_alerts"]) == ("daily", False)
        bad = site.sign_up("bo@example.com", score=481, cadence="hourly")
        assert bad.status_code == 400 and "how often to hear from us" in bad.text
    finally:
        site.close()


def test_the_bot_commands(tg_env: dict[str, str], api: TelegramAPI) -> None:
    bot = Bot(tg_env, api)
    try:
        sign_up(api)
        assert (
            "How often: every alert at once" in api.reply(CHAT, "/status") and "Pool alerts: off" in api.texts(CHAT)[-1]
        )
        assert "a weekly digest" in api.reply(CHAT, "/cadence weekly")
        assert "Pool alerts: on" in api.reply(CHAT, "/pool on")
        assert "/cadence daily" in api.reply(CHAT, "/cadence hourly")
        assert "/pool off" in api.reply(CHAT, "/pool")
        (doc,) = _subscribers(tg_env)
        assert (doc["cadence"], doc["pool_alerts"]) == ("weekly", True)
    finally:
        bot.stop()
