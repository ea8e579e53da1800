"""Subscriber commands end to end (the real CLI, real apprise parsing, real TinyDB files)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from helpers import cli
from servers import SMTPSink, WebhookReceiver, body_text

SECRET_MAIL = "mailto://alice:S3cretPassw0rd@gmail.com"
SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general"
TWILIO = "twilio://AC3a1b2c3d4e5f60718293a4b5c6d7e8f9:0f1e2d3c4b5a69788796a5b4c3d2e1f0@15551234567/15557654321"
SECRETS = ("S3cretPassw0rd", "TIiajkdnlazkcOXrIdevi7FQ", "0f1e2d3c4b5a69788796a5b4c3d2e1f0")


def _db_bytes(db_path: Path) -> dict[str, bytes]:
    """The draws file's bytes and the SQL store's content (a dump: SQLite's pages may move)."""
    found = {str(db_path): db_path.read_bytes()} if db_path.exists() else {}
    store = db_path.with_name(db_path.stem + ".sqlite")
    if store.exists():
        with closing(sqlite3.connect(store)) as conn:
            found[str(store)] = "\n".join(conn.iterdump()).encode()
    return found


def _subscribe(env: dict, *args: str) -> str:
    return cli("subscribe", *args, env=env, check=True).stdout.strip()


def test_subscribe_prints_an_id_and_json_record(env: dict, db_path: Path) -> None:
    sub_id = _subscribe(env, "--score", "505", "--notify", SECRET_MAIL)
    assert len(sub_id) == 8
    record = json.loads(cli("subscribe", "--score", "510", "--notify", SLACK, "--stream", "cec", "--stream", "french",
                            "--within", "25", "--profile-created", "2025-10-01T10:30:00-04:00", "--name", "Bob",
                            "--format", "json", env=env, check=True).stdout)  # fmt: skip
    assert record["score"] == 510 and record["within"] == 25 and record["streams"] == ["cec", "french"]
    assert record["profile_created"] == "2025-10-01T14:30:00Z"  # stored in UTC
    assert record["status"] == "active" and record["token"].startswith(record["id"] + ".")
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in json.dumps(record)
    listing = json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)
    defaults = next(r for r in listing if r["id"] == sub_id)
    assert defaults["within"] == 10 and defaults["streams"] == ["cec", "fsw", "fst"]


def test_database_files_are_private(env: dict, db_path: Path) -> None:
    _subscribe(env, "--score", "505", "--notify", SECRET_MAIL)
    for path in _db_bytes(db_path):
        assert Path(path).stat().st_mode & 0o777 == 0o600, path


def test_same_channel_twice_updates_instead_of_duplicating(env: dict) -> None:
    first = _subscribe(env, "--score", "480", "--notify", SECRET_MAIL)
    second = cli(
        "subscribe", "--score", "495", "--within", "5", "--notify", SECRET_MAIL, "--notify", TWILIO, env=env, check=True
    )
    assert second.stdout.strip() == first and "already subscribed" in second.stderr
    (only,) = json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)
    assert only["score"] == 495 and only["within"] == 5 and len(only["channels"]) == 2


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_listing_never_shows_a_secret(env: dict, fmt: str) -> None:
    _subscribe(env, "--score", "480", "--notify", SECRET_MAIL)
    _subscribe(env, "--score", "481", "--notify", SLACK)
    _subscribe(env, "--score", "482", "--notify", TWILIO)
    out = cli("subscribers", "--format", fmt, env=env, check=True).stdout
    assert "gmail.com" in out and "slack://" in out and "twilio://" in out
    for secret in SECRETS:
        assert secret not in out


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        (["--score", "1300"], ["score 1300 is out of range"]),
        (["--score", "high"], ["score 'high' is not a number"]),
        (["--score", "500", "--within", "500"], ["within 500 is out of range"]),
        (["--score", "500", "--stream", "pilots"], ["unknown stream 'pilots'; valid streams: cec fsw fst pnp french"]),
        (["--score", "500", "--profile-created", "last spring"], ["'last spring' is not an ISO 8601 date"]),
        (["--score", "500", "--profile-created", "2099-01-01"], ["is in the future"]),
        (
            ["--score", "-1", "--stream", "x", "--profile-created", "2099-01-01"],
            ["score -1 is out of range", "unknown stream 'x'", "in the future"],
        ),
    ],
)
def test_validation_errors_exit_2_one_line_each_and_change_nothing(
    env: dict, db_path: Path, args: list[str], messages: list[str]
) -> None:
    _subscribe(env, "--score", "470", "--notify", SLACK)
    before = _db_bytes(db_path)
    result = cli("subscribe", *args, "--notify", SECRET_MAIL, env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(messages)
    for line, message in zip(lines, messages, strict=True):
        assert line.startswith("crswatch: error: ") and message in line
    assert _db_bytes(db_path) == before


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mailto://bob:Hunter2Secret@", "channel 1 (mailto://…) cannot be used: apprise cannot read"),
        ("notaservice://user:Hunter2Secret@host", "apprise knows no service 'notaservice'"),
        ("Hunter2Secret", "not an apprise URL"),
    ],
)
def test_bad_channel_urls_say_which_and_never_echo_the_secret(env: dict, db_path: Path, url: str, message: str) -> None:
    result = cli("subscribe", "--score", "500", "--notify", url, env=env)
    assert result.returncode == 2 and message in result.stderr
    assert "Hunter2Secret" not in result.stderr + result.stdout
    assert not db_path.exists()


def test_real_apprise_urls_are_accepted(env: dict, smtp: SMTPSink, webhook: WebhookReceiver) -> None:
    for url in (SECRET_MAIL, SLACK, TWILIO, webhook.url(), smtp.url("c@example.com"), "ntfy://crswatch-topic"):
        _subscribe(env, "--score", "500", "--notify", url)
    assert len(json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)) == 6


