"""The e-mail fast path of notifier/mail.py (written by notifier/send.py): the messages it writes and the URLs it may skip parsing."""

from __future__ import annotations

import email.policy
import json
from email import message_from_bytes
from pathlib import Path

import pytest
from helpers import FeedServer, cli, outbox, snapshot
from servers import SMTPSink

from crswatch.notifier.channels import load
from crswatch.notifier.mail import Accounts, _mail, _only_recipient
from crswatch.notifier.outgoing import HTML, TEXT, Outgoing, recipient_key
from crswatch.notifier.send import send
from crswatch.notifier.services import Services


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("mailto://127.0.0.1:25?from=a@example.com&to=mei@example.com", "mei@example.com"),
        ("mailto://127.0.0.1:25?to=mei%40example.com&from=a@example.com", "mei@example.com"),
        ("mailtos://u:p@smtp.example.com?to=mei@example.com", "mei@example.com"),
        ("mailto://127.0.0.1:25?from=a@example.com&to=a@example.com,b@example.com", None),  # two recipients
        ("mailto://127.0.0.1:25?from=a@example.com&to=Mei <mei@example.com>", None),  # a display name
        ("mailto://127.0.0.1:25?from=a@example.com&to=mei@example.com&cc=c@example.com", None),
        ("mailto://127.0.0.1:25?from=a@example.com&to=mei@example.com&to=x@example.com", None),
        ("mailto://u:p@gmail.com", None),  # the recipient comes from the login: apprise decides
        ("mailto://127.0.0.1:25?from=a@example.com&to=not-an-address", None),
    ],
)
def test_only_plain_single_recipients_skip_the_parse(url: str, address: str | None) -> None:
    assert _only_recipient(url) == address


def test_a_reused_parse_gives_the_same_recipients_as_apprise() -> None:
    accounts = Accounts()
    urls = [f"mailto://127.0.0.1:2525?from=crswatch@example.com&to=s{i}@example.com" for i in range(3)]
    for url in urls:
        plugin, targets, dropped = accounts.recipients(Outgoing("k", url))  # type: ignore[misc]
        assert dropped == ""
        assert [address for _, address in targets] == [address for _, address in load(url).targets]
        assert plugin.from_addr[1] == "crswatch@example.com"


def test_messages_are_valid_utf8_multipart_with_our_own_renderings() -> None:
    url = "mailto://127.0.0.1:2525?from=crswatch@example.com&to=mei@example.com"
    plugin = load(url)
    title = "Express Entry draw #392 Programme régional — cut-off 509 (you are invited)"
    bodies = {TEXT: "Ligne 1: é\nLine 2 " + "x" * 200, HTML: "<p>é &amp; <b>bold</b></p>"}
    recipients, data = _mail(plugin, Outgoing("k", url, title, bodies), list(plugin.targets))
    assert recipients == ["mei@example.com"]
    assert all(len(line) <= 998 for line in data.split(b"\r\n")) and b"\n" not in data.replace(b"\r\n", b"")
    message = message_from_bytes(data, policy=email.policy.default)
    assert (
        message["Subject"] == title and message["To"] == "mei@example.com" and message["From"] == "crswatch@example.com"
    )
    assert message["Message-ID"] and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_payload()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content() == bodies[TEXT] and html.get_content() == bodies[HTML]


def test_a_header_value_cannot_inject_lines() -> None:
    url = "mailto://127.0.0.1:2525?from=crswatch@example.com&to=mei@example.com"
    plugin = load(url)
    _, data = _mail(
        plugin, Outgoing("k", url, "hi\r\nBcc: evil@example.com", {TEXT: "t", HTML: "h"}), list(plugin.targets)
    )
    assert b"\r\nBcc:" not in data


def test_the_fast_path_delivers_to_a_real_smtp_server(smtp: SMTPSink) -> None:
    result = send(smtp.url("mei@example.com"), "Über-title", {TEXT: "bödy", HTML: "<p>bödy</p>"}, Services())
    assert result.ok
    smtp.wait_for(1)
    (message,) = smtp.to("mei@example.com")
    assert message["Subject"] == "Über-title"


def _copies(sink: SMTPSink) -> dict[str, int]:
    copies: dict[str, int] = {}
    for message in sink.messages:
        for address in message["X-Envelope-To"].split(","):
            copies[address] = copies.get(address, 0) + 1
    return copies


def test_several_recipients_are_one_transaction_each_address_one_copy(smtp: SMTPSink) -> None:
    url = f"mailto://127.0.0.1:{smtp.port}?from=crswatch@example.com&to=a@example.com,b@example.com&cc=c@example.com&bcc=d@example.com"
    result = send(url, "t", {TEXT: "x", HTML: "<p>x</p>"}, Services())
    assert result.ok, result.error
    smtp.wait_for(1)
    assert _copies(smtp) == {"a@example.com": 1, "b@example.com": 1, "c@example.com": 1, "d@example.com": 1}
    (message,) = smtp.messages
    assert (
        message["To"] == "a@example.com, b@example.com" and message["Cc"] == "c@example.com" and message["Bcc"] is None
    )


def test_a_refused_recipient_fails_the_message_and_its_retry_goes_to_it_alone(
    feed: FeedServer, env: dict, tmp_path: Path
) -> None:
    """The whole path: `subscribe` accepts `to=a,b&cc=c`; the server refuses b's RCPT; a and c
    have their copy, the delivery fails naming b, and each retry goes to b only."""
    sink = SMTPSink(misbehave={"b@example.com": "reject"}).start()
    try:
        config = Path(env["CRSWATCH_CONFIG"])
        config.write_text(config.read_text().replace("retry_base = 1", "retry_base = 0.01"))
        feed.serve(snapshot("2026-01-20"))
        cli("check", "--source", feed.url, env=env, check=True)
        url = (
            f"mailto://127.0.0.1:{sink.port}?from=crswatch@example.com&to=a@example.com,b@example.com&cc=c@example.com"
        )
        cli("subscribe", "--score", "520", "--stream", "cec", "--notify", url, env=env, check=True)
        feed.serve(snapshot("2026-01-21"))
        first = cli("check", "--source", feed.url, env=env, check=True)
        assert "alerts: 0 sent, 1 failed" in first.stdout
        (delivery,) = outbox(env)
        assert delivery["status"] == "failed" and "b@example.com: 550" in delivery["last_error"]
        assert "a@example.com" not in json.dumps(delivery)  # the outbox keeps which took it as hashes only
        assert _copies(sink) == {"a@example.com": 1, "c@example.com": 1}
        cli("check", "--source", feed.url, env=env, check=True)  # b still refused: a and c get nothing more
        assert _copies(sink) == {"a@example.com": 1, "c@example.com": 1}
        del sink.misbehave["b@example.com"]
        last = cli("check", "--source", feed.url, env=env, check=True)
        assert "alerts: 1 sent" in last.stdout
        assert _copies(sink) == {"a@example.com": 1, "b@example.com": 1, "c@example.com": 1}
        assert [d["status"] for d in outbox(env)] == ["sent"]
    finally:
        sink.stop()


def test_the_recipient_key_is_case_blind() -> None:
    assert recipient_key(" Mei@Example.com") == recipient_key("mei@example.com") != recipient_key("mai@example.com")
