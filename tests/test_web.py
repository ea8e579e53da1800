"""The subscription pages over real HTTP: `crswatch serve` (waitress) in a subprocess, a real SMTP
server receiving the confirmations, real TinyDB files."""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from bs4 import BeautifulSoup
from helpers import FeedServer, cli, outbox, snapshot, store_of, wait_for_retries
from pages import Site, csrf_token, feed_with_draw_393
from servers import SMTPSink, WebhookReceiver, body_text

from crswatch.subscribers.links import make


@pytest.fixture
def site(env: dict, smtp: SMTPSink) -> Iterator[Site]:
    server = Site(env, smtp)
    yield server
    server.close()


def _subscribers(env: dict) -> list[dict]:
    return json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)


def _confirmed(site: Site, env: dict, address: str) -> tuple[dict, bytes]:
    """Sign `address` up and confirm it; (the subscriber, the key that signs alert links)."""
    site.sign_up(address)
    site.confirm(site.confirmation_link(address))
    (sub,) = [s for s in _subscribers(env) if s["status"] == "active"]
    return sub, _link_key(env)


def _link_key(env: dict) -> bytes:
    from crswatch.store.kv import secret

    store = store_of(env)
    try:
        return secret(store, "links")
    finally:
        store.dispose()


def test_the_form_is_labelled_and_secured(site: Site) -> None:
    page = site.get("/")
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    labels = {label["for"] for label in soup.find_all("label")}
    for field in soup.find_all("input"):
        if field["type"] != "hidden":
            assert field["id"] in labels, f"input {field['name']} has no label"
    assert soup.find("meta", attrs={"name": "viewport"}) is not None
    headers = page.headers
    assert (
        "default-src 'none'" in headers["Content-Security-Policy"]
        and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    )
    assert headers["Referrer-Policy"] == "no-referrer" and headers["X-Frame-Options"] == "DENY"
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Lax" in headers["Set-Cookie"]


