"""Issue 22 end to end, the feed side: the real spider against a local feed server, a real SMTP
sink, a real operator webhook, the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers import FeedServer, cli, snapshot, table
from servers import SMTPSink, WebhookReceiver

FEED_DAY1, FEED_DAY2 = snapshot("2026-01-20"), snapshot("2026-01-21")
STORED = len(json.loads(FEED_DAY1.read_bytes())["rounds"])
RESPELL = [lambda n: "0" + n, lambda n: n + "\u200b", lambda n: "".join(chr(ord(c) + 0xFEE0) for c in n), lambda n: f"\u00a0{n} ",
           lambda n: "\ufeff00" + n, lambda n: n.upper()]  # fmt: skip


def _feed(path: Path, change: Any = None) -> bytes:
    document = json.loads(path.read_bytes())
    if change is not None:
        document["rounds"] = change(document["rounds"])
    return json.dumps(document).encode()


def _start(feed: FeedServer, env: dict, smtp: SMTPSink, score: str = "510") -> None:
    feed.serve(FEED_DAY1)
    cli("check", "--source", feed.url, env=env, check=True)
    cli("subscribe", "--score", score, "--stream", "cec", "--notify", smtp.url("a@example.com"), env=env, check=True)


def test_a_renumbered_feed_alerts_nobody_and_a_rewritten_one_is_held(
    feed: FeedServer, env: dict, smtp: SMTPSink, webhook: WebhookReceiver
) -> None:
    env = {**env, "CRSWATCH_OPERATOR": webhook.url("operator")}
    _start(feed, env, smtp, score="800")  # a score that every CEC draw ever made would invite
    feed.serve(
        _feed(
            FEED_DAY1,
            lambda rounds: [
                dict(r, drawNumber=RESPELL[i % len(RESPELL)](r["drawNumber"])) for i, r in enumerate(rounds)
            ],
        )
    )
    respelt = cli("check", "--source", feed.url, env=env, check=True)
    assert f"0 new, 0 changed, {STORED} unchanged" in respelt.stdout
    feed.serve(_feed(FEED_DAY1, lambda rounds: [dict(r, drawNumber=f"2015-{r['drawNumber']}") for r in rounds]))
    shifted = cli("check", "--source", feed.url, env=env, check=True)
    assert f"0 new, 0 changed, {STORED} unchanged, {STORED} renumbered" in shifted.stdout

    rewritten = _feed(
        FEED_DAY1,
        lambda rounds: [dict(r, drawNumber=f"EE{r['drawNumber']}", drawName=r["drawName"] + " – 2026") for r in rounds],
    )
    feed.serve(rewritten)
    held = cli("check", "--source", feed.url, env=env)
    assert held.returncode == 9, held.stderr
    assert held.stderr.count("\n") == 1 and f"{STORED} draws dated on or before the newest stored one" in held.stderr
    assert "--accept-new all" in held.stderr and "0 new" in held.stdout
    assert cli("check", "--source", feed.url, env=env).returncode == 9  # held until the operator decides
    status = cli("status", "--format", "json", env=env)
    assert status.returncode == 7 and any("would be new at once" in p for p in json.loads(status.stdout)["problems"])
    assert len([p for p in webhook.posts if "held" in p["title"]]) == 1  # one notice for the incident
    assert len(table(Path(env["CRSWATCH_DB"]), "draws")) == STORED
    feed.serve(FEED_DAY2)  # IRCC puts its numbers back and publishes #392
    fixed = cli("check", "--source", feed.url, env=env, check=True)
    assert "1 new" in fixed.stdout and "alerts: 1 sent" in fixed.stdout
    smtp.wait_for(1)
    assert len(smtp.messages) == 1 and "#392" in smtp.messages[0]["Subject"]


def test_a_flip_flopping_draw_is_one_alert_and_at_most_one_correction(
    feed: FeedServer, env: dict, smtp: SMTPSink, db_path: Path
) -> None:
    _start(feed, env, smtp)  # 510: invited by a cut-off of 509, close to one of 515
    version_a = FEED_DAY2.read_bytes()
    version_b = _feed(FEED_DAY2, lambda rounds: [dict(rounds[0], drawCRS="515"), *rounds[1:]])
    feed.serve(_feed(FEED_DAY2, lambda rounds: [rounds[0], dict(rounds[0], drawCRS="515"), *rounds[1:]]))  # #392 twice
    doubled = cli("check", "--source", feed.url, env=env)
    assert (
        doubled.returncode == 9
        and "round #392 held, not stored: #392 is listed 2 times with different data" in doubled.stderr
    )
    assert "392" not in {d["number"] for d in table(db_path, "draws")}
    outputs = []
    for body in [version_a, version_b] * 3:  # CDN edges serving the old and the new copy in turn
        feed.serve(body)
        outputs.append(cli("check", "--source", feed.url, env=env, check=True).stdout)
    assert "1 new" in outputs[0] and "1 changed" in outputs[1]
    assert all("0 changed, 392 unchanged, 1 back to an earlier version" in out for out in outputs[2:]), outputs
    smtp.wait_for(2)
    subjects = [m["Subject"] for m in smtp.to("a@example.com")]
    assert (
        len(subjects) == 2 and subjects[0].startswith("Invited: #392") and subjects[1].startswith("Correction: Close")
    )
    assert len([r for r in table(db_path, "draw_revisions") if r["number"] == "392"]) == 2


class _Unframed:
    """A feed server that sends a body without Content-Length: chunked, or ended by closing."""

    def __init__(self, chunked: bool, size: int) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if chunked else "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                piece = b" " * 65536
                try:
                    for _ in range(size // len(piece) + 1):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass  # the client gave up, as it should

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ee_rounds_123_en.json"


@pytest.fixture(params=["chunked", "close-delimited"])
def unframed(request: pytest.FixtureRequest) -> Iterator[_Unframed]:
    server = _Unframed(request.param == "chunked", 17 * 1024 * 1024)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_an_oversized_body_is_rejected_however_it_is_sent(unframed: _Unframed, env: dict, db_path: Path) -> None:
    result = cli("check", "--source", unframed.url, env=env)
    assert result.returncode == 4, result.stderr
    assert "the feed is larger than 16,777,216 bytes" in result.stderr and "Cancelled" not in result.stderr
    assert not db_path.exists() or not table(db_path, "draws")


def _check_capped(env: dict, *args: str) -> subprocess.CompletedProcess[str]:
    """`crswatch check` unable to write any file past 64 KB (the draws file is ~1 MB): what a full disk does to it."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

    return subprocess.run([sys.executable, "-m", "crswatch", "check", *args], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120, preexec_fn=cap, check=False)  # fmt: skip


