"""Alerts end to end: real spider on a local HTTP server, real apprise, a real SMTP server and webhook."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import FeedServer, cli, outbox, read_db, snapshot, wait_for_retries
from servers import SMTPSink, WebhookReceiver, body_text

FEED_DAY1, FEED_DAY2 = snapshot("2026-01-20"), snapshot("2026-01-21")


def _subscribe(env: dict, *args: str) -> str:
    return cli("subscribe", *args, env=env, check=True).stdout.strip()


@pytest.fixture
def cohort(feed: FeedServer, env: dict, smtp: SMTPSink, webhook: WebhookReceiver) -> dict[str, str]:
    """The history up to 2026-01-20 stored, and the issue's subscribers waiting for #392."""
    feed.serve(FEED_DAY1)
    cli("check", "--source", feed.url, env=env, check=True)
    people = {
        "a510": ["--score", "510"],
        "b509early": ["--score", "509", "--profile-created", "2025-10-01"],
        "c509late": ["--score", "509", "--profile-created", "2025-11-01"],
        "d509": ["--score", "509"],
        "e500": ["--score", "500", "--within", "10"],
        "f495": ["--score", "495", "--within", "10"],
        "g600fr": ["--score", "600", "--stream", "french"],
    }
    ids = {name: _subscribe(env, *args, "--notify", smtp.url(f"{name}@example.com")) for name, args in people.items()}
    ids["hook"] = _subscribe(env, "--score", "520", "--stream", "cec", "--notify", webhook.url())
    return ids


def test_who_receives_which_verdict_for_draw_392(
    feed: FeedServer, env: dict, smtp: SMTPSink, webhook: WebhookReceiver, cohort: dict
) -> None:
    feed.serve(FEED_DAY2)
    result = cli("check", "--source", feed.url, env=env, check=True)
    assert "alerts: 6 sent, 0 failed" in result.stdout, cli("deliveries", "--status", "failed", env=env).stdout
    smtp.wait_for(5)
    got = {
        name: smtp.to(f"{name}@example.com")
        for name in ("a510", "b509early", "c509late", "d509", "e500", "f495", "g600fr")
    }
    assert {name: len(mails) for name, mails in got.items()} == {
        "a510": 1,
        "b509early": 1,
        "c509late": 1,
        "d509": 1,
        "e500": 1,
        "f495": 0,
        "g600fr": 0,
    }

    invited = got["a510"][0]
    assert invited["Subject"] == "Invited: #392 CEC, cut-off 509"  # the verdict first, short enough for a phone
    assert "text/html" in {p.get_content_type() for p in invited.walk()}
    text = body_text(invited)
    for fragment in ("6,000", "509", "October 29, 2025 at 04:35:24 UTC", "510 (1 point above the cut-off)", "60 days",
                     "police certificates", "medical", "invitations.html?q=392", f"crswatch unsubscribe {cohort['a510']}"):  # fmt: skip
        assert fragment in text, fragment
    assert got["b509early"][0]["Subject"].startswith("Invited:") and "before the tie-break time" in body_text(
        got["b509early"][0]
    )
    assert "you just missed this draw" in body_text(got["c509late"][0])
    assert "only profiles submitted before October 29, 2025 at 04:35:24 UTC were invited" in body_text(got["d509"][0])
    assert (
        "9 points" in body_text(got["e500"][0])
        and got["e500"][0]["Subject"] == "Close (9 points short): #392 CEC, cut-off 509"
    )
    assert got["c509late"][0]["Subject"] == "Just missed (tie-break): #392 CEC, cut-off 509"
    assert got["d509"][0]["Subject"] == "At the cut-off: #392 CEC, cut-off 509"
    assert invited["Date"].endswith("+0000")
    assert "60 days" not in body_text(got["e500"][0])

    (post,) = webhook.posts
    assert post["title"] == "Invited: #392 CEC, cut-off 509"
    assert "<" not in post["message"] and "Your score: 520 (11 points above the cut-off)" in post["message"]

    again = cli("check", "--source", feed.url, env=env, check=True)
    assert "sent" not in again.stdout
    assert len(smtp.messages) == 5 and len(webhook.posts) == 1


def test_dry_run_prints_and_changes_nothing(
    feed: FeedServer, env: dict, db_path: Path, smtp: SMTPSink, cohort: dict
) -> None:
    before = read_db(db_path)
    feed.serve(FEED_DAY2)
    result = cli("check", "--dry-run", "--source", feed.url, env=env, check=True)
    assert result.stdout.count("would alert") == 6 and "#392 new: invited" in result.stdout
    assert "6 alerts would be sent" in result.stdout
    assert read_db(db_path) == before and not smtp.messages
    assert "example.com" in result.stdout