def test_sign_up_confirm_manage_unsubscribe(site: Site, env: dict, db_path: Path) -> None:
    answer = site.sign_up(
        "ana@example.com", score=505, streams=("cec", "french"), within="15", profile_created="2025-09-01T10:00:00"
    )
    assert answer.status_code == 200 and "Check your e-mail" in answer.text
    assert _subscribers(env) == []  # pending until confirmed: nothing is sent there yet
    assert json.loads(cli("status", "--format", "json", env=env).stdout)["pending_sign_ups"] == 1
    link = site.confirmation_link("ana@example.com")
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 40
    (confirmation,) = site.smtp.to("ana@example.com")  # it repeats what was asked for
    assert (
        "CRS score 505, close means within 15 points, for: Canadian Experience Class; French-language proficiency category; "
        "profile submitted 2025-09-01 10:00:00 UTC." in body_text(confirmation)
    )

    def stored() -> bytes:
        with closing(sqlite3.connect(db_path.with_name(db_path.stem + ".sqlite"))) as conn:
            return "\n".join(conn.iterdump()).encode()

    deadline = time.monotonic() + 60  # the message, link included, is erased once the server accepted it
    while token.encode() in stored() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b"ana@example.com" in stored()
    assert token.encode() not in stored()  # only its hash is kept

    shown = site.get(link.removeprefix(site.base))  # what a mail scanner does: nothing changes
    assert shown.status_code == 200 and "Confirm my alerts" in shown.text and "505" in shown.text
    assert shown.headers["Cache-Control"] == "no-store" and _subscribers(env) == []
    confirmed = site.confirm(link)
    assert confirmed.status_code == 200 and "Subscription active" in confirmed.text
    assert confirmed.headers["Cache-Control"] == "no-store"
    (sub,) = _subscribers(env)
    assert (sub["score"], sub["within"], sub["streams"], sub["status"]) == (505, 15, ["cec", "french"], "active")
    assert sub["profile_created"] == "2025-09-01T10:00:00Z"
    again = site.get(link.removeprefix(site.base))  # single use, and a second visit says so
    assert again.status_code == 410 and "already used" in again.text
    assert site.post(link.removeprefix(site.base), {}, csrf_from="/").status_code == 410

    manage = BeautifulSoup(confirmed.text, "html.parser").find("a", string="change your settings now")["href"]
    path = manage.removeprefix(site.base)
    page = site.get(path)
    assert page.status_code == 200 and "mailto" not in page.text and "127.0.0.1:" + str(site.smtp.port) not in page.text
    field = BeautifulSoup(page.text, "html.parser").find("input", id="profile_created")
    assert field["value"] == "2025-09-01T10:00:00" and "UTC" in page.text  # the time the at-the-cut-off alert asks for
    saved = site.post(
        path,
        {"score": "512", "within": "5", "streams": ["cec"], "paused": "on", "profile_created": "2025-08-01T09:30:00"},
        csrf_from=path,
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    (sub,) = _subscribers(env)
    assert (sub["score"], sub["within"], sub["streams"], sub["status"]) == (512, 5, ["cec"], "paused")
    assert sub["profile_created"] == "2025-08-01T09:30:00Z"
    bad = site.post(path, {"score": "5000", "within": "5", "streams": ["cec"]}, csrf_from=path)
    assert bad.status_code == 400 and "score" in bad.text and _subscribers(env)[0]["score"] == 512

    unsubscribe = path.replace("/manage/", "/unsubscribe/")
    shown = site.get(unsubscribe)  # a mail scanner's GET changes nothing
    assert shown.status_code == 200 and len(_subscribers(env)) == 1
    done = site.post(unsubscribe, {}, csrf_from=unsubscribe)
    assert done.status_code == 200 and "unsubscribed" in done.text and _subscribers(env) == []
    again = site.get(unsubscribe)
    assert again.status_code == 410 and "You are unsubscribed" in again.text


def test_csrf_is_required_on_every_form(site: Site, env: dict) -> None:
    form = {"email": "x@example.com", "score": "500", "streams": ["cec"]}
    assert site.post("/", form).status_code == 400
    assert site.post("/", {**form, "csrf_token": "forged"}).status_code == 400
    stranger = requests.Session()  # a real token, but from another browser's session
    refused = stranger.post(site.base + "/", data={**form, "csrf_token": csrf_token(site.get("/").text)}, timeout=10)
    assert refused.status_code == 400 and "expired" in refused.text
    assert not site.smtp.messages
    sub, key = _confirmed(site, env, "x@example.com")
    token = make(key, sub["id"])
    assert site.get(f"/manage/{token}").status_code == 200
    assert site.post(f"/manage/{token}", {"score": "1", "streams": ["cec"]}).status_code == 400
    assert site.post(f"/unsubscribe/{token}", {}).status_code == 400
    assert _subscribers(env)[0]["score"] == 510  # neither form without its token changed anything


def _age_pending_sign_ups(env: dict) -> None:
    """Make every pending sign-up's confirmation link older than its expiry (as two days would)."""
    from sqlalchemy import update

    from crswatch.subscribers.tables import pending

    store = store_of(env)
    try:
        with store.write() as conn:
            conn.execute(update(pending).values(expires=datetime.now(UTC) - timedelta(hours=1)))
    finally:
        store.dispose()


def test_forged_expired_and_reused_tokens_are_refused(env: dict, smtp: SMTPSink, db_path: Path) -> None:
    site = Site(env, smtp)
    try:
        site.sign_up("late@example.com")
        link = site.confirmation_link("late@example.com")
        _age_pending_sign_ups(env)
        expired = site.get(link.removeprefix(site.base))
        assert expired.status_code == 410 and "has expired" in expired.text
        assert site.post(link.removeprefix(site.base), {}, csrf_from="/").status_code == 410
        assert site.get("/confirm/" + "A" * 43).status_code == 404
        for forged in ("/manage/abc", "/unsubscribe/abc", "/manage/ImFiY2RlZmdoIg.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"):
            assert site.get(forged).status_code == 404
        assert _subscribers(env) == []
    finally:
        site.close()


def test_tampered_alert_link_is_refused(site: Site, env: dict) -> None:
    sub, key = _confirmed(site, env, "t@example.com")
    good = make(key, sub["id"])
    assert site.get(f"/manage/{good}").status_code == 200
    assert site.get(f"/manage/{make(b'another key' * 3, sub['id'])}").status_code == 404  # right shape, wrong key
    altered = (
        good[:-6] + ("A" if good[-6] != "A" else "B") + good[-5:]
    )  # not the last character, whose low bits base64 may ignore
    assert site.get(f"/manage/{altered}").status_code == 404  # altered signature
    gone = site.get(f"/manage/{make(key, 'zzzzzzzz')}")  # signed, but nobody (any more)
    assert gone.status_code == 410 and "You are unsubscribed" in gone.text


def test_same_answer_for_known_and_unknown_addresses(site: Site, env: dict) -> None:
    first = site.sign_up("known@example.com")
    site.confirm(site.confirmation_link("known@example.com"))
    again = site.sign_up("known@example.com")
    unknown = site.sign_up("unknown@example.com")
    assert first.status_code == again.status_code == unknown.status_code == 200
    assert again.text == unknown.text == first.text
    # confirming the second sign-up of a known address updates it: still one subscriber
    site.confirm(site.confirmation_link("known@example.com", nth=2))
    assert [s["channels"] for s in _subscribers(env)].count(_subscribers(env)[0]["channels"]) == 1


def test_rate_limits_per_client_and_per_destination(env: dict, smtp: SMTPSink) -> None:
    site = Site(env, smtp, client_limit="4/minute", destination_limit="1/day")
    try:
        answers = [site.sign_up("flood@example.com") for _ in range(2)]
        assert answers[0].text == answers[1].text  # the second is not sent, and the page does not say so
        smtp.wait_for(1)
        assert len(smtp.to("flood@example.com")) == 1
        site.sign_up("other@example.com")
        site.sign_up("third@example.com")
        blocked = site.sign_up("fourth@example.com")
        assert blocked.status_code == 429
        assert len(smtp.to("fourth@example.com")) == 0
    finally:
        site.close()


def test_input_is_validated_and_escaped(site: Site) -> None:
    evil = "<script>alert(1)</script>"
    answer = site.post("/", {"email": f"{evil}@example.com", "score": evil, "within": "9999", "streams": ["cec", "nope"],
                             "profile_created": "2999-01-01"}, csrf_from="/")  # fmt: skip
    assert answer.status_code == 400
    assert "<script>" not in answer.text and "&lt;script&gt;" in answer.text
    problems = BeautifulSoup(answer.text, "html.parser").find(id="problems").get_text()
    assert "e-mail address does not look valid" in problems
    assert not site.smtp.messages


def test_draws_page_and_charts(site: Site, env: dict) -> None:
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
    page = site.get("/draws")
    assert page.status_code == 200 and "<td>392</td>" in page.text and "Canadian Experience Class" in page.text
    images = [img["src"] for img in BeautifulSoup(page.text, "html.parser").find_all("img")]
    assert "/draws/cec.png" in images
    chart = site.get("/draws/cec.png")
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG") and 10_000 < len(chart.content) < 500_000
    assert site.get("/draws/nothing.png").status_code == 404
    captions = {
        c.get_text(" ", strip=True).split(":")[0]: c.get_text(" ", strip=True)
        for c in BeautifulSoup(page.text, "html.parser").find_all("figcaption")
    }
    since_2024 = json.loads(
        cli("draws", "--stream", "cec", "--since", "2024-01-01", "--format", "json", env=env, check=True).stdout
    )
    assert f"{len(since_2024)} draws since 2024" in captions["Canadian Experience Class"]  # counts what the chart shows
    assert (
        "no current trend" in captions["All-program draws (No Program Specified / General), open to every candidate"]
    )  # last one 2024-04


def test_alerts_carry_working_links(site: Site, env: dict, feed: FeedServer) -> None:
    feed.serve(snapshot("2026-01-20"))
    cli("check", "--source", feed.url, env=env, check=True)
    site.sign_up("link@example.com", score=515)
    site.confirm(site.confirmation_link("link@example.com"))
    feed.serve(snapshot("2026-01-21"))
    assert "alerts: 1 sent" in cli("check", "--source", feed.url, env=env, check=True).stdout
    (alert,) = [m for m in site.smtp.to("link@example.com") if "#392" in m["Subject"]]
    text = body_text(alert)
    unsubscribe = next(word for word in text.split() if "/unsubscribe/" in word)
    assert site.get(unsubscribe.removeprefix(site.base)).status_code == 200
    # the mail provider's RFC 8058 one-click unsubscribe: a POST from elsewhere, with no form token
    assert (
        alert["List-Unsubscribe"] == f"<{unsubscribe}>"
        and alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    )
    assert requests.post(unsubscribe, data={"List-Unsubscribe": "Other"}, timeout=10).status_code == 400
    assert len(_subscribers(env)) == 1
    assert requests.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}, timeout=10).status_code == 200
    assert _subscribers(env) == []
    feed.serve(feed_with_draw_393())
    out = cli("check", "--source", feed.url, env=env, check=True).stdout
    assert "1 new" in out and "sent" not in out
    assert [m["Subject"] for m in site.smtp.to("link@example.com") if "#393" in m["Subject"]] == []