def test_status_is_unhealthy_while_the_draws_file_cannot_be_written(
    feed: FeedServer, env: dict, smtp: SMTPSink, postgres_server: Any
) -> None:
    env = {**env, "CRSWATCH_STORE": postgres_server.new_database()}  # the store is elsewhere: only the draws file fails
    cli("upgrade", env=env)
    _start(feed, env, smtp)
    assert cli("status", env=env).returncode == 0
    feed.serve(FEED_DAY2)
    for _ in range(4):
        failed = _check_capped(env, "--source", feed.url)
        assert failed.returncode == 5 and "cannot write the database" in failed.stderr, failed.stderr
        status = cli("status", "--format", "json", env=env)
        assert status.returncode == 7, status.stdout
        report = json.loads(status.stdout)
        assert report["last_outcome"] == "unwritable" and any(
            "could not store the draws" in p for p in report["problems"]
        )
    assert report["consecutive_failures"] == 4
    fixed = cli("check", "--source", feed.url, env=env, check=True)
    assert "1 new" in fixed.stdout
    assert cli("status", env=env).returncode == 0
    smtp.wait_for(1)
    assert len(smtp.messages) == 1  # queued once, at the first try, and sent once


def test_feed_text_reaches_terminals_without_control_characters_and_warnings_stay_short(
    feed: FeedServer, env: dict, db_path: Path
) -> None:
    name = "Canadian \x1b]8;;https://evil.example/\x07Experience\x1b]8;;\x07 Class\x1b[2J\x1b[H \u202e(Version 2)"
    link = "<a href='https://www.canada.ca/x\x1b[31m.html'>392</a>"

    def change(rounds: list[dict]) -> list[dict]:
        return [dict(rounds[0], drawName=name, drawNumberURL=link, drawCutOff="9" * 3000),
                dict(rounds[1], drawDateTime="x" * 5_000_000), *rounds[2:]]  # fmt: skip

    feed.serve(FEED_DAY1)
    cli("check", "--source", feed.url, env=env, check=True)
    feed.serve(_feed(FEED_DAY2, change))
    result = cli("check", "--source", feed.url, env=env)
    assert result.returncode == 9  # #391 edited with a 5 MB field: held, not stored
    assert "field 'drawDateTime' is 5,000,000 characters long (more than 4,096)" in result.stderr
    assert len(result.stderr) < 2000 and "(3,000 characters)" in result.stderr, result.stderr
    outputs = [result.stdout, result.stderr]
    outputs += [cli("draws", "show", "392", env=env, check=True).stdout, cli("draws", "--limit", "3", env=env, check=True).stdout,
                cli("draws", "--limit", "3", "--format", "csv", env=env, check=True).stdout, cli("streams", env=env, check=True).stdout]  # fmt: skip
    for output in (
        outputs
    ):  # warnings quote the name escaped (\\x1b): the operator sees what IRCC wrote, the terminal acts on none of it
        assert not any(unicodedata.category(c) == "Cc" and c != "\n" or c == "\u202e" for c in output), ascii(output)
    for output in outputs[2:]:
        assert "evil.example" not in output and "2J" not in output, ascii(output)
    assert "Canadian Experience Class" in outputs[2]
    (stored,) = [d for d in table(db_path, "draws") if d["number"] == "392"]
    assert stored["raw"]["drawName"] == name  # kept as published; cleaned where it is shown
    assert max(len(json.dumps(d)) for d in table(db_path, "draws")) < 20_000