def test_several_new_draws_arrive_oldest_first(feed: FeedServer, env: dict, smtp: SMTPSink) -> None:
    feed.serve(snapshot("2025-12-17"))
    cli("check", "--source", feed.url, env=env, check=True)
    _subscribe(env, "--score", "800", "--stream", "cec", "--stream", "pnp", "--notify", smtp.url("many@example.com"))
    feed.serve(FEED_DAY2)
    assert "alerts: 4 sent" in cli("check", "--source", feed.url, env=env, check=True).stdout
    smtp.wait_for(4)
    subjects = [m["Subject"] for m in smtp.to("many@example.com")]
    assert [s.split(": ")[1].split()[0] for s in subjects] == ["#389", "#390", "#391", "#392"]


def test_a_correction_alerts_only_those_whose_verdict_changed(
    feed: FeedServer, env: dict, smtp: SMTPSink, webhook: WebhookReceiver, cohort: dict
) -> None:
    feed.serve(FEED_DAY2)
    cli("check", "--source", feed.url, env=env, check=True)
    late = _subscribe(env, "--score", "515", "--notify", smtp.url("late@example.com"))  # subscribed after #392 was seen
    smtp.wait_for(5)
    smtp.messages.clear()
    document = json.loads(FEED_DAY2.read_bytes())
    document["rounds"][0]["drawCRS"] = "512"
    feed.serve(json.dumps(document).encode())
    result = cli("check", "--source", feed.url, env=env, check=True)
    assert "0 new, 1 changed" in result.stdout
    smtp.wait_for(5)
    # 510: invited → close; 509 ×3: invited/just missed/at cut-off → close; 500: close by 9 → nothing (12 > within)
    changed = {m["X-Envelope-To"].split("@")[0] for m in smtp.messages}
    assert changed == {"a510", "b509early", "c509late", "d509", "e500"}
    assert all(m["Subject"].startswith("Correction: ") and "#392 CEC" in m["Subject"] for m in smtp.messages)
    assert "cut-off 509 → 512" in body_text(smtp.to("a510@example.com")[0])
    assert "no longer within your range" in body_text(smtp.to("e500@example.com")[0])
    assert not smtp.to("late@example.com") and late
    assert len(webhook.posts) == 1  # 520 is still invited: nothing new to say


def test_a_channel_that_is_down_is_retried_and_delivered_exactly_once(
    feed: FeedServer, env: dict, smtp: SMTPSink
) -> None:
    down = SMTPSink()  # its port has nothing listening yet
    feed.serve(FEED_DAY1)
    cli("check", "--source", feed.url, env=env, check=True)
    _subscribe(
        env, "--score", "520", "--notify", down.url("patient@example.com"), "--notify", smtp.url("fine@example.com")
    )
    feed.serve(FEED_DAY2)
    first = cli("check", "--source", feed.url, env=env, check=True)
    assert "alerts: 1 sent, 1 failed (will retry), 0 dead" in first.stdout
    (failed,) = json.loads(cli("deliveries", "--status", "failed", "--format", "json", env=env, check=True).stdout)
    assert failed["attempts"] == 1 and failed["next_try"] and "127.0.0.1" in failed["last_error"]
    assert "patient%40example.com" in failed["channel"] or "patient@example.com" in failed["channel"]
    down.start()
    try:
        wait_for_retries(env)  # its next try, retry_base (1 s) after the failure, has come
        second = cli("check", "--source", feed.url, env=env, check=True)
        assert "feed unchanged" in second.stdout and "alerts: 1 sent, 0 failed" in second.stdout
        down.wait_for(1)
        third = cli("check", "--source", feed.url, env=env, check=True)
        assert "sent" not in third.stdout
        assert len(down.to("patient@example.com")) == 1 and len(smtp.to("fine@example.com")) == 1
    finally:
        down.stop()


def test_dead_deliveries_reach_the_operator_once_and_can_be_requeued(
    feed: FeedServer, env: dict, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text().replace("retry_base = 1", "retry_base = 0.2\nmax_attempts = 2"))
    env = {**env, "CRSWATCH_OPERATOR": webhook.url("operator")}
    down = SMTPSink()
    feed.serve(FEED_DAY1)
    cli("check", "--source", feed.url, env=env, check=True)
    _subscribe(env, "--score", "520", "--notify", down.url("gone@example.com"))
    feed.serve(FEED_DAY2)
    assert "1 failed" in cli("check", "--source", feed.url, env=env, check=True).stdout
    wait_for_retries(env)  # the second and last attempt is due
    assert "1 dead" in cli("check", "--source", feed.url, env=env, check=True).stdout
    (dead,) = outbox(env)
    assert dead["status"] == "dead" and not dead["next_try"]  # never due again: nothing to wait for
    cli("check", "--source", feed.url, env=env, check=True)  # a check after the incident: no second notice
    notices = [p for p in webhook.posts if p["path"] == "/operator"]
    assert len(notices) == 1 and "1 delivery is dead" in notices[0]["title"]
    assert len(json.loads(cli("deliveries", "--status", "dead", "--format", "json", env=env).stdout)) == 1
    assert "re-queued 1 dead delivery" in cli("retry", "--dead", env=env, check=True).stdout
    assert json.loads(cli("deliveries", "--status", "queued", "--format", "json", env=env).stdout)[0]["attempts"] == 0