def test_alert_links_expire() -> None:
    from crswatch.subscribers.links import make, read

    key = b"k" * 32
    token = make(key, "abcdefgh")
    assert read(key, token) == "abcdefgh"
    assert read(key, token, max_days=-1) is None  # past its age: refused like a forgery
    assert read(b"x" * 32, token) is None


def test_phone_sign_up_goes_through_the_sms_template(env: dict, smtp: SMTPSink, webhook: WebhookReceiver) -> None:
    # a local webhook stands in for the SMS gateway: the template receives the number in {phone}
    site = Site(env, smtp, sms_channel=webhook.url("sms/{phone}"))
    try:
        assert 'id="phone"' in site.get("/").text
        answer = site.post("/", {"phone": "+1 (555) 123-4567", "score": "500", "streams": ["cec"]}, csrf_from="/")
        assert answer.status_code == 200 and "Check your phone" in answer.text
        deadline = time.monotonic() + 60  # a cap, not a timing: the loop ends when the condition holds
        while not webhook.posts and time.monotonic() < deadline:
            time.sleep(0.05)
        (post,) = webhook.posts
        assert post["path"] == "/sms/15551234567" and "<" not in post["message"]
        link = next(word for word in post["message"].split() if "/confirm/" in word)
        assert site.confirm(link).status_code == 200
        (sub,) = _subscribers(env)
        assert sub["status"] == "active" and len(sub["channels"]) == 1
        bad = site.post("/", {"phone": "12", "score": "500", "streams": ["cec"]}, csrf_from="/")
        assert bad.status_code == 400 and "phone number does not look valid" in bad.text
    finally:
        site.close()


