"""Fan-out benchmark (issue: alerts).

1. 10,000 matching subscribers with mailto:// channels to a local SMTP sink (a minimal asyncio
   SMTP server in its own process): the real `crswatch check` stores draw #392 and alerts them all.  Prints alerts/s
   and the time from "new draw stored" to "last alert accepted" (outbox writes included), beside
   raw smtplib sending the same 10,000 messages over one connection in the same run.
   Targets: >= 0.5 x the raw rate; whole fan-out <= 10 s.
2. 100,000 subscribers of which 1% match: the time of match + queue and the peak memory.
   Targets: <= 1 s, <= 200 MB.
3. The same fan-out on PostgreSQL (a server started here, as in the tests) with several hosts
   (`CRSWATCH_HOST` host0, host1…) running `check` at once: `--engine postgresql --senders 1,4`
   runs it with one sender, then with four, and reports for each the time from the new draw stored
   to the last alert accepted, the alerts lost (subscribers without a sent delivery) and the
   duplicates (messages the sink received beyond one per subscriber).  Goals: 0 lost, 0
   duplicates, four senders faster than one.
Run: .venv/bin/python bench/fanout.py [--count 10000] [--scale 100000]
     .venv/bin/python bench/fanout.py --only fanout --engine postgresql --count 100000 --senders 1,4
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import smtplib
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from _measure import peak_rss_mb  # noqa: E402
from helpers import snapshot  # noqa: E402


class SinkProtocol(asyncio.Protocol):
    """A minimal SMTP sink: accepts every message and counts it (no parsing, so the sink is not
    the bottleneck it would be with aiosmtpd at ~300 messages/s on this machine)."""

    def __init__(self, counter: Synchronized[int]) -> None:
        self.counter = counter
        self.buffer = b""
        self.in_data = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(b"220 sink ESMTP\r\n")  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                self.buffer = self.buffer[end + 5 :]
                self.in_data = False
                with self.counter.get_lock():
                    self.counter.value += 1
                self.transport.write(b"250 OK\r\n")  # type: ignore[attr-defined]
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line, self.buffer = self.buffer[:end].upper(), self.buffer[end + 2 :]
            if line.startswith((b"EHLO", b"HELO")):
                reply = b"250-sink\r\n250 8BITMIME\r\n"
            elif line.startswith(b"DATA"):
                self.in_data, reply = True, b"354 go ahead\r\n"
            elif line.startswith(b"QUIT"):
                self.transport.write(b"221 bye\r\n")  # type: ignore[attr-defined]
                self.transport.close()
                return
            else:
                reply = b"250 OK\r\n"
            self.transport.write(reply)  # type: ignore[attr-defined]


def sink(port: int, counter: Synchronized[int], ready: Event) -> None:
    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(lambda: SinkProtocol(counter), "127.0.0.1", port)
        ready.set()
        await server.serve_forever()

    asyncio.run(serve())


def raw_smtplib(port: int, count: int) -> float:
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(count):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = (
                "crswatch@example.com",
                f"raw{i}@example.com",
                "Express Entry draw #392",
            )
            message.set_content("Your score 510 is above the cut-off 509. " * 20)
            smtp.send_message(message)
    return time.perf_counter() - start


def build(store_url: str, count: int, matching: int, port: int) -> None:
    """Subscribers through the import code path; the first `matching` ones match draw #392."""
    from crswatch.app import App
    from crswatch.notifier.channels import check_url
    from crswatch.store.sql import Store
    from crswatch.subscribers.importing import import_csv

    lines = ["name,score,within,streams,profile_created,channels"]
    for i in range(count):
        score = 520 if i < matching else 300 + i % 150
        lines.append(f",{score},10,cec,,mailto://127.0.0.1:{port}?from=crswatch@example.com&to=s{i}@example.com")
    store = Store(store_url)
    with store.write() as conn:
        import_csv(conn, "\n".join(lines) + "\n", check=check_url, defaults=App(None, None, 0).subscriber_defaults)
    store.dispose()


