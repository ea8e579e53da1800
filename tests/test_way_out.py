"""Every alert carries a way out: `serve` refuses to start without one, `check` and `status` warn
when web subscribers' alerts would have none, and compose gives every sending service the public
address.  The real `crswatch serve`, a real sign-up, real alerts to a local SMTP server."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import yaml
from helpers import FAST_CONFIG, ROOT, FeedServer, cli, snapshot
from pages import Site, feed_with_draw_393
from servers import SMTPSink, body_text

NO_WAY_OUT = "web subscribers' alerts carry no way to stop them"


def test_serve_refuses_to_start_without_a_public_url_or_a_contact(env: dict, smtp: SMTPSink) -> None:
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(FAST_CONFIG + f'\n[web]\nemail_channel = "{smtp.url("{email}")}"\n')
    folder = Path(env["CRSWATCH_DB"]).parent
    before = sorted(folder.iterdir())
    result = cli("serve", "--port", "1", env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"crswatch: error: serve refused: {NO_WAY_OUT}") and result.stderr.count("\n") == 1
    assert "CRSWATCH_PUBLIC_URL" in result.stderr and "CRSWATCH_CONTACT" in result.stderr
    assert sorted(folder.iterdir()) == before  # refused before anything was made on disk
    with socket.socket() as taken:  # with a contact it goes on, as far as the (taken) port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = cli("serve", "--port", port, env={**env, "CRSWATCH_CONTACT": "help@example.com"}, timeout=60)
    assert result.returncode == 2 and "cannot listen on 127.0.0.1:" in result.stderr, result.stderr


def test_web_subscribers_alerts_always_carry_a_way_out(
    env: dict, smtp: SMTPSink, feed: FeedServer, tmp_path: Path
) -> None:
    feed.serve(snapshot("2026-01-20"))
    cli("check", "--source", feed.url, env=env, check=True)
    site = Site(env, smtp)  # serve knows its public address...
    try:
        site.sign_up("amal@example.com", score=515)
        site.confirm(site.confirmation_link("amal@example.com"))
    finally:
        site.close()
    alone = tmp_path / "sender.toml"  # ...the process that sends the alerts does not (compose's old mistake)
    alone.write_text(FAST_CONFIG)
    sender = {**env, "CRSWATCH_CONFIG": str(alone)}

    status = cli("status", env=sender)
    assert status.returncode == 0 and f"  warning: {NO_WAY_OUT}" in status.stdout  # said, though healthy
    assert json.loads(cli("status", "--format", "json", env=sender).stdout)["warnings"][0].startswith(NO_WAY_OUT)
    feed.serve(snapshot("2026-01-21"))
    check = cli("check", "--source", feed.url, env=sender)
    assert check.returncode == 0 and f"crswatch: warning: {NO_WAY_OUT}" in check.stderr, check.stderr
    (alert,) = [m for m in smtp.to("amal@example.com") if "392" in m["Subject"]]
    assert "ask the operator to run: crswatch unsubscribe" in body_text(alert) and alert["List-Unsubscribe"] is None

    contact = cli("status", env={**sender, "CRSWATCH_CONTACT": "help@example.com"})
    assert NO_WAY_OUT not in contact.stdout
    public = {**sender, "CRSWATCH_PUBLIC_URL": "https://alerts.example.com"}
    assert NO_WAY_OUT not in cli("status", env=public).stdout
    feed.serve(feed_with_draw_393())
    assert "1 sent" in cli("check", "--source", feed.url, env=public, check=True).stdout
    (alert,) = [m for m in smtp.to("amal@example.com") if "393" in m["Subject"]]
    assert alert["List-Unsubscribe"].startswith("<https://alerts.example.com/unsubscribe/")
    assert "https://alerts.example.com/unsubscribe/" in body_text(alert)


def test_compose_gives_every_sending_service_the_way_out() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    for name, service in compose["services"].items():
        command = service["command"]
        if {"run", "check", "serve"} & set(command):  # each of those sends alerts or confirmations
            for variable in ("CRSWATCH_PUBLIC_URL", "CRSWATCH_CONTACT"):
                assert variable in service["environment"], (name, variable)