def test_operator_hears_of_failures_rejections_and_unknown_streams_once_per_incident(
    feed: FeedServer, env: dict, webhook: WebhookReceiver
) -> None:
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text() + "operator_after_failures = 2\n")
    env = {**env, "CRSWATCH_OPERATOR": webhook.url("operator")}
    feed.serve(FEED_DAY1)
    cli("check", "--source", feed.url, env=env, check=True)
    feed.serve(b"down", status=404)
    for _ in range(3):
        assert cli("check", "--source", feed.url, env=env).returncode == 3
    feed.serve(b"<html>maintenance</html>")
    for _ in range(2):
        assert cli("check", "--source", feed.url, env=env).returncode == 4
    document = json.loads(FEED_DAY2.read_bytes())
    document["rounds"][0]["drawName"] = "Pharmacists with Canadian work experience (Version 1)"
    feed.serve(json.dumps(document).encode())
    cli("check", "--source", feed.url, env=env, check=True)
    titles = [p["title"] for p in webhook.posts]
    assert titles == [
        "crswatch: the feed failed 2 checks in a row",
        "crswatch: the feed was rejected as malformed",
        "crswatch: the feed is back",
        "crswatch: draw #392 has an unknown program",
    ]


@pytest.mark.lifecycle
def test_kill_mid_fanout_then_rerun_loses_nothing(feed: FeedServer, env: dict, tmp_path: Path) -> None:
    """SIGKILL `check` in the middle of a 1,000-subscriber fan-out; the rerun completes it."""
    slow = SMTPSink(delay=0.004).start()
    try:
        feed.serve(FEED_DAY1)
        cli("check", "--source", feed.url, env=env, check=True)
        rows = ["name,score,within,streams,profile_created,channels"]
        rows += [f"p{i},520,,cec,,{slow.url(f'p{i}@example.com')}" for i in range(1000)]
        (tmp_path / "people.csv").write_text("\n".join(rows) + "\n")
        cli("import", str(tmp_path / "people.csv"), env=env, check=True)
        feed.serve(FEED_DAY2)
        child = subprocess.Popen([sys.executable, "-m", "crswatch", "check", "--source", feed.url], env={**os.environ, **env},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 60
        while len(slow.messages) < 300 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait()
        at_kill = len(slow.messages)
        assert 0 < at_kill < 1000, "the kill must land mid fan-out"
        rerun = cli("check", "--source", feed.url, env=env, check=True)
        assert "0 failed" in rerun.stdout
        slow.wait_for(1000)
        per_person = {}
        for message in slow.messages:
            per_person[message["X-Envelope-To"]] = per_person.get(message["X-Envelope-To"], 0) + 1
        assert len(per_person) == 1000, "no alert lost"
        duplicates = sum(n - 1 for n in per_person.values())
        assert duplicates <= 16, f"{duplicates} duplicates: more than were in flight"
        assert {d["status"] for d in outbox(env)} == {"sent"}
    finally:
        slow.stop()


def test_without_public_url_the_contact_is_the_way_out(feed: FeedServer, env: dict, smtp: SMTPSink) -> None:
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text().replace("[alerts]\n", '[alerts]\ncontact = "help@crs.example"\n'))
    feed.serve(FEED_DAY1)
    cli("check", "--source", feed.url, env=env, check=True)
    sub_id = _subscribe(env, "--score", "520", "--notify", smtp.url("kim@example.com"))
    feed.serve(FEED_DAY2)
    cli("check", "--source", feed.url, env=env, check=True)
    smtp.wait_for(1)
    (alert,) = smtp.to("kim@example.com")
    assert alert["Reply-To"] == "help@crs.example"
    text = body_text(alert)
    assert f"reply to this message or write to help@crs.example (your subscription: {sub_id})" in text
    assert "ask the operator to run" not in text


def test_operator_messages_escape_what_they_embed(smtp: SMTPSink) -> None:
    """A draw name or a reason comes from the feed: in the operator's HTML e-mail it is text, never markup."""
    from dataclasses import replace

    from crswatch.config import Alerts, Config
    from crswatch.notifier.services import Services
    from crswatch.sending import send_operator

    config = replace(Config(), alerts=Alerts(operator=(smtp.url("operator@example.com"),)))
    send_operator(
        config,
        [("crswatch: a new draw name", 'IRCC published "<script>alert(1)</script> & co" (draw #400)')],
        Services(),
    )
    smtp.wait_for(1)
    (message,) = smtp.to("operator@example.com")
    html_part = next(part for part in message.walk() if part.get_content_type() == "text/html").get_content()
    assert "<script>" not in html_part and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html_part
    text_part = next(part for part in message.walk() if part.get_content_type() == "text/plain").get_content()
    assert '"<script>alert(1)</script> & co"' in text_part  # the plain text says it as published
