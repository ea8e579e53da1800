"""Issue-13 rules end to end: the real spider on a local feed, real SMTP, a real operator webhook."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import FeedServer, cli, outbox, snapshot, table
from servers import SMTPSink, WebhookReceiver, body_text

FEED_DAY1, FEED_DAY2 = snapshot("2026-01-20"), snapshot("2026-01-21")
PHARMACISTS = "Pharmacists with Canadian work experience (Version 1)"


def _day2(**fields: str) -> bytes:
    document = json.loads(FEED_DAY2.read_bytes())
    document["rounds"][0].update(fields)
    return json.dumps(document).encode()


def _start(feed: FeedServer, env: dict, smtp: SMTPSink, *subscribers: tuple[str, ...]) -> dict[str, str]:
    feed.serve(FEED_DAY1)
    cli("check", "--source", feed.url, env=env, check=True)
    return {
        name: cli("subscribe", *args, "--notify", smtp.url(f"{name}@example.com"), env=env, check=True).stdout.strip()
        for name, *args in subscribers
    }


def test_unknown_category_is_taught_then_each_eligible_subscriber_gets_one_late_alert(
    feed: FeedServer, env: dict, smtp: SMTPSink, webhook: WebhookReceiver
) -> None:
    env = {**env, "CRSWATCH_OPERATOR": webhook.url("operator")}
    _start(feed, env, smtp, ("doc", "--score", "520", "--stream", "cec"), ("cec", "--score", "520", "--stream", "cec"),
           ("low", "--score", "300", "--stream", "cec"), ("other", "--score", "520", "--stream", "other"))  # fmt: skip
    feed.serve(_day2(drawName=PHARMACISTS))
    first = cli("check", "--source", feed.url, env=env, check=True)
    assert "alerts: 1 sent" in first.stdout  # only the subscriber of 'other' hears of it now
    assert [len(smtp.to(f"{n}@example.com")) for n in ("doc", "cec", "low", "other")] == [0, 0, 0, 1]
    (notice,) = [p for p in webhook.posts if "unknown program" in p["title"]]
    assert f'"{PHARMACISTS}" = "healthcare"' in notice["message"] and "[streams]" in notice["message"]
    assert '{ code = "newcode", label = "What it is" }' in notice["message"]
    waiting = json.loads(cli("streams", "--format", "json", env=env, check=True).stdout)
    other = next(row for row in waiting if row["code"] == "other")
    assert other["names"] == [{"name": PHARMACISTS, "draws": 1, "last": "2026-01-21", "numbers": ["392"]}]

    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text() + '\n[streams]\n"Pharmacists with Canadian work experience" = "cec"\n')
    second = cli("check", "--source", feed.url, env=env, check=True)  # the feed itself is unchanged
    assert (
        "feed unchanged" in second.stdout and "1 draw recognised" in second.stdout and "alerts: 2 sent" in second.stdout
    )
    smtp.wait_for(3)
    assert [len(smtp.to(f"{n}@example.com")) for n in ("doc", "cec", "low", "other")] == [1, 1, 0, 1]
    late = smtp.to("doc@example.com")[0]
    assert late["Subject"].startswith("Late: ") and "#392" in late["Subject"]
    assert "published on January 21, 2026, recognised now" in body_text(late)
    assert {d["stream"] for d in table(Path(env["CRSWATCH_DB"]), "draws") if d["number"] == "392"} == {"cec"}

    config.write_text(config.read_text().replace('= "cec"', '= "pnp"'))  # the mapping changes again
    third = cli("check", "--source", feed.url, env=env, check=True)
    assert "sent" not in third.stdout and "recognised" not in third.stdout
    # the check has exited: whatever it sent the SMTP server already accepted (and kept), and nothing
    # is left in the outbox for a later sender
    assert len(smtp.messages) == 3
    assert sorted(d["status"] for d in outbox(env)) == ["sent"] * 3


def test_a_new_category_from_the_config_is_choosable(env: dict, smtp: SMTPSink) -> None:
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(
        config.read_text()
        + '\n[streams]\n"Pharmacists with Canadian work experience" = { code = "pharmacists", label = "Pharmacists" }\n'
    )
    cli(
        "subscribe",
        "--score",
        "500",
        "--stream",
        "pharmacists",
        "--notify",
        smtp.url("p@example.com"),
        env=env,
        check=True,
    )
    streams = json.loads(cli("streams", "--format", "json", env=env, check=True).stdout)
    assert {"code": "pharmacists", "label": "Pharmacists", "draws": 0, "last": None, "names": []} in streams
    bad = cli("subscribe", "--score", "500", "--stream", "surgeons", "--notify", smtp.url("q@example.com"), env=env)
    assert bad.returncode == 2 and "pharmacists" in bad.stderr
    config.write_text(config.read_text() + '"Dentists" = "dentists"\n')
    broken = cli("streams", env=env)
    assert broken.returncode == 2 and broken.stderr.count("\n") == 1 and "unknown code 'dentists'" in broken.stderr


def test_an_impossible_optional_field_leaves_it_empty_and_the_draw_is_alerted(
    feed: FeedServer, env: dict, smtp: SMTPSink, webhook: WebhookReceiver
) -> None:
    env = {**env, "CRSWATCH_OPERATOR": webhook.url("operator")}
    _start(feed, env, smtp, ("a", "--score", "520", "--stream", "cec"))
    feed.serve(_day2(drawCutOff="October 29th, 2025 at 2025-02-30 04:35:24 UTC", drawNumberURL="<a href='javascript:alert(1)'>392</a>",
                     mitext="", DrawText1=""))  # fmt: skip
    result = cli("check", "--source", feed.url, env=env, check=True)
    assert "1 new" in result.stdout and "alerts: 1 sent" in result.stdout
    (stored,) = [d for d in table(Path(env["CRSWATCH_DB"]), "draws") if d["number"] == "392"]
    assert stored["tie_break"] is None and stored["url"] is None and stored["crs"] == 509
    text = body_text(smtp.to("a@example.com")[0])
    assert "Tie-break: not published" in text and "javascript" not in text
    (notice,) = [p for p in webhook.posts if "fields left empty" in p["title"]]
    assert "drawCutOff" in notice["message"] and "#392" in notice["title"]
    again = cli("check", "--source", feed.url, env=env, check=True)
    assert "0 new" in again.stdout or "unchanged" in again.stdout
    assert len([p for p in webhook.posts if "fields left empty" in p["title"]]) == 1


def test_an_implausible_round_is_held_reported_and_picked_up_when_fixed(
    feed: FeedServer, env: dict, smtp: SMTPSink, webhook: WebhookReceiver
) -> None:
    env = {**env, "CRSWATCH_OPERATOR": webhook.url("operator")}
    _start(feed, env, smtp, ("a", "--score", "520", "--stream", "cec"))
    for fields, reason in [({"drawCRS": "0"}, "cut-off 0 is outside 1-1200"), ({"drawSize": "250,000"}, "250,000 invitations"),
                           ({"drawDate": "2099-01-21"}, "the draw is dated 2099-01-21, more than a day in the future")]:  # fmt: skip
        feed.serve(_day2(**fields))
        held = cli("check", "--source", feed.url, env=env)
        assert held.returncode == 9, held.stderr
        assert (
            f"crswatch: error: round #392 held, not stored: {reason}" in held.stderr and "Traceback" not in held.stderr
        )
        assert "392" not in {d["number"] for d in table(Path(env["CRSWATCH_DB"]), "draws")}
        status = json.loads(cli("status", "--format", "json", env=env).stdout)
        assert any(reason in p for p in status["problems"])
    assert not smtp.messages
    assert len([p for p in webhook.posts if "is held" in p["title"]]) == 3  # one notice per incident
    assert cli("check", "--source", feed.url, env=env).returncode == 9  # still held: no second notice
    assert len([p for p in webhook.posts if "is held" in p["title"]]) == 3
    feed.serve(FEED_DAY2)
    fixed = cli("check", "--source", feed.url, env=env, check=True)
    assert "1 new" in fixed.stdout and "alerts: 1 sent" in fixed.stdout
    assert json.loads(cli("status", "--format", "json", env=env).stdout)["held"] == []


def test_a_reused_number_with_another_date_or_stream_is_held_not_corrected(
    feed: FeedServer, env: dict, smtp: SMTPSink, webhook: WebhookReceiver
) -> None:
    env = {**env, "CRSWATCH_OPERATOR": webhook.url("operator")}
    _start(feed, env, smtp, ("a", "--score", "800", "--stream", "pnp"), ("b", "--score", "800", "--stream", "cec"))
    feed.serve(FEED_DAY2)
    cli("check", "--source", feed.url, env=env, check=True)
    smtp.wait_for(1)
    sent = len(smtp.messages)
    document = json.loads(FEED_DAY2.read_bytes())
    rounds = {r["drawNumber"]: r for r in document["rounds"]}
    rounds["391"].update(drawDate="2026-01-19", drawDateFull="January 19, 2026")
    rounds["389"]["drawName"] = "Canadian Experience Class"  # was Provincial Nominee Program
    feed.serve(json.dumps(document).encode())
    result = cli("check", "--source", feed.url, env=env)
    assert result.returncode == 9
    assert "edit held for the operator: #391 moved from 2026-01-20 to 2026-01-19" in result.stderr
    assert "#389 moved from stream pnp to cec" in result.stderr and "--accept-edit" in result.stderr
    stored = {d["number"]: d for d in table(Path(env["CRSWATCH_DB"]), "draws")}
    assert stored["391"]["date"] == "2026-01-20" and stored["389"]["stream"] == "pnp"
    assert len(smtp.messages) == sent  # no "corrections" to everyone
    assert len([p for p in webhook.posts if "is held" in p["title"]]) == 2
    accepted = cli("check", "--source", feed.url, "--accept-edit", "391", "--accept-edit", "#389", env=env, check=True)
    assert "2 changed" in accepted.stdout
    assert {d["number"]: d["date"] for d in table(Path(env["CRSWATCH_DB"]), "draws")}["391"] == "2026-01-19"


def test_a_rewritten_date_format_is_the_same_date(feed: FeedServer, env: dict, db_path: Path) -> None:
    document = json.loads(FEED_DAY2.read_bytes())
    feed.serve(json.dumps(document).encode())
    cli("check", "--source", feed.url, env=env, check=True)
    document["rounds"][1]["drawDate"] = "20-01-2026"  # IRCC has rewritten dates this way: same day
    feed.serve(json.dumps(document).encode())
    result = cli("check", "--source", feed.url, env=env, check=True)
    assert "1 changed" in result.stdout


def test_a_file_source_is_checked_before_it_is_read(env: dict, tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as out:  # sparse: 17 MiB that were never written
        out.truncate(17 * 1024 * 1024)
    result = cli("check", "--source", huge.as_uri(), env=env)
    assert result.returncode == 4 and "larger than 16,777,216 bytes" in result.stderr
    missing = cli("check", "--source", (tmp_path / "nope.json").as_uri(), env=env)
    assert missing.returncode == 3 and "No such file" in missing.stderr and "Traceback" not in missing.stderr
    assert (
        "retr" not in missing.stderr.lower()
    )  # no network retries for a file (no wall-clock bound: the machine may be loaded)


def test_a_redirect_to_an_internal_address_is_refused(feed: FeedServer, env: dict) -> None:
    feed.serve(b"", status=302, Location="http://169.254.169.254/latest/meta-data/")
    result = cli("check", "--source", feed.url, env=env)
    assert result.returncode == 3
    assert "redirect refused: a loopback, private or link-local address" in result.stderr
    assert len(feed.requests) == 1
