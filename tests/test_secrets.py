"""Planted secrets never appear in anything crswatch prints, logs or renders, at any verbosity.

Every channel kind crswatch documents gets a secret; the service channels fail (their HTTPS goes to
a local proxy that refuses, so nothing leaves this machine) and are logged at -vv; the operator and
the web's sender carry secrets too, and so does the feed's URL."""

from __future__ import annotations

import io
import json
import logging
import threading
from pathlib import Path

import pytest
from helpers import FeedServer, cli, snapshot
from pages import Site
from servers import SMTPSink, WebhookReceiver

from crswatch.notifier.channels import mask_url
from crswatch.notifier.mask import SecretFilter, Secrets, delivering, mask_text, scrub
from crswatch.notifier.outgoing import Outgoing
from crswatch.notifier.send import send_many
from crswatch.notifier.services import Services

SECRETS = {
    "mailpw": "Mailpass7734x",
    "slack_a": "A1BRTD4JD",
    "slack_b": "TIiajkdnlazkcOXrIdevi7FQ",
    "discord": "JHMHI8qBe7bk2ZwO5U711o3dV_js",
    "tgram": "AABx8iXjE5C-vG4SDhf6ARgdFgxYxhuHb4A",
    "twilio_sid": "AC735c307c62944b5a0123456789abcdef",
    "twilio_token": "e29dfbcebf390dee9b0123456789abcd",
    "ntfy": "Ntfypass991q",
    "header": "BearerTok3nZZ99",
    "path": "PathSecret8812",
    "operator": "OperatorTok77",
    "sender": "Senderpass551",
    "source": "Feedpass4410",
}


def _channels(smtp: SMTPSink, hook: WebhookReceiver) -> list[str]:
    port = hook.httpd.server_address[1]
    s = SECRETS
    return [
        f"mailto://crswatch:{s['mailpw']}@127.0.0.1:{smtp.port}?from=crswatch@example.com&to=dana@example.com&mode=insecure",
        f"slack://T1JJ3T3L2/{s['slack_a']}/{s['slack_b']}/#general",
        f"discord://4174216298/{s['discord']}",
        f"tgram://123456789:{s['tgram']}/-100123",
        f"twilio://{s['twilio_sid']}:{s['twilio_token']}@15551234567/15557654321",
        f"ntfy://dana:{s['ntfy']}@127.0.0.1:{port}/crs-topic",
        f"json://127.0.0.1:{port}/services/{s['path']}?+Authorization=Bearer%20{s['header']}",
    ]


def _leaks(text: str) -> list[str]:
    return [name for name, secret in SECRETS.items() if secret in text]


@pytest.fixture
def proxied(env: dict) -> dict:
    # requests (under apprise) honours these: the service channels fail here, locally
    return {
        **env,
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def test_no_command_prints_a_planted_secret(
    feed: FeedServer, proxied: dict, smtp: SMTPSink, webhook: WebhookReceiver
) -> None:
    env = proxied
    config = Path(env["CRSWATCH_CONFIG"])
    port = webhook.httpd.server_address[1]
    config.write_text(config.read_text().replace("[alerts]\n", f'[alerts]\nmax_attempts = 1\noperator = ["json://127.0.0.1:{port}/ops/{SECRETS["operator"]}?+X-Api-Key={SECRETS["operator"]}"]\n')
                      + f'\n[web]\nemail_channel = "mailto://crswatch:{SECRETS["sender"]}@127.0.0.1:{smtp.port}?from=crswatch@example.com&to={{email}}"\n'
                      f'sms_channel = "json://127.0.0.1:{port}/sms/{SECRETS["path"]}?+Authorization={SECRETS["header"]}&to={{phone}}"\n')  # fmt: skip
    source = feed.url.replace("http://", f"http://feeduser:{SECRETS['source']}@")
    outputs: list[str] = []

    def run(*args: str) -> None:
        result = cli(*args, env=env)
        outputs.append(f"$ crswatch {args[0]} {args[1] if len(args) > 1 else ''}\n{result.stdout}{result.stderr}")

    feed.serve(snapshot("2026-01-20"))
    run("-vv", "check", "--source", source)
    for url in _channels(smtp, webhook):
        run("-vv", "subscribe", "--score", "520", "--stream", "cec", "--notify", url)
    run(
        "subscribe", "--score", "400", "--notify", "nope://" + SECRETS["path"]
    )  # rejected: the error line names no secret
    feed.serve(snapshot("2026-01-21"))
    run("-vv", "check", "--source", source)  # service channels fail, with apprise's debug log
    run("-vv", "check", "--source", source)
    feed.serve(b"down", status=500)
    run("-vv", "check", "--source", source)  # an error line naming the source
    for command in (["subscribers"], ["subscribers", "--format", "json"], ["subscribers", "--format", "csv"],
                    ["deliveries"], ["deliveries", "--format", "json"], ["deliveries", "--status", "dead", "--format", "csv"],
                    ["config"], ["config", "--format", "json"], ["status"], ["status", "--format", "json"]):  # fmt: skip
        run("-vv", *command)
    subscriber = json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)[0]["id"]
    run("-vv", "test-alert", subscriber)
    run("-vv", "check", "--dry-run", "--source", source)
    everything = "\n".join(outputs)
    assert "Failed" in everything or "FAILED" in everything or "dead" in everything  # deliveries did fail
    assert "DEBUG" in everything
    assert _leaks(everything) == [], [o for o in outputs if _leaks(o)][:2]
    notices = json.dumps(
        [{k: v for k, v in post.items() if k != "path"} for post in webhook.posts]
    )  # a hook's path is its own
    assert any("failed" in post.get("title", "") or "dead" in post.get("title", "") for post in webhook.posts)
    assert _leaks(notices) == []


