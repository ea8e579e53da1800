"""Two hosts, one PostgreSQL store: each alert is planned and delivered once, even when one host is
killed in the middle of the fan-out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import FeedServer, cli, outbox, snapshot
from pg import PostgresServer
from servers import SMTPSink


@pytest.mark.timeout(900)  # 1,000 messages and two processes: minutes on a loaded 2-core machine
def test_two_run_processes_share_one_store_and_a_kill_loses_and_doubles_nothing(
    feed: FeedServer, env: dict, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    slow = SMTPSink(delay=0.01).start()  # four sessions × 10 ms: the fan-out lasts a few seconds
    store = postgres_server.new_database()
    config = Path(env["CRSWATCH_CONFIG"])
    # a dead host's claims return after 90 s: a live host claims all 1,000 in one chunk, and its claim
    # must outlast sending them even on a loaded machine (3 s gave 54-947 duplicates there, 20 s 823
    # at load average 18); a lease the sender renews (its own issue) would let this be short again
    config.write_text(config.read_text().replace("[alerts]\n", "[alerts]\nlease = 90\n"))
    hosts = [{**env, "CRSWATCH_STORE": store, "CRSWATCH_DB": str(tmp_path / f"host{i}" / "draws.json"), "CRSWATCH_HOST": f"host{i}"}
             for i in (1, 2)]  # fmt: skip
    for i in (1, 2):
        (tmp_path / f"host{i}").mkdir()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        feed.serve(snapshot("2026-01-20"))
        for host in hosts:  # each host keeps its own draws file
            cli("check", "--source", feed.url, env=host, check=True)
        rows = ["name,score,within,streams,profile_created,channels"]
        rows += [f"p{i},520,,cec,,{slow.url(f'p{i}@example.com')}" for i in range(1000)]
        (tmp_path / "people.csv").write_text("\n".join(rows) + "\n")
        cli("import", str(tmp_path / "people.csv"), env=hosts[0], check=True)
        assert len(outbox(hosts[1])) == 0

        feed.serve(snapshot("2026-01-21"))  # draw #392 is published
        for host in hosts:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "crswatch", "run", "--every", "1s", "--window", "off", "--jitter", "0", "--source", feed.url],
                env={**os.environ, **host}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            ))  # fmt: skip
        deadline = time.monotonic() + 300  # a cap on the wait for 250 messages (a loaded machine is slow)
        while len(slow.messages) < 250 and time.monotonic() < deadline:
            time.sleep(0.01)
        processes[0].send_signal(signal.SIGKILL)  # host 1 dies mid fan-out, holding claims
        processes[0].wait()
        at_kill = len(slow.messages)
        assert 0 < at_kill < 1000, "the kill must land mid fan-out"
        while len({m["X-Envelope-To"] for m in slow.messages}) < 1000 and time.monotonic() < deadline + 300:
            time.sleep(0.1)  # host 2 takes over host 1's claims when their lease ends
        while {d["status"] for d in outbox(hosts[1])} != {"sent"} and time.monotonic() < deadline + 300:
            time.sleep(0.1)  # every result is recorded (no fixed wait: the last ones may take a while under load)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # it lets its cycle finish: up to run's grace of 120 s
                try:
                    process.wait(timeout=150)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        slow.stop()
    per_person: dict[str, int] = {}
    for message in slow.messages:
        assert "#392" in message["Subject"]
        per_person[message["X-Envelope-To"]] = per_person.get(message["X-Envelope-To"], 0) + 1
    assert len(per_person) == 1000, "no alert lost"
    duplicates = sum(n - 1 for n in per_person.values())
    assert duplicates <= 16, f"{duplicates} duplicates: more than one host's messages in flight"
    assert {d["status"] for d in outbox(hosts[1])} == {"sent"} and len(outbox(hosts[1])) == 1000
