""" "Sent" means a server accepted it: a channel that cannot reach a recipient it names is refused
by every command that takes one, one that was stored before is a failure (never "sent") when an
alert goes out, and apprise's own log lines are masked like crswatch's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import FeedServer, cli, outbox, snapshot, store_of
from servers import SMTPSink, WebhookReceiver

from crswatch.subscribers.manage import Defaults, subscribe

BAD_RECIPIENTS = ["priya.example.com", "bad@@example", "justtext"]


def _mail(sink: SMTPSink, to: str) -> str:
    return f"mailto://127.0.0.1:{sink.port}?from=crswatch@example.com&to={to}"


def _subscribers(env: dict) -> list[dict]:
    return json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)


@pytest.mark.parametrize("to", BAD_RECIPIENTS)
def test_subscribe_refuses_an_e_mail_channel_without_a_valid_recipient(env: dict, smtp: SMTPSink, to: str) -> None:
    result = cli("subscribe", "--score", "510", "--notify", _mail(smtp, to), env=env)
    assert result.returncode == 2
    assert (
        result.stderr
        == f"crswatch: error: channel 1 (mailto://…) cannot be used: it would not reach every recipient: '{to}' is not an e-mail address\n"
    )
    assert _subscribers(env) == []


def test_none_of_three_mistyped_channels_is_stored_so_none_share_a_key(env: dict, smtp: SMTPSink) -> None:
    for to in BAD_RECIPIENTS:
        assert cli("subscribe", "--score", "510", "--notify", _mail(smtp, to), env=env).returncode == 2
    assert cli("subscribe", "--score", "510", "--notify", _mail(smtp, "priya@example.com"), env=env).returncode == 0
    assert len(_subscribers(env)) == 1


@pytest.mark.parametrize(
    "url",
    [
        "mailto://127.0.0.1:2525?from=crswatch@example.com&to=a@example.com,justtext",  # one of two
        "mailto://127.0.0.1:2525?from=crswatch@example.com&to=a@example.com&cc=bad@@example",
        "twilio://AC0123456789abcdef0123456789abcdef:0123456789abcdef0123456789abcdef@15551234567/123",  # apprise drops the number
        "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/!!bad",
    ],
)
def test_any_dropped_target_is_refused(env: dict, url: str) -> None:
    result = cli("subscribe", "--score", "510", "--notify", url, env=env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "it would not reach every recipient" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_sender_is_named(env: dict) -> None:
    result = cli("subscribe", "--score", "510", "--notify", "mailto://127.0.0.1:2525?to=priya@example.com", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "crswatch: error: channel 1 (mailto://…) cannot be used: from= is missing: name the sender's address"
    )
    result = cli(
        "subscribe", "--score", "510", "--notify", "mailto://127.0.0.1:2525?from=crswatch&to=priya@example.com", env=env
    )
    assert "from= is not an e-mail address" in result.stderr and result.returncode == 2


def test_update_and_import_refuse_it_too(env: dict, smtp: SMTPSink, tmp_path: Path) -> None:
    cli("subscribe", "--score", "510", "--notify", _mail(smtp, "priya@example.com"), env=env, check=True)
    (sub,) = _subscribers(env)
    result = cli("update", sub["id"], "--notify", _mail(smtp, "justtext"), env=env)
    assert result.returncode == 2 and "'justtext' is not an e-mail address" in result.stderr
    assert _subscribers(env)[0]["channels"] == sub["channels"]
    (tmp_path / "people.csv").write_text(f"name,score,within,streams,profile_created,channels\nAnn,501,,,,{_mail(smtp, 'ann@example.com')}\n"
                                         f"Ben,512,,,,{_mail(smtp, 'bad@@example')}\n")  # fmt: skip
    result = cli("import", str(tmp_path / "people.csv"), env=env)
    assert result.returncode == 2 and "line 3" in result.stderr and "bad@@example" in result.stderr
    assert len(_subscribers(env)) == 1


def _legacy(env: dict, url: str) -> str:
    """A subscriber stored by an earlier release, whose channel was never checked; its id."""
    store = store_of(env)
    try:
        with store.write() as conn:
            sub, _ = subscribe(
                conn, score=520, channels=[url], check=lambda u: u, defaults=Defaults(10, ("cec",)), streams=["cec"]
            )
    finally:
        store.dispose()
    return sub.id


def test_test_alert_refuses_a_stored_channel_that_reaches_nobody(env: dict, smtp: SMTPSink) -> None:
    cli("status", env=env)  # the store exists
    sub = _legacy(env, _mail(smtp, "priya.example.com"))
    result = cli("test-alert", sub, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "'priya.example.com' is not an e-mail address" in result.stderr
    assert smtp.messages == []


def test_a_stored_channel_with_a_dropped_recipient_is_a_failure_never_sent(
    feed: FeedServer, env: dict, smtp: SMTPSink
) -> None:
    """The valid recipient gets the alert once; the delivery fails (listed, counted by `status`)
    and its retries never send the valid one a second copy."""
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text().replace("retry_base = 1", "retry_base = 0.01"))
    feed.serve(snapshot("2026-01-20"))
    cli("check", "--source", feed.url, env=env, check=True)
    _legacy(env, _mail(smtp, "nobody.example.com"))
    _legacy(env, _mail(smtp, "mei@example.com,justtext"))
    feed.serve(snapshot("2026-01-21"))
    first = cli("check", "--source", feed.url, env=env, check=True)
    assert "alerts: 0 sent, 2 failed" in first.stdout
    cli("check", "--source", feed.url, env=env, check=True)  # the retries
    failed = outbox(env)
    assert [d["status"] for d in failed] == ["failed", "failed"]
    assert all(
        "does not reach every recipient" in d["last_error"] and "is not an e-mail address" in d["last_error"]
        for d in failed
    )
    assert [m["X-Envelope-To"] for m in smtp.messages] == ["mei@example.com"]
    status = json.loads(cli("status", "--format", "json", env=env).stdout)
    assert status["deliveries"]["failed"] == 2 and status["deliveries"]["sent"] == 0


def test_apprise_log_lines_are_masked_at_vv(env: dict, webhook: WebhookReceiver) -> None:
    """apprise (and urllib3 under it) log the URL they post to: a webhook's path is its secret,
    even when it has no digit in it."""
    webhook.status = 500
    secret = "TSECRETwebhookPATHletters"
    cli("subscribe", "--score", "510", "--notify", webhook.url(f"services/{secret}"), env=env, check=True)
    (sub,) = _subscribers(env)
    result = cli("-vv", "test-alert", sub["id"], env=env)
    assert result.returncode == 8
    assert "POST" in result.stderr and "DEBUG" in result.stderr  # apprise's and urllib3's lines are there
    assert secret not in result.stdout + result.stderr