def test_update_pause_resume_unsubscribe(env: dict) -> None:
    created = json.loads(
        cli("subscribe", "--score", "480", "--notify", SECRET_MAIL, "--format", "json", env=env, check=True).stdout
    )
    sub_id, token = created["id"], created["token"]  # the token is shown once, when made; only its hash is stored
    again = json.loads(
        cli("subscribe", "--score", "480", "--notify", SECRET_MAIL, "--format", "json", env=env, check=True).stdout
    )
    assert again["id"] == sub_id and "token" not in again
    out = cli("update", sub_id, "--score", "486", "--stream", "healthcare", "--within", "0", env=env, check=True).stdout
    assert "score 486, within 0, streams healthcare" in out
    assert "is paused" in cli("pause", sub_id, env=env, check=True).stdout
    assert json.loads(cli("subscribers", "--format", "json", env=env).stdout)[0]["status"] == "paused"
    assert "is active" in cli("resume", token, env=env, check=True).stdout
    assert f"unsubscribed {sub_id}" in cli("unsubscribe", token, env=env, check=True).stdout
    assert json.loads(cli("subscribers", "--format", "json", env=env).stdout) == []
    # the channel is free again
    assert _subscribe(env, "--score", "480", "--notify", SECRET_MAIL) != sub_id


@pytest.mark.parametrize(
    "command",
    [
        ["update", "zzzzzzzz", "--score", "500"],
        ["pause", "zzzzzzzz"],
        ["resume", "zzzzzzzz"],
        ["unsubscribe", "zzzzzzzz"],
        ["test-alert", "zzzzzzzz"],
    ],
)
def test_unknown_id(env: dict, command: list[str]) -> None:
    result = cli(*command, env=env)
    assert result.returncode == 2 and "no subscriber with id or token 'zzzzzzzz'" in result.stderr


def test_wrong_token_is_refused(env: dict) -> None:
    sub_id = _subscribe(env, "--score", "480", "--notify", SECRET_MAIL)
    result = cli("unsubscribe", f"{sub_id}.forged-token", env=env)
    assert result.returncode == 2
    assert len(json.loads(cli("subscribers", "--format", "json", env=env).stdout)) == 1


def test_update_needs_something_to_change(env: dict) -> None:
    sub_id = _subscribe(env, "--score", "480", "--notify", SECRET_MAIL)
    result = cli("update", sub_id, env=env)
    assert result.returncode == 2 and "nothing to change" in result.stderr


def test_import_all_or_nothing_with_line_numbers(env: dict, db_path: Path, tmp_path: Path) -> None:
    existing = _subscribe(env, "--score", "470", "--notify", SECRET_MAIL)
    before = _db_bytes(db_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "name,score,within,streams,profile_created,channels\n"
        f"Ann,501,,,,{SLACK}\n"
        "Ben,9999,,,,mailto://ben:pw@example.com\n"
        "Cy,480,15,cec pilots,,mailto://cy:pw@example.com\n"
        "Di,480,,,,\n"
    )
    result = cli("import", str(bad), env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("crswatch: error: line 3: score 9999 is out of range")
    assert lines[1].startswith("crswatch: error: line 4: unknown stream 'pilots'")
    assert lines[2].startswith("crswatch: error: line 5: at least one channel")
    assert _db_bytes(db_path) == before
    good = tmp_path / "good.csv"
    good.write_text(
        "name,score,within,streams,profile_created,channels\n"
        f"Ann,501,,,,{SLACK}\n"
        f"Ben,512,20,cec french,2025-09-30,{TWILIO} ntfy://ben-topic\n"
        f"Alice,475,,,,{SECRET_MAIL}\n"
    )
    assert "imported 3 row(s): 2 new, 1 updated" in cli("import", str(good), env=env, check=True).stdout
    rows = {r["name"] or r["id"]: r for r in json.loads(cli("subscribers", "--format", "json", env=env).stdout)}
    assert rows["Ann"]["within"] == 10 and rows["Ann"]["streams"] == ["cec", "fsw", "fst"]
    assert rows["Ben"]["streams"] == ["cec", "french"] and rows["Ben"]["profile_created"] == "2025-09-30T00:00:00Z"
    assert len(rows["Ben"]["channels"]) == 2
    assert rows["Alice"]["id"] == existing and rows["Alice"]["score"] == 475


def test_test_alert_arrives_by_mail_and_webhook(env: dict, smtp: SMTPSink, webhook: WebhookReceiver) -> None:
    sub_id = _subscribe(env, "--score", "505", "--notify", smtp.url("dana@example.com"), "--notify", webhook.url())
    result = cli("test-alert", sub_id, env=env, check=True)
    assert result.stdout.count("delivered") == 2
    smtp.wait_for(1)
    (mail,) = smtp.to("dana@example.com")
    assert mail["Subject"] == "crswatch test alert" and "CRS score 505" in body_text(mail)
    (post,) = webhook.posts
    assert post["title"] == "crswatch test alert" and "CRS score 505" in post["message"]


def test_test_alert_reports_a_channel_that_is_down(env: dict, smtp: SMTPSink) -> None:
    down = SMTPSink()  # a port with nothing listening
    sub_id = _subscribe(
        env, "--score", "505", "--notify", smtp.url("ok@example.com"), "--notify", down.url("down@example.com")
    )
    result = cli("test-alert", sub_id, env=env)
    assert result.returncode == 8
    lines = result.stdout.strip().splitlines()
    assert lines[0].endswith("delivered")
    assert "FAILED" in lines[1] and "down%40example.com" in lines[1] or "down@example.com" in lines[1]
    assert "1 of 2 channels failed" in result.stderr
