"""`crswatch serve` under abuse, over real HTTP (waitress in subprocesses): the rate limits are exact
across processes on a real PostgreSQL store, a form sent back with a typo costs the client nothing,
the public draws page is cached and limited, unknown API parameters are refused, and a sent
confirmation link leaves no trace in SQLite's write-ahead log."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from helpers import cli, outbox, snapshot, wait_until
from pages import Site, csrf_token
from pg import PostgresServer
from servers import SMTPSink


def _together(sites: list[Site], addresses: list[str]) -> list[int]:
    """Each address signed up from its own browser, all POSTs released at once, spread over the
    `serve` processes; the HTTP statuses."""
    ready = threading.Barrier(len(addresses))

    def one(i: int) -> int:
        site = sites[i % len(sites)]
        with requests.Session() as browser:
            token = csrf_token(browser.get(site.base + "/", timeout=60).text)
            ready.wait(timeout=120)
            form = {"csrf_token": token, "email": addresses[i], "score": "510", "streams": ["cec"]}
            return browser.post(site.base + "/", data=form, timeout=120).status_code

    with ThreadPoolExecutor(len(addresses)) as pool:
        return list(pool.map(one, range(len(addresses))))


def test_rate_limits_are_exact_across_serve_processes_on_postgresql(
    env: dict, smtp: SMTPSink, postgres_server: PostgresServer
) -> None:
    env = {**env, "CRSWATCH_STORE": postgres_server.new_database()}
    sites = [Site(env, smtp, client_limit="10/hour", destination_limit="3/day", threads=16) for _ in range(2)]
    try:
        statuses = _together(sites, [f"p{i}@example.com" for i in range(30)])
        assert sorted(statuses) == [200] * 10 + [429] * 20
        confirmations = [d for d in outbox(env) if d["kind"] == "confirmation"]
        assert len(confirmations) == 10  # queued with each accepted sign-up, before its answer
    finally:
        for site in sites:
            site.close()
    sites = [Site(env, smtp, client_limit="1000/hour", destination_limit="3/day", threads=16) for _ in range(2)]
    try:
        assert _together(sites, ["same@example.com"] * 20) == [200] * 20  # the page never tells
        queued = [d for d in outbox(env) if d["kind"] == "confirmation" and "same" in d["channel"]]
        assert len(queued) == 3
        # the three, whenever they come (a count of every message would also count a confirmation
        # of the first serves that a stop left sent but unrecorded, and stop waiting too early)
        wait_until(lambda: len(smtp.to("same@example.com")) >= 3, what="the three confirmations to same@")
        assert len(smtp.to("same@example.com")) == 3
    finally:
        for site in sites:
            site.close()


def test_a_form_sent_back_with_a_typo_uses_none_of_the_clients_allowance(env: dict, smtp: SMTPSink) -> None:
    site = Site(env, smtp, client_limit="2/hour")
    try:
        for typo in ("alice@@example.com", "bob.example.com", "carol@example"):
            assert site.sign_up(typo).status_code == 400
        assert [site.sign_up(f"ok{i}@example.com").status_code for i in range(3)] == [200, 200, 429]
        assert site.sign_up("again@@example.com").status_code == 429  # once used up, the page says so first
    finally:
        site.close()


def test_the_draws_page_is_made_once_per_data_version_and_limited(env: dict, smtp: SMTPSink, db_path: Path) -> None:
    cli("check", "--source", snapshot("2026-01-20").as_uri(), env=env, check=True)
    site = Site(env, smtp, api_limit="8/minute")
    try:
        first = site.get("/draws")
        assert first.status_code == 200 and "<td>391</td>" in first.text and first.headers["ETag"]
        again = site.get("/draws", headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304  # the same version: the cached answer
        french = site.get("/draws?lang=fr")
        assert french.status_code == 200 and french.headers["ETag"] != first.headers["ETag"]
        cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
        newer = site.get("/draws", headers={"If-None-Match": first.headers["ETag"]})
        assert newer.status_code == 200 and "<td>392</td>" in newer.text  # a new data version, a new page
        answers = [site.get("/draws").status_code for _ in range(6)]
        assert answers[-1] == 429 and "Too many attempts" in site.get("/draws?lang=en").text
        assert site.get("/api/streams").status_code == 429  # one allowance for the API and the pages
    finally:
        site.close()


def test_unknown_api_parameters_are_refused_by_name(env: dict, smtp: SMTPSink) -> None:
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
    site = Site(env, smtp)
    try:
        answer = site.get("/api/draws?sinse=2025-01-01&stream=cec&limt=3")
        assert answer.status_code == 400
        assert answer.json() == {
            "error": "unknown query parameters 'limt', 'sinse'; this endpoint takes: limit, since, stream, until"
        }
        assert "this endpoint takes: none" in site.get("/api/draws/392?verbose=1").json()["error"]
        assert "'score2'" in site.get("/api/forecast?score2=500").json()["error"]
        assert site.get("/api/draws?stream=cec&since=2025-01-01&limit=3").status_code == 200
    finally:
        site.close()


def test_serve_closes_idle_connections_but_not_trickling_ones_as_the_readme_says(env: dict, smtp: SMTPSink) -> None:
    """waitress has no deadline for a whole request (the README says a reverse proxy must cut
    trickling clients): a client sending a byte more often than `idle_timeout` stays connected,
    one that sends nothing is closed.  Bounded: about three idle timeouts of one second."""
    site = Site(env, smtp, idle_timeout=1)
    trickle = socket.create_connection(("127.0.0.1", site.port), timeout=10)
    idle = socket.create_connection(("127.0.0.1", site.port), timeout=10)
    try:
        request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000
        started = time.monotonic()
        for byte in request:
            trickle.sendall(bytes([byte]))
            closed, _, _ = select.select([trickle], [], [], 0.3)  # the next byte, unless the server hangs up first
            assert not closed, "serve closed a trickling connection: update the README's slowloris passage"
            if time.monotonic() - started > 3.5:
                break
        assert idle.recv(1) == b""  # the idle one was closed meanwhile
    finally:
        trickle.close()
        idle.close()
        site.close()


def test_a_sent_confirmation_link_leaves_no_trace_in_the_sqlite_wal(env: dict, smtp: SMTPSink, db_path: Path) -> None:
    site = Site(env, smtp)
    try:
        assert site.sign_up("wal@example.com").status_code == 200
        link = site.confirmation_link("wal@example.com")
        token = link.rsplit("/", 1)[1].encode()
        wal = db_path.with_suffix(".sqlite-wal")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (not wal.exists() or token in wal.read_bytes()):
            time.sleep(0.05)  # the sender records the result, then checkpoints
        assert wal.exists() and token not in wal.read_bytes()
        assert token not in db_path.with_suffix(".sqlite").read_bytes()
        (sent,) = [d for d in outbox(env) if d["kind"] == "confirmation"]
        assert sent["status"] == "sent"
    finally:
        site.close()
    assert json.loads(cli("status", "--format", "json", env=env).stdout)["pending_sign_ups"] == 1
