"""The store fails in the middle of a fan-out: locked (SQLite past its busy timeout), stopped and
restarted (PostgreSQL), full (SQLite at its page limit).  Real stores, a real SMTP server, the real
dispatch: nothing is lost, and no more messages are sent twice than were in flight.  And two
senders through a slow route with a short lease: nothing is sent twice."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import FeedServer, cli, snapshot, store_of
from pg import PostgresServer
from servers import SMTPSink
from sqlalchemy import event, func, select

from crswatch.draws.record import Draw, stamp
from crswatch.notifier.channels import check_url
from crswatch.notifier.dispatch import dispatch
from crswatch.notifier.fanout import plan
from crswatch.notifier.outbox import DispatchReport, announce, counts, queue
from crswatch.notifier.policy import Policy
from crswatch.notifier.services import Services
from crswatch.notifier.tables import deliveries
from crswatch.store.errors import StoreError
from crswatch.store.sql import Store
from crswatch.subscribers.importing import import_csv
from crswatch.subscribers.manage import Defaults
from crswatch.subscribers.store import iter_all

CONCURRENCY = 16  # the in-flight bound
DRAW = Draw(number="392", date=dt.date(2026, 1, 21), program="Canadian Experience Class", stream="cec", invitations=6000, crs=509,
            tie_break=dt.datetime(2025, 10, 29, 4, 35, 24, tzinfo=dt.UTC))  # fmt: skip


def _fill(store: Store, sink: SMTPSink, count: int) -> list[str]:
    """`count` subscribers matching draw #392, and its alerts queued; their addresses."""
    people = [f"p{i}@example.com" for i in range(count)]
    rows = ["name,score,within,streams,profile_created,channels"] + [f",520,,cec,,{sink.url(p)}" for p in people]
    with store.write() as conn:
        import_csv(conn, "\n".join(rows) + "\n", check=check_url, defaults=Defaults(10, ("cec",)))
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)  # first seen after they subscribed
    record = DRAW.to_record() | {"revision": 0, "first_seen": stamp(now)}
    with store.write() as conn:
        announce(conn, [("392", 0, "new", now, DRAW.to_record())])
        assert queue(conn, plan([(DRAW, record)], [], iter_all(conn), now)) == count
    return people


def _copies(sink: SMTPSink) -> dict[str, int]:
    copies: dict[str, int] = {}
    for message in list(sink.messages):
        copies[message["X-Envelope-To"]] = copies.get(message["X-Envelope-To"], 0) + 1
    return copies


class Watch(logging.Handler):
    """Waits for the dispatch to say it cannot record results."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.failing = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "cannot record" in record.getMessage():
            self.failing.set()


@pytest.fixture
def watch() -> Iterator[Watch]:
    handler = Watch()
    logger = logging.getLogger("crswatch.dispatch")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


class Fanout:
    """`dispatch` in a thread of its own, as `check` runs it."""

    def __init__(self, store: Store, policy: Policy, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.report: DispatchReport | None = None
        self.error: BaseException | None = None
        extra: dict[str, Any] = {"clock": clock} if clock else {}

        def run() -> None:
            try:
                self.report = dispatch(store, policy, concurrency=CONCURRENCY, services=Services(), **extra)
            except BaseException as exc:  # noqa: BLE001 - looked at by the test
                self.error = exc

        self.thread = threading.Thread(target=run)
        self.thread.start()

    def join(self) -> None:
        self.thread.join(timeout=240)
        assert not self.thread.is_alive()


def _wait(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never came"
        time.sleep(0.01)


def _short_busy_timeout(store: Store, milliseconds: int = 300) -> None:
    """SQLite waits 30 s for a lock; here a little, so that being locked past it is quick to reach."""

    @event.listens_for(store.engine, "connect")
    def _busy(dbapi_connection: Any, _record: Any) -> None:  # runs after the store's own pragmas
        dbapi_connection.execute(f"PRAGMA busy_timeout={milliseconds}")

    store.engine.dispose()  # connections made from now on wait that little


def _held_by(store: Store, host: str) -> int:
    """Deliveries a host has claimed or sent."""
    with store.read() as conn:
        held = (deliveries.c.claimed_by.like(f"{host}:%")) | (deliveries.c.status == "sent")
        return conn.scalar(select(func.count()).select_from(deliveries).where(held)) or 0


def _later() -> dt.datetime:
    """The next check's clock, once the lease of a check that gave up has ended."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)


