"""Subscribers with a CRS profile, end to end: the real spider on a local HTTP server, the real
`crswatch` command, a real SMTP server.  Every verdict uses the profile's score on the draw's date,
the alert says so (in English and French), and the profile is personal data: kept only in the SQL
store, never listed or logged, erased on unsubscribe."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from helpers import FeedServer, cli, snapshot, store_of
from servers import SMTPSink, body_text
from sqlalchemy import select

from crswatch.draws.crs import parse, score
from crswatch.draws.record import Draw
from crswatch.notifier.fanout import plan
from crswatch.subscribers.model import Channel, Subscriber

FEED_DAY1, FEED_DAY2 = snapshot("2026-01-20"), snapshot("2026-01-21")  # #392: 2026-01-21, CEC, cut-off 509

# Turns 31 on 2026-01-20, the day before draw #392: age points 105 → 99.  Bachelor's 120, IELTS
# CLB 10 on all four 136, 2 years in Canada 53, 3 years abroad (C = 100): 514 at 30, 508 at 31.
TURNS_31 = """\
date_of_birth = 1995-01-20
education = "bachelors_or_three_year"
canadian_experience_years = 2
foreign_experience_years = 3
first_language = { test = "ielts", test_date = 2025-06-01, reading = 8.0, writing = 7.5, listening = 8.5, speaking = 7.5 }
"""
# The same, born in June: 30 on 2026-01-21, so 514 on the draw's date.
STILL_30 = TURNS_31.replace("1995-01-20", "1995-06-20")


def test_the_two_profiles_by_hand() -> None:
    assert score(parse(_toml(TURNS_31)), date(2026, 1, 19)).total == 514
    assert score(parse(_toml(TURNS_31)), date(2026, 1, 21)).total == 508
    assert score(parse(_toml(STILL_30)), date(2026, 1, 21)).total == 514


def _toml(text: str) -> dict:
    import tomllib

    return tomllib.loads(text)


def test_a_birthday_before_the_draw_changes_the_verdict(
    feed: FeedServer, env: dict, smtp: SMTPSink, tmp_path: Path
) -> None:
    feed.serve(FEED_DAY1)
    cli("check", "--source", feed.url, env=env, check=True)
    (tmp_path / "turns31.toml").write_text(TURNS_31)
    (tmp_path / "still30.toml").write_text(STILL_30)
    # typed 514 as well: the profile still decides, on the draw's date
    birthday = cli("subscribe", "--score", "514", "--profile", str(tmp_path / "turns31.toml"), "--stream", "cec",
                   "--notify", smtp.url("birthday@example.com"), env=env, check=True).stdout.strip()  # fmt: skip
    young = cli("subscribe", "--profile", str(tmp_path / "still30.toml"), "--stream", "cec", "--language", "fr",
                "--notify", smtp.url("young@example.com"), env=env, check=True)  # fmt: skip
    assert "from profile" in young.stderr
    typed = cli(
        "subscribe", "--score", "514", "--stream", "cec", "--notify", smtp.url("typed@example.com"), env=env, check=True
    )
    assert typed.returncode == 0

    feed.serve(FEED_DAY2)
    result = cli("-vv", "check", "--source", feed.url, env=env, check=True)
    assert "alerts: 3 sent" in result.stdout, result.stdout + cli("deliveries", env=env).stdout
    smtp.wait_for(3)
    (missed,) = smtp.to("birthday@example.com")
    assert missed["Subject"] == "Close (1 point short): #392 CEC, cut-off 509"  # not "Invited": 508 on January 21, 2026
    assert "Your score: your CRS on January 21, 2026: 508, from your profile (1 point below the cut-off)" in body_text(
        missed
    )
    (invited,) = smtp.to("young@example.com")
    assert invited["Subject"].startswith("Invitation") or "509" in invited["Subject"]
    assert "votre note SCG le 21 janvier 2026 : 514, d'après votre profil" in body_text(invited)
    (plain,) = smtp.to("typed@example.com")
    assert plain[
        "Subject"
    ] == "Invited: #392 CEC, cut-off 509" and "Your score: 514 (5 points above the cut-off)" in body_text(plain)
    # personal data never in a log line, at any verbosity
    assert "1995-01-20" not in result.stderr + result.stdout and "ielts" not in result.stderr

    listing = cli("subscribers", env=env, check=True).stdout
    assert "from profile" in listing and "1995" not in listing and "ielts" not in listing
    records = json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)
    assert {r["id"]: r["from_profile"] for r in records}[birthday] is True
    assert all("profile" not in r and "date_of_birth" not in json.dumps(r) for r in records)

    cli("unsubscribe", birthday, env=env, check=True)
    from crswatch.subscribers.tables import subscribers

    with store_of(env).read() as conn:
        rows = conn.execute(select(subscribers.c.id, subscribers.c.profile)).all()
    assert birthday not in {r.id for r in rows} and all("1995-01-20" not in (r.profile or "") for r in rows)


def test_update_replaces_or_erases_the_profile(env: dict, smtp: SMTPSink, tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps(_toml(STILL_30), default=str))
    sub = cli(
        "subscribe", "--profile", str(tmp_path / "p.json"), "--notify", smtp.url("a@example.com"), env=env, check=True
    ).stdout.strip()
    out = cli("update", sub, "--score", "480", env=env, check=True).stdout
    assert out.startswith(f"updated {sub}: score 480, within")  # a typed score alone: back to a typed score
    with store_of(env).read() as conn:
        from crswatch.subscribers.tables import subscribers

        assert conn.execute(select(subscribers.c.profile).where(subscribers.c.id == sub)).scalar() is None
    out = cli("update", sub, "--profile", str(tmp_path / "p.json"), env=env, check=True).stdout
    assert "from profile" in out


def test_a_bad_profile_changes_nothing(env: dict, smtp: SMTPSink, tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('date_of_birth = 1990-01-01\nhobby = "chess"\n')
    result = cli("subscribe", "--profile", str(tmp_path / "bad.toml"), "--notify", smtp.url("a@example.com"), env=env)
    assert (
        result.returncode == 2 and "unknown profile key 'hobby'" in result.stderr and "Traceback" not in result.stderr
    )
    result = cli("subscribe", "--notify", smtp.url("a@example.com"), env=env)
    assert result.returncode == 2 and "give a CRS score (--score) or a profile (--profile)" in result.stderr
    assert cli("subscribers", "--format", "json", env=env, check=True).stdout.strip() == "[]"


def test_the_csv_import_takes_a_profile_column(env: dict, tmp_path: Path) -> None:
    profile = json.dumps(_toml(STILL_30), default=str).replace('"', '""')
    (tmp_path / "s.csv").write_text(
        f'name,score,within,streams,profile_created,channels,profile\nAnn,,,,,ntfy://ann-topic,"{profile}"\nBen,500,,,,ntfy://ben-topic,\n'
    )
    cli("import", str(tmp_path / "s.csv"), env=env, check=True)
    rows = {r["name"]: r for r in json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)}
    assert rows["Ann"]["from_profile"] and not rows["Ben"]["from_profile"] and rows["Ben"]["score"] == 500


# ------------------------------------------------------------------- the fan-out, without a process


def _doc(profile: str | None, score_: int = 0) -> Subscriber:
    return Subscriber(id="abcdefgh", score=score_, within=10, streams=("cec",), profile=profile, created_at=datetime(2026, 1, 1, tzinfo=UTC),
                      channels=(Channel.of("ntfy://t", "ntfy://t"),), token_hash="")  # fmt: skip


@pytest.mark.parametrize(
    ("day", "verdict", "scored"), [(date(2026, 1, 19), "invited", 514), (date(2026, 1, 20), "close", 508)]
)
def test_the_fanout_scores_a_profile_on_each_draws_date(day: date, verdict: str, scored: int) -> None:
    from crswatch.draws.crs.profile import dumps

    stored = dumps(parse(_toml(TURNS_31)))
    draw = Draw(number="900", date=day, program="Canadian Experience Class", stream="cec", invitations=1000, crs=509)
    (delivery,) = plan(
        [(draw, {"first_seen": "2026-02-01T00:00:00Z", "revision": 0})],
        [],
        [_doc(stored, 999)],
        datetime(2026, 2, 1, tzinfo=UTC),
    )
    assert delivery.verdict == verdict and delivery.payload == {"score": scored, "on": day.isoformat()}


def test_whatif_judges_each_draw_on_the_profiles_score_that_day(env: dict, tmp_path: Path) -> None:
    cli("check", "--source", FEED_DAY2.as_uri(), env=env, check=True)
    (tmp_path / "p.toml").write_text(TURNS_31)
    out = cli(
        "whatif", "--profile", str(tmp_path / "p.toml"), "--stream", "cec", "--since", "2026-01-01", env=env, check=True
    ).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["number", "date", "stream", "program", "crs", "score", "verdict"]
    assert lines[2].split()[-3:] == ["511", "514", "invited"] and lines[3].split()[-5:] == [
        "509",
        "508",
        "close",
        "by",
        "1",
    ]
    early = cli(
        "whatif",
        "--profile",
        str(tmp_path / "p.toml"),
        "--stream",
        "cec",
        "--since",
        "2016-01-01",
        "--until",
        "2016-12-31",
        env=env,
        check=True,
    ).stdout
    assert "earlier draws left out: the profile cannot be scored before the oldest CRS grid" in early
    both = cli("whatif", "--profile", str(tmp_path / "p.toml"), "--score", "500", env=env)
    assert both.returncode == 2 and "give --score or --profile" in both.stderr


def test_a_draw_the_profile_cannot_be_scored_on_is_explained_never_a_silent_zero() -> None:
    """Before the oldest grid (2016-11-19) a profile has no score: the subscriber is left out of
    that draw and the plan says who and why; a typed score beside it is not silently used."""
    from crswatch.draws.crs.profile import dumps

    stored = dumps(parse(_toml(STILL_30)))
    draw = Draw(
        number="7", date=date(2015, 3, 1), program="Canadian Experience Class", stream="cec", invitations=1000, crs=481
    )
    unscored: list[str] = []
    planned = plan([(draw, {"first_seen": "2026-02-01T00:00:00Z", "revision": 0})], [], [_doc(stored, 999)], datetime(2026, 2, 1, tzinfo=UTC),
                   unscored=unscored)  # fmt: skip
    assert planned == []
    (line,) = unscored
    assert line.startswith("draw #7 (2015-03-01): subscriber abcdefgh not matched: no CRS rules for 2015-03-01")
    assert "1995" not in line  # no personal data in what is logged
    # the same draw for a typed score is matched as always
    (typed,) = plan(
        [(draw, {"first_seen": "2026-02-01T00:00:00Z", "revision": 0})],
        [],
        [_doc(None, 999)],
        datetime(2026, 2, 1, tzinfo=UTC),
    )
    assert typed.verdict == "invited"


def test_forecast_uses_the_profiles_projected_score_on_each_forecast_date(env: dict, tmp_path: Path) -> None:
    """A 31st birthday ten days from today (Ottawa's) falls between the next CEC draw (overdue:
    today) and the two after it: the first is judged on 514, the others on 508."""
    from crswatch.draws.crs.days import add_years
    from crswatch.draws.record import ottawa_today

    cli("check", "--source", FEED_DAY2.as_uri(), env=env, check=True)
    born = add_years(ottawa_today(), -31) + timedelta(days=10)
    (tmp_path / "p.toml").write_text(
        TURNS_31.replace("1995-01-20", born.isoformat()).replace("2025-06-01", ottawa_today().isoformat())
    )

    def p_invited(*args: str) -> dict:
        (row,) = json.loads(
            cli("forecast", "--stream", "cec", "--draws", "3", "--format", "json", *args, env=env, check=True).stdout
        )
        return row

    projected = p_invited("--profile", str(tmp_path / "p.toml"))
    high, low = p_invited("--score", "514"), p_invited("--score", "508")
    assert projected["score"] == 514 and "score" not in high
    assert low["p_invited"] < projected["p_invited"] < high["p_invited"]
    table = cli("forecast", "--stream", "cec", "--profile", str(tmp_path / "p.toml"), env=env, check=True).stdout
    assert table.splitlines()[0].split()[-2:] == ["score", "p_invited"]
    both = cli("forecast", "--profile", str(tmp_path / "p.toml"), "--score", "500", env=env)
    assert both.returncode == 2 and "give --score or --profile, not both" in both.stderr


def test_forecast_judges_each_draw_on_its_own_date() -> None:
    from crswatch.history.forecast import errors_before, forecast, invited_probability, last

    cutoffs = [500, 510, 490, 500, 520, 505, 495, 515, 505, 500, 512, 498]
    dates = [date(2025, 1, 1) + timedelta(days=14 * i) for i in range(len(cutoffs))]
    seen: list[date] = []

    def score_on(day: date) -> int:
        seen.append(day)
        return 520 if day < date(2025, 7, 1) else 480

    result = forecast("cec", dates, cutoffs, draws=3, score_on=score_on, earliest=date(2025, 6, 20))
    assert seen == [
        date(2025, 6, 20),
        date(2025, 7, 4),
        date(2025, 7, 18),
    ]  # overdue: from `earliest`, a median gap apart
    errors = errors_before(
        cutoffs,
        last
        if result.method == "last"
        else __import__("crswatch.history.forecast").history.forecast.METHODS[result.method],
    )
    p = [invited_probability(result.next_crs, errors, s) for s in (520, 480, 480)]
    assert result.score == 520 and result.p_invited == pytest.approx(1 - (1 - p[0]) * (1 - p[1]) * (1 - p[2]))