def _deaf_to_ctrl_c() -> None:  # as a script's background job (`crswatch serve &`) starts it, and worse
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def test_serve_stops_on_ctrl_c_even_when_started_with_it_ignored_and_blocked(env: dict, smtp: SMTPSink) -> None:
    site = Site(env, smtp, preexec=_deaf_to_ctrl_c)
    try:
        assert site.get("/").status_code == 200
        site.process.send_signal(signal.SIGINT)
        assert site.process.wait(timeout=60) == 0
    finally:
        site.close()


def test_serve_stops_cleanly_on_sigterm(site: Site) -> None:
    assert site.get("/").status_code == 200
    site.process.terminate()
    assert site.process.wait(timeout=20) == 0


def test_serve_without_a_sender_exits_2(env: dict) -> None:
    result = cli("serve", "--port", "1", env=env, timeout=60)
    assert (
        result.returncode == 2 and "web.email_channel is not set" in result.stderr and "Traceback" not in result.stderr
    )


@pytest.mark.parametrize(
    ("web", "problem"),
    [
        ({}, "web.email_channel is not set"),
        ({"email_channel": "nope://{email}"}, "web.email_channel cannot be used: apprise knows no service 'nope'"),
        (
            {"email_channel": "mailto://127.0.0.1:25?from=a@example.com&to={email}", "sms_channel": "nope://{phone}"},
            "web.sms_channel cannot be used",
        ),
    ],
)
def test_serve_asks_apprise_about_the_web_channels(web: dict, problem: str) -> None:
    from crswatch.config import Web, web_problems

    problems = web_problems(Web(**web))
    assert len(problems) == 1 and problem in problems[0], problems