def _assert_bound(sink: SMTPSink, people: list[str], store: Store) -> int:
    copies = _copies(sink)
    assert set(copies) == set(people), f"{len(set(people) - set(copies))} lost"
    duplicates = sum(n - 1 for n in copies.values())
    assert duplicates <= CONCURRENCY, f"{duplicates} duplicates: more than the messages in flight"
    with store.read() as conn:
        assert counts(conn)["sent"] == len(people)
    return duplicates


@pytest.fixture
def slow() -> Iterator[SMTPSink]:
    sink = SMTPSink(delay=0.01).start()  # four sessions × 10 ms: the fan-out lasts a few seconds
    yield sink
    sink.stop()


def test_a_store_locked_for_a_while_pauses_the_fanout_and_it_goes_on(
    tmp_path: Path, slow: SMTPSink, watch: Watch
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}").open()
    people = _fill(store, slow, 150)
    _short_busy_timeout(store)
    fanout = Fanout(store, Policy(store_retry=120))
    _wait(lambda: len(slow.messages) >= 30)
    locker = sqlite3.connect(tmp_path / "store.sqlite", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock past the busy timeout
    _wait(watch.failing.is_set)
    locker.execute("ROLLBACK")
    fanout.join()
    assert fanout.error is None and fanout.report is not None and fanout.report.sent == 150
    assert _assert_bound(slow, people, store) == 0  # every result was recorded in the end: none re-sent


def test_a_store_locked_too_long_stops_the_fanout_and_the_next_check_sends_the_rest(
    tmp_path: Path, slow: SMTPSink, watch: Watch
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}").open()
    people = _fill(store, slow, 150)
    _short_busy_timeout(store)
    fanout = Fanout(store, Policy(store_retry=1))
    _wait(lambda: len(slow.messages) >= 30)
    locker = sqlite3.connect(tmp_path / "store.sqlite", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    fanout.join()
    locker.execute("ROLLBACK")
    assert isinstance(fanout.error, StoreError) and "database is locked" in str(fanout.error)
    assert "stopped sending" in str(fanout.error)
    assert len(slow.messages) < 150, "the fan-out stopped"
    Fanout(store, Policy(), clock=_later).join()  # the next check, once the lease ended
    _assert_bound(slow, people, store)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 16 MB file system (tmpfs), where mounting one is allowed (root, as in CI)."""
    place = tmp_path / "disk"
    place.mkdir()
    if (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(place)], capture_output=True).returncode
        != 0
    ):
        pytest.skip("cannot mount a small file system here (needs root)")
    yield place
    subprocess.run(["umount", "-l", str(place)], check=True)


def _fill_disk(place: Path) -> Path:
    filler = place / "filler"
    # Unbuffered: a buffered file keeps the tail of a short write and fails again when closed.
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass  # the disk is full
    return filler


def test_a_full_disk_stops_the_fanout_and_nothing_is_lost(small_disk: Path, slow: SMTPSink, watch: Watch) -> None:
    store = Store(f"sqlite:///{small_disk / 'store.sqlite'}").open()
    people = _fill(store, slow, 150)
    fanout = Fanout(store, Policy(store_retry=1))
    _wait(lambda: len(slow.messages) >= 30)
    filler = _fill_disk(small_disk)
    fanout.join()
    assert isinstance(fanout.error, StoreError) and "full" in str(fanout.error), fanout.error
    assert len(slow.messages) < 150, "the fan-out stopped"
    filler.unlink()  # room again
    Fanout(store, Policy(), clock=_later).join()
    _assert_bound(slow, people, store)
    store.dispose()


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()  # its own: this test stops it
    yield server
    server.stop()


def test_postgresql_restarting_mid_fanout_pauses_it_and_loses_and_doubles_nothing(own_postgres: PostgresServer, slow: SMTPSink,
                                                                                  watch: Watch) -> None:  # fmt: skip
    store = Store(own_postgres.new_database()).open()
    people = _fill(store, slow, 150)
    fanout = Fanout(store, Policy(store_retry=120))
    _wait(lambda: len(slow.messages) >= 30)
    own_postgres.halt()
    try:
        _wait(watch.failing.is_set)
    finally:
        own_postgres.start()
    fanout.join()
    assert fanout.error is None, fanout.error
    assert _assert_bound(slow, people, store) == 0
    store.dispose()


def test_postgresql_down_for_too_long_stops_the_fanout_and_the_next_check_sends_the_rest(own_postgres: PostgresServer, slow: SMTPSink,
                                                                                         watch: Watch) -> None:  # fmt: skip
    store = Store(own_postgres.new_database()).open()
    people = _fill(store, slow, 150)
    fanout = Fanout(store, Policy(store_retry=1))
    _wait(lambda: len(slow.messages) >= 30)
    own_postgres.halt()
    try:
        fanout.join()
    finally:
        own_postgres.start()
    assert isinstance(fanout.error, StoreError), fanout.error
    assert len(slow.messages) < 150, "the fan-out stopped"
    Fanout(store, Policy(), clock=_later).join()
    _assert_bound(slow, people, store)
    store.dispose()


@pytest.mark.lifecycle
def test_two_senders_through_a_slow_route_with_a_short_lease_send_nothing_twice(feed: FeedServer, env: dict, tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Host 1 (a real `check`) sends 80 alerts at about 16 a second (0.25 s a message, four
    sessions), far longer than its 3 s lease; host 2 (this process) dispatches from the same
    store over and over meanwhile.  Host 1 renews its lease while it sends, so host 2 never
    finds a row to send.  Nothing here depends on timing: host 2 only ever tries more often."""
    sink = SMTPSink(delay=0.25).start()
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text().replace("[alerts]\n", "[alerts]\nlease = 3\n"))
    host1 = {**env, "CRSWATCH_HOST": "host1"}
    try:
        feed.serve(snapshot("2026-01-20"))
        cli("check", "--source", feed.url, env=host1, check=True)
        rows = ["name,score,within,streams,profile_created,channels"] + [
            f"p{i},520,,cec,,{sink.url(f'p{i}@example.com')}" for i in range(80)
        ]
        (tmp_path / "people.csv").write_text("\n".join(rows) + "\n")
        cli("import", str(tmp_path / "people.csv"), env=host1, check=True)
        feed.serve(snapshot("2026-01-21"))
        sender = subprocess.Popen([sys.executable, "-m", "crswatch", "check", "--source", feed.url], env={**os.environ, **host1},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        monkeypatch.setenv("CRSWATCH_HOST", "host2")
        store = store_of(env)
        tries = 0
        try:
            _wait(lambda: _held_by(store, "host1") == 80 or sender.poll() is not None)  # host 1 claimed the fan-out
            while sender.poll() is None:
                report = dispatch(store, Policy(lease=3), concurrency=CONCURRENCY, services=Services())
                tries += 1
                assert report.attempted == 0, f"host 2 took over {report.attempted} deliveries host 1 was still sending"
                time.sleep(0.05)
        finally:
            if sender.poll() is None:
                sender.send_signal(signal.SIGTERM)
            out, err = sender.communicate(timeout=60)
            store.dispose()
        assert sender.returncode == 0, err
        assert "alerts: 80 sent" in out
        assert tries > 1
        copies = _copies(sink)
        assert len(copies) == 80 and set(copies.values()) == {1}
    finally:
        sink.stop()