def test_web_pages_and_serve_logs_carry_no_secret(proxied: dict, smtp: SMTPSink) -> None:
    site = Site(
        proxied,
        smtp,
        sms_channel=f"json://127.0.0.1:9/sms/{SECRETS['path']}?+Authorization={SECRETS['header']}&to={{phone}}",
    )
    try:
        pages = [site.get(path).text for path in ("/", "/draws", "/nope")]
        page = site.get("/")
        assert page.status_code == 200
    finally:
        err = site.close()
    assert _leaks("\n".join(pages) + err) == []


@pytest.mark.parametrize(
    ("url", "hidden", "kept"),
    [
        ("json://host/services/SECRETPATH?+Authorization=Bearer%20TOP", ["SECRETPATH", "TOP"], ["json://host/"]),
        ("jsons://u:pw123@host:8443/hook/T0K?-x=1", ["pw123", "T0K"], ["jsons://u:****@host:8443/"]),
        ("form://host/a/b?+X-Api-Key=K3Y", ["K3Y"], ["form://host"]),
        (
            "https://feeduser:Feedpass@feeds.example.com/ee.json?token=abc123",
            ["Feedpass", "abc123"],
            ["feeds.example.com/ee.json"],
        ),
        (
            "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
            ["TIiajkdnlazkcOXrIdevi7FQ"],
            ["hooks.slack.com"],
        ),
        (
            "https://api.telegram.org/bot123456789:AABx8iXjE5C-vG4SDhf6ARgdFgxYxhuHb4A/sendMessage",
            ["AABx8iXjE5C"],
            ["sendMessage"],
        ),
        ("https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json", [], ["ee_rounds_123_en.json"]),
    ],
)
def test_the_generic_rules(url: str, hidden: list[str], kept: list[str]) -> None:
    for masked in (scrub(url), mask_url(url)):
        assert not [h for h in hidden if h in masked], masked
        assert all(k in masked for k in kept), masked


def test_a_deliverys_secrets_are_hidden_while_it_is_sent_and_then_kept_nowhere(webhook: WebhookReceiver) -> None:
    """urllib3 logs the path it posts to, without the URL's scheme: only the delivery's own secrets
    can hide it.  They are hidden in the thread that sends it, and no registry keeps them: the
    app's holds its configuration's secrets only, whatever the number of channels."""
    known = Secrets("ConfigTok3n")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(SecretFilter(known))
    root, urllib3 = logging.getLogger(), logging.getLogger("urllib3")
    levels = root.level, urllib3.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    urllib3.setLevel(logging.DEBUG)
    paths = [f"PathSecret{i:04d}x" for i in range(40)]
    items = [Outgoing(str(i), f"{webhook.url(f'hook/{path}')}?+X-Key=HeaderSecret{i:04d}", "t", {"text": "b", "html": "b"})
             for i, path in enumerate(paths)]  # fmt: skip
    results: dict[str, bool] = {}
    try:
        send_many(items, 8, lambda key, result: results.__setitem__(key, result.ok), services=Services(secrets=known))
        logging.getLogger("crswatch.test").info("the app's ConfigTok3n")
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        urllib3.setLevel(levels[1])
    log = out.getvalue()
    assert results == {str(i): True for i in range(40)} and len(webhook.posts) == 40
    assert '"POST /hook/****' in log  # urllib3 logged each path, masked as it logged it
    assert not [p for p in paths if p in log] and "HeaderSecret" not in log and "ConfigTok3n" not in log
    assert len(known) == 1  # the channels' secrets were never added to the app's
    assert mask_text(paths[0]) == paths[0]  # nor kept anywhere else


def test_a_deliverys_secrets_are_its_threads_alone() -> None:
    seen: list[str] = []
    started, done = threading.Event(), threading.Event()

    def other() -> None:
        started.wait()
        seen.append(mask_text("Alphasecret and Betasecret"))
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with delivering(Secrets("Alphasecret")):
        with delivering(Secrets("Betasecret")):
            seen.append(mask_text("Alphasecret and Betasecret"))
            started.set()
            done.wait()
        seen.append(mask_text("Alphasecret and Betasecret"))
    seen.append(mask_text("Alphasecret and Betasecret", Secrets("Betasecret")))
    thread.join()
    assert seen == [
        "Alphasecret and ****",  # the delivery being sent (an inner one replaces the outer)
        "Alphasecret and Betasecret",  # another thread knows none of them
        "**** and Betasecret",  # the outer one again once the inner ended
        "Alphasecret and ****",  # after both: only what the caller names
    ]