@pytest.mark.parametrize(
    ("web", "problem"),
    [
        ({"email_channel": "mailto://127.0.0.1:25?from=a@example.com"}, "email_channel must contain {email}"),
        ({"sms_channel": "json://x/sms"}, "sms_channel must contain {phone}"),
        ({"client_limit": "lots"}, "client_limit must read like 10/hour or 3/day, not 'lots'"),
        ({"api_limit": "5 per fortnight"}, "api_limit must read like 10/hour"),
        ({"confirm_hours": 0}, "confirm_hours must be at least 1, not 0"),
        ({"threads": 0}, "threads must be at least 1"),
        ({"port": 70000}, "port must be from 0 to 65535"),
    ],
)
def test_a_bad_web_section_fails_every_command_when_read(web: dict, problem: str, env: dict) -> None:
    """What the values alone tell is checked as the file is read: `check` refuses a bad [web]
    as it refuses a bad [schedule], in one line naming the file, and changes nothing."""
    from crswatch.config import ConfigError, Web

    with pytest.raises(ConfigError, match=re.escape(problem)):
        Web(**web)
    config = Path(env["CRSWATCH_CONFIG"]).with_name("bad-web.toml")
    config.write_text("[web]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in web.items()))
    before = _files(env)
    result = cli("--config", str(config), "check", env=env, timeout=60)
    assert result.returncode == 2 and result.stderr.startswith(f"crswatch: error: {config}: [web] "), result.stderr
    assert problem in result.stderr and len(result.stderr.splitlines()) == 1
    assert _files(env) == before


def test_a_bad_web_sender_in_the_environment_is_named(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from crswatch.config import ConfigError
    from crswatch.config_load import load_config

    monkeypatch.setenv("CRSWATCH_WEB_SMS_CHANNEL", "json://127.0.0.1:9/sms")
    with pytest.raises(ConfigError, match=r"^CRSWATCH_WEB_SMS_CHANNEL: sms_channel must contain \{phone\}"):
        load_config()


def test_a_good_web_configuration_has_no_problem() -> None:
    from crswatch.config import Web, web_problems

    assert (
        web_problems(
            Web(
                email_channel="mailto://127.0.0.1:25?from=a@example.com&to={email}",
                sms_channel="json://127.0.0.1:9/sms/{phone}",
            )
        )
        == []
    )


def test_serve_on_a_busy_port_exits_2(env: dict, smtp: SMTPSink) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        Site(env, smtp).close()  # writes a working configuration
        before = _files(env)
        result = cli("serve", "--port", str(taken.getsockname()[1]), env=env, timeout=60)
    assert (
        result.returncode == 2 and "cannot listen on 127.0.0.1:" in result.stderr and "Traceback" not in result.stderr
    )
    assert _files(env) == before  # nothing changed on disk


def _files(env: dict) -> dict[str, bytes]:
    folder = Path(env["CRSWATCH_DB"]).parent
    return {
        p.name: p.read_bytes()
        for p in folder.iterdir()
        if p.is_file() and not p.name.endswith((".lock", "-wal", "-shm"))
    }


@pytest.mark.parametrize(("key", "value", "message"), [("client_limit", '"10 per hr"', "must read like 10/hour"),
                                                       ("confirm_hours", "0", "confirm_hours must be at least 1"),
                                                       ("email_channel", '"mailto://127.0.0.1:25?from=a@example.com"', "must contain {email}")])  # fmt: skip
def test_serve_refuses_a_bad_web_configuration(env: dict, key: str, value: str, message: str) -> None:
    config = Path(env["CRSWATCH_CONFIG"])
    settings = {"email_channel": '"mailto://127.0.0.1:25?from=a@example.com&to={email}"', key: value}
    config.write_text("[web]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    before = _files(env)
    result = cli("serve", "--port", "1", env=env, timeout=60)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert _files(env) == before  # no store, no key made for a server that never started


def test_waitress_refuses_a_huge_body_before_buffering_it(site: Site) -> None:
    with socket.create_connection(("127.0.0.1", site.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 1000000000\r\n\r\n" + b"a" * 65536)  # fmt: skip
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert b" 413 " in status_line


def test_idle_connections_cannot_hold_the_server(env: dict, smtp: SMTPSink) -> None:
    site = Site(env, smtp, idle_timeout=2)
    idle = []
    try:
        for _ in range(150):
            idle.append(socket.create_connection(("127.0.0.1", site.port), timeout=20))
        assert site.get("/").status_code == 200  # 150 idle connections from one client: still served
        for sock in idle[:5]:
            assert sock.recv(1) == b""  # and the server closed them after web.idle_timeout
    finally:
        for sock in idle:
            sock.close()
        site.close()


def test_redirects_never_echo_the_request_host(site: Site) -> None:
    redirects = []
    for path in ("//draws", "/draws/", "//", "/static//style.css"):
        answer = site.http.get(site.base + path, headers={"Host": "evil.example"}, allow_redirects=False, timeout=10)
        if 300 <= answer.status_code < 400:
            redirects.append(answer.headers["Location"])
    assert redirects, "no path redirected: the test tests nothing"
    assert not [r for r in redirects if "evil.example" in r]


def test_a_confirmation_waits_in_the_outbox_while_the_mail_server_is_down(env: dict) -> None:
    smtp = SMTPSink()  # not started: the mail server is down
    site = Site(env, smtp)
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text().replace("retry_base = 1\n", "retry_base = 0.2\n"))  # for the check below
    try:
        assert site.sign_up("wait@example.com").status_code == 200
        deadline = time.monotonic() + 60  # a cap, not a timing: the loop ends when the condition holds
        while time.monotonic() < deadline:
            waiting = [d for d in outbox(env) if d["kind"] == "confirmation"]
            if waiting and waiting[0]["status"] == "failed":
                break
            time.sleep(0.1)
        (waiting,) = [d for d in outbox(env) if d["kind"] == "confirmation"]
        assert waiting["status"] == "failed" and "payload" not in waiting
    finally:
        site.close()  # serve stops with the confirmation unsent
    smtp.start()
    try:
        wait_for_retries(env)  # the failed confirmation's next try has come
        result = cli(
            "check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True
        )  # any sender delivers it
        assert "1 sent" in result.stdout
        assert [m["Subject"] for m in smtp.to("wait@example.com")] == ["Confirm your Express Entry draw alerts"]
        assert [d["status"] for d in outbox(env) if d["kind"] == "confirmation"] == ["sent"]
    finally:
        smtp.stop()


def test_two_serve_processes_share_their_rate_limits(env: dict, smtp: SMTPSink) -> None:
    first = Site(env, smtp, client_limit="2/minute")
    second = Site(env, smtp, client_limit="2/minute")
    try:
        assert [first.sign_up(f"r{i}@example.com").status_code for i in range(2)] == [200, 200]
        assert second.sign_up("r2@example.com").status_code == 429
    finally:
        first.close()
        second.close()
