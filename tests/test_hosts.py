"""Two hosts, one PostgreSQL store: each alert is planned and delivered once, even when one host is
killed in the middle of the fan-out."""

from __future__ import annotations

import json
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
from sqlalchemy import text


@pytest.mark.lifecycle
@pytest.mark.timeout(900)  # 1,000 messages and two processes: minutes on a loaded 2-core machine
def test_two_run_processes_share_one_store_and_a_kill_loses_and_doubles_nothing(
    feed: FeedServer, env: dict, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    slow = SMTPSink(delay=0.01).start()  # four sessions × 10 ms: the fan-out lasts a few seconds
    store = postgres_server.new_database()
    config = Path(env["CRSWATCH_CONFIG"])
    # a dead host's claims return after 15 s; a live host renews its claims every third of that while
    # it sends (before renewals, a claim had to outlast the whole fan-out: 90 s here, as 3 s gave
    # 54-947 duplicates on a loaded machine and 20 s 823 at load average 18)
    config.write_text(config.read_text().replace("[alerts]\n", "[alerts]\nlease = 15\n"))
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


def _holder(url: str, host: str, count: int, then: str) -> subprocess.Popen[str]:
    """A real process of host `host` that claims `count` deliveries through the code, then dies
    (`then == "die"`, SIGKILL: no goodbye) or stays alive until its stdin closes."""
    code = (
        "import os, signal, sys\n"
        "from datetime import UTC, datetime\n"
        "from notifier.claims import claim, claimant\n"
        "from store.sql import Store\n"
        f"with Store({url!r}).write() as conn: claim(conn, datetime(2026, 1, 21, 13, tzinfo=UTC), claimant(), limit={count})\n"
        "print('claimed', flush=True)\n"
        f"os.kill(os.getpid(), signal.SIGKILL) if {then!r} == 'die' else sys.stdin.read()\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "CRSWATCH_HOST": host}, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stdout is not None and process.stdout.readline() == "claimed\n"
    return process


@pytest.mark.lifecycle
def test_a_dead_process_claims_go_back_only_to_its_own_host_whatever_the_names(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hosts `crs_1` and `crs%1`: each name is a LIKE pattern matching the other.  The process of
    `crs_1` is killed holding claims; only `crs_1` may release them (it alone can ask its system
    whether the process lives), and `crs%1`'s claims stay with their living holder."""
    from datetime import UTC, datetime

    from crswatch.notifier.claims import claim
    from crswatch.notifier.outbox import Delivery, queue
    from crswatch.store.sql import Store

    url = postgres_server.new_database()
    store = Store(url)
    now = datetime(2026, 1, 21, 13, 1, tzinfo=UTC)  # every lease still runs
    with store.write() as conn:
        queue(conn, [Delivery(id=f"392/0/s{i}/c{i}", draw="392", revision=0, subscriber=f"s{i}", channel=f"c{i}", masked="m",
                              verdict="invited", kind="new", queued_at=datetime(2026, 1, 21, 13, tzinfo=UTC), seq=i) for i in range(6)])  # fmt: skip
    killed = _holder(url, "crs_1", 3, "die")
    killed.wait()
    living = _holder(url, "crs%1", 3, "live")
    try:
        with store.read() as conn:
            held = dict(conn.execute(text("SELECT claimed_host, count(*) FROM deliveries GROUP BY claimed_host")).all())
        assert held == {"crs_1": 3, "crs%1": 3}
        monkeypatch.setenv("CRSWATCH_HOST", "crs%1")  # the other host: not its process, not its business
        with store.write() as conn:
            assert claim(conn, now, f"crs%1:{os.getpid()}") == []
        monkeypatch.setenv("CRSWATCH_HOST", "crs_1")  # the dead process's own host takes its claims back at once
        with store.write() as conn:
            taken = claim(conn, now, f"crs_1:{os.getpid()}")
        assert len(taken) == 3
        with store.read() as conn:
            rows = conn.execute(text("SELECT claimed_host, claimed_pid FROM deliveries")).all()
        assert sorted(rows) == sorted([("crs_1", os.getpid())] * 3 + [("crs%1", living.pid)] * 3)
    finally:
        living.communicate("")
    store.dispose()


def test_status_and_the_heartbeat_use_the_host_identity(env: dict, postgres_server: PostgresServer) -> None:
    """A heartbeat from host `box_1` whose process is gone: `status` on `box_1` (CRSWATCH_HOST, in a
    container whose machine has another name) sees it is dead; on another host it trusts the heartbeat."""
    from datetime import UTC, datetime

    from crswatch.draws.record import stamp
    from crswatch.store import kv
    from crswatch.store.sql import Store

    url = postgres_server.new_database()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    with Store(url).write() as conn:
        kv.put(conn, "run", {"pid": int(dead.stdout), "host": "box_1", "heartbeat": stamp(datetime.now(UTC)), "next_run": None, "stopped": False,
                             "schedule": {"every": "1m", "outside_every": "15m", "window": "off", "cron": ""}})  # fmt: skip
    here = cli("status", "--format", "json", env={**env, "CRSWATCH_STORE": url, "CRSWATCH_HOST": "box_1"})
    assert json.loads(here.stdout)["scheduler"] == {"running": False}
    elsewhere = cli("status", env={**env, "CRSWATCH_STORE": url, "CRSWATCH_HOST": "box_2"})
    assert f"scheduler:     running (host box_1, pid {int(dead.stdout)})" in elsewhere.stdout