def crswatch(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crswatch", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate()
    if process.returncode:
        raise SystemExit(f"crswatch failed: {err}")
    for line in err.splitlines():
        if "dispatch:" in line:
            print("  " + line)
    return out


def fanout(count: int, engine: str, senders: int) -> float:
    """One fan-out; returns seconds from the new draw stored to the last alert accepted."""
    from crswatch.notifier.outbox import listing
    from crswatch.store import kv
    from crswatch.store.sql import Store
    from crswatch.store.url import default_url

    port = 20000 + os.getpid() % 20000
    counter = multiprocessing.Value("i", 0)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=sink, args=(port, counter, ready), daemon=True)
    server.start()
    ready.wait(10)
    postgres = None
    try:
        raw = raw_smtplib(port, count)
        with tempfile.TemporaryDirectory() as tmp:
            if engine == "postgresql":
                from pg import PostgresServer

                postgres = PostgresServer()
                store_url = postgres.new_database()
            else:
                store_url = default_url(Path(tmp) / "host0" / "crswatch.json")
            hosts = []
            for i in range(senders):
                (Path(tmp) / f"host{i}").mkdir(exist_ok=True)
                hosts.append({**os.environ, "CRSWATCH_DB": str(Path(tmp) / f"host{i}" / "crswatch.json"), "CRSWATCH_STORE": store_url,
                              "CRSWATCH_CONFIG": str(Path(tmp) / "none.toml"), "CRSWATCH_HOST": f"host{i}"})  # fmt: skip
            Path(tmp, "none.toml").write_text("")
            for env in hosts:
                finish(crswatch(env, "check", "--source", snapshot("2026-01-20").as_uri()))
            build(store_url, count, count, port)
            before = counter.value
            start = time.perf_counter()
            outs = [
                finish(p)
                for p in [crswatch(env, "-v", "check", "--source", snapshot("2026-01-21").as_uri()) for env in hosts]
            ]
            wall = time.perf_counter() - start
            store = Store(store_url)
            with store.read() as conn:
                stored = datetime.fromisoformat(kv.get(conn, "status")["last_check_at"])
                sent = listing(conn, "sent")
            store.dispose()
            first_stored = min(stored, min(d.queued_at for d in sent))
            last = max(d.sent_at for d in sent if d.sent_at)
            span = (last - first_stored).total_seconds()
        label = f"{count:,}-subscriber fan-out on {engine}, {senders} sender(s)"
        for out in outs:
            print(f"{label}: {out.strip().splitlines()[-1]}")
        print(f"  raw smtplib, one connection : {count / raw:8.0f} messages/s ({raw:.2f} s for {count:,})")
        print(
            f"  crswatch                    : {len(sent) / span:8.0f} alerts/s; new draw stored -> last alert accepted {span:.2f} s"
        )
        print(f"  ratio to raw                : {raw / span:.2f} x   (target >= 0.5; whole fan-out target <= 10 s)")
        received = counter.value - before
        print(f"  whole `crswatch check` processes: {wall:.2f} s; messages received by the sink: {received:,}")
        print(
            f"  time to last alert: {span:.2f} s; lost: {count - len(sent):,}; duplicates: {max(0, received - count):,} (goal 0 and 0)"
        )
        return span
    finally:
        server.kill()
        if postgres is not None:
            postgres.stop()


def scale(total: int) -> None:
    """Build the subscribers here, then measure match + queue in a fresh child process (its peak
    RSS is then the cost of the check, not of building the test data)."""
    from crswatch.store.url import default_url

    with tempfile.TemporaryDirectory() as tmp:
        url = default_url(Path(tmp) / "crswatch.json")
        build(url, total, total // 100, 2525)
        subprocess.run([sys.executable, __file__, "--measure", url, str(total)], check=True)


def measure(url: str, total: int) -> None:
    from crswatch.draws.record import as_stored
    from crswatch.notifier.fanout import plan
    from crswatch.notifier.outbox import queue
    from crswatch.scraper.parse import parse_feed, parse_round
    from crswatch.store.sql import Store
    from crswatch.subscribers.store import iter_all

    draw = parse_round(parse_feed(snapshot("2026-01-21").read_bytes())[0])
    base = peak_rss_mb()
    start = time.perf_counter()
    now = datetime.now(UTC)
    with Store(url).write() as conn:
        deliveries = plan(
            [(draw, as_stored(draw.to_record(), first_seen="9999-12-31T00:00:00.000000Z", updated_at="", revision=0))],
            [],
            iter_all(conn, reach=draw.crs, active_only=True),
            now,
        )
        queued = queue(conn, deliveries)
    elapsed = time.perf_counter() - start
    peak = peak_rss_mb()
    print(
        f"{total:,} subscribers, 1% matching: match + queue {elapsed:.2f} s for {queued:,} deliveries (target <= 1 s)"
    )
    print(
        f"  peak RSS {peak:.0f} MB (of which {base:.0f} MB before matching: Python, crswatch, the parsed feed; target <= 200 MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--only", choices=("fanout", "scale"))
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--senders", default="1", help="hosts running `check` at once against the store; a list (1,4) runs each"
    )
    parser.add_argument("--measure", nargs=2, metavar=("DB", "TOTAL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure[0], int(args.measure[1]))
        return
    if args.only != "scale":
        spans = {int(n): fanout(args.count, args.engine, int(n)) for n in args.senders.split(",")}
        if len(spans) > 1:
            print("time to last alert by senders: " + ", ".join(f"{n}: {span:.1f} s" for n, span in spans.items()))
    if args.only != "fanout":
        scale(args.scale)


if __name__ == "__main__":
    main()
