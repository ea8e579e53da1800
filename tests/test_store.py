"""The SQL store on both engines: a SQLite file and a real PostgreSQL server (started by the tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import cli
from pg import PostgresServer
from sqlalchemy import exc, text

from crswatch.notifier.channels import check_url
from crswatch.notifier.claims import claim, record
from crswatch.notifier.outbox import (
    DEAD,
    FAILED,
    QUEUED,
    SENT,
    Delivery,
    announce,
    counts,
    first_seen,
    listing,
    queue,
    requeue,
)
from crswatch.notifier.policy import Policy
from crswatch.store import kv, limits
from crswatch.store.errors import StoreError, StoreURLError
from crswatch.store.sql import Store
from crswatch.store.url import where
from crswatch.subscribers import manage
from crswatch.subscribers import store as subscribers

NOW = datetime(2026, 1, 21, 13, tzinfo=UTC)
DEFAULTS = manage.Defaults(10, ("cec",))


@pytest.fixture
def store(store_url: str) -> Store:
    opened = Store(store_url).open()
    yield opened
    opened.dispose()


def _delivery(n: int, draw: str = "392", kind: str = "new") -> Delivery:
    return Delivery(id=f"{draw}/0/s{n}/c{n}", draw=draw, revision=0, subscriber=f"s{n}", channel=f"c{n}", masked="m", verdict="invited",
                    kind=kind, queued_at=NOW, seq=n)  # fmt: skip


def test_subscribers_round_trip_and_one_destination_one_subscriber(store: Store) -> None:
    url = "mailto://127.0.0.1:25?from=a@example.com&to=dana@example.com"
    with store.write() as conn:
        sub, created = manage.subscribe(conn, score=505, channels=[url], check=check_url, defaults=DEFAULTS, now=NOW)
    assert created
    with store.write() as conn:
        again, created = manage.subscribe(conn, score=510, channels=[url], check=check_url, defaults=DEFAULTS, now=NOW)
    assert not created and again.id == sub.id
    with store.read() as conn:
        assert subscribers.count(conn) == 1 and subscribers.require(conn, sub.id).subscriber.score == 510
        assert subscribers.owners(conn, [url]) == {url: sub.id}
        assert [d.id for d in subscribers.iter_all(conn, reach=515)] == [sub.id]
        assert list(subscribers.iter_all(conn, reach=521)) == []
    with pytest.raises(exc.IntegrityError), store.write() as conn:  # the database itself keeps the rule
        other = again.with_changes(id="zzzzzzzz")
        subscribers.insert(conn, [other])
    with store.write() as conn:
        manage.unsubscribe(conn, sub.id)
    with store.read() as conn:
        assert subscribers.count(conn) == 0 and subscribers.owners(conn, [url]) == {}


def test_every_reader_gives_the_one_subscriber_record(store: Store) -> None:
    """A subscriber read back is the one stored, by whichever reader; the lean reader of the
    digests and pool alerts leaves out only the channel URLs (secrets planning never needs)."""
    from dataclasses import fields, replace

    from crswatch.subscribers.model import Subscriber
    from crswatch.subscribers.tables import subscribers as table

    urls = ["mailto://127.0.0.1:25?from=a@example.com&to=dana@example.com", "ntfy://dana-topic"]
    with store.write() as conn:
        made, _ = manage.subscribe(conn, score=505, channels=urls, check=check_url, defaults=DEFAULTS, now=NOW,
                                   name="Dana", cadence="weekly", pool_alerts=True)  # fmt: skip
    with store.read() as conn:
        (listed,) = subscribers.iter_all(conn)
        (lean,) = subscribers.iter_recipients(conn, cadence="weekly")
        found = subscribers.require(conn, made.id).subscriber
    assert listed == found == made and [c.url for c in listed.channels] == urls
    assert lean == replace(made, channels=tuple(replace(c, url=None) for c in made.channels))
    with pytest.raises(LookupError, match="without its URL"):
        lean.channels[0].destination
    assert urls[0] not in repr(listed) + repr(listed.channels)  # a record in a log line shows no secret
    # every column is a field of the record (a new column must become one), and no more
    assert set(table.c.keys()) == {f.name for f in fields(Subscriber)} - {"channels", "token"}


def test_a_channel_left_with_an_older_key_is_named_by_its_destination(store: Store) -> None:
    """Migration 0002 could not re-key a channel whose destination another row already had: the
    row keeps its older key.  Deliveries still name the destination, so a subscriber with two
    spellings of one mailbox gets one alert per draw, and what was queued finds its channel."""
    from sqlalchemy import insert, update

    from crswatch.draws.record import Draw
    from crswatch.notifier.fanout import plan
    from crswatch.subscribers.identity import destination_key
    from crswatch.subscribers.tables import channels

    url = "mailto://127.0.0.1:25?from=a@example.com&to=dana@example.com"
    spelled = "mailto://127.0.0.1:25?to=Dana@Example.com&from=a@example.com"
    with store.write() as conn:
        sub, _ = manage.subscribe(conn, score=505, channels=[url], check=check_url, defaults=DEFAULTS, now=NOW)
        conn.execute(update(channels).values(key="1" * 24))  # as 0.1 named it
        conn.execute(
            insert(channels).values(key="2" * 24, subscriber=sub.id, position=1, url=spelled, masked="mailto://…")
        )
    draw = Draw(
        number="392", date=NOW.date(), program="Canadian Experience Class", stream="cec", invitations=1, crs=500
    )
    with store.write() as conn:
        found = subscribers.require(conn, sub.id).subscriber
        assert {c.key for c in found.channels} == {destination_key(url)}
        planned = plan(
            [(draw, {"first_seen": "2026-02-01T00:00:00Z", "revision": 0})], [], subscribers.iter_all(conn), NOW
        )
        assert queue(conn, planned) == 1 and planned[0].channel == destination_key(url)


def test_planning_is_idempotent_and_first_seen_is_shared(store: Store) -> None:
    with store.write() as conn:
        assert announce(conn, [("392", 0, "new", NOW, {"n": 1})]) == {("392", 0, "new")}
        assert queue(conn, [_delivery(i) for i in range(5)]) == 5
    with store.write() as conn:  # a second host, or a rerun, announces and plans the same draw
        assert announce(conn, [("392", 0, "new", NOW + timedelta(hours=1), {"n": 2})]) == set()
        assert queue(conn, [_delivery(i) for i in range(7)]) == 2
        assert first_seen(conn, ["392"]) == {"392": NOW}
    with store.read() as conn:
        assert counts(conn)[QUEUED] == 7


def test_claims_never_overlap_and_a_lease_ends(store: Store) -> None:
    with store.write() as conn:
        queue(conn, [_delivery(i) for i in range(40)])
    with store.write() as conn:
        first = claim(conn, NOW, "hostA:1", limit=25)
    with store.write() as conn:
        second = claim(conn, NOW, "hostB:2", limit=25)
    assert len(first) == 25 and len(second) == 15 and not {d.id for d in first} & {d.id for d in second}
    with store.write() as conn:
        assert claim(conn, NOW, "hostC:3") == []  # all held
        assert record(conn, first[0], True, "", NOW, Policy(), "hostB:2") is None  # only the holder records
        assert record(conn, first[0], True, "", NOW, Policy(), "hostA:1").status == SENT
        assert record(conn, first[0], True, "", NOW, Policy(), "hostA:1") is None  # once
    with store.write() as conn:  # hostA died: its lease ends, another host takes over
        later = claim(conn, NOW + timedelta(minutes=6), "hostC:3")
    assert {d.id for d in later} == {d.id for d in [*first[1:], *second]}


def test_a_killed_sender_on_this_host_loses_its_claims_at_once(store: Store) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    gone = f"{os.uname().nodename}:{dead.stdout.strip()}"
    with store.write() as conn:
        queue(conn, [_delivery(i) for i in range(3)])
        assert len(claim(conn, NOW, gone)) == 3
    with store.write() as conn:
        assert len(claim(conn, NOW, "me:1")) == 3


def test_concurrent_senders_split_the_work(store: Store) -> None:
    with store.write() as conn:
        queue(conn, [_delivery(i) for i in range(300)])
    taken: dict[str, list[str]] = {}

    def sender(name: str) -> None:
        mine = taken.setdefault(name, [])
        while True:
            with store.write() as conn:
                batch = claim(conn, NOW, name, limit=7)
            if not batch:
                return
            mine += [d.id for d in batch]

    threads = [threading.Thread(target=sender, args=(f"h{i}:{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for ids in taken.values() for i in ids]
    assert len(everything) == len(set(everything)) == 300


def test_failures_back_off_then_die_and_can_be_requeued(store: Store) -> None:
    policy = Policy(retry_base=60, retry_cap=3600, max_attempts=2)
    with store.write() as conn:
        queue(conn, [_delivery(1)])
        (d,) = claim(conn, NOW, "a:1")
        assert record(conn, d, False, "down", NOW, policy, "a:1").status == FAILED
        assert claim(conn, NOW + timedelta(seconds=59), "a:1") == []
        (d,) = claim(conn, NOW + timedelta(seconds=61), "a:1")
        assert record(conn, d, False, "down", NOW, policy, "a:1").status == DEAD
        assert requeue(conn, all_dead=True) == 1
        assert [x.status for x in listing(conn)] == [QUEUED]


def test_limits_and_keys_are_shared(store: Store) -> None:
    with store.write() as conn:
        assert [limits.hit(conn, "client:1", 2, 60, now=100.0 + i) for i in range(3)] == [True, True, False]
        assert limits.hit(conn, "client:1", 2, 60, now=200.0)
        kv.put(conn, "status", {"outcome": "updated"})
        kv.put(conn, "status", {"outcome": "unchanged"})
        assert kv.get(conn, "status") == {"outcome": "unchanged"}
    assert kv.secret(store, "links") == kv.secret(Store(store.where.url), "links")


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("mysql://u:pw@h/db", StoreURLError, "SQLite or PostgreSQL"),
        ("not a url", StoreURLError, "not a database URL"),
        ("postgresql+asyncpg://u:pw@h/db", StoreURLError, "psycopg"),
    ],
)
def test_bad_store_urls(url: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        where(url)


def test_unreachable_wrong_password_and_missing_tables(postgres_server: PostgresServer) -> None:
    closed = Store("postgresql+psycopg://postgres:Sekrit99@127.0.0.1:9/crswatch")
    with pytest.raises(
        StoreError, match="cannot use the store postgresql\\+psycopg://postgres:\\*\\*\\*@127.0.0.1:9/crswatch"
    ) as caught:
        closed.open()
    assert "Sekrit99" not in str(caught.value)
    wrong = Store(postgres_server.url(password="Wrong-pw-11"))
    with pytest.raises(StoreError, match="password authentication failed") as caught:
        wrong.open()
    assert "Wrong-pw-11" not in str(caught.value)
    url = postgres_server.new_database()
    Store(url).open().dispose()
    broken = Store(url)
    with broken.write() as conn:
        conn.execute(text("DROP TABLE deliveries"))
    with pytest.raises(StoreError, match="not a usable crswatch store"), broken.read() as conn:
        counts(conn)


def test_cli_store_errors_are_one_line_and_change_nothing(env: dict, postgres_server: PostgresServer) -> None:
    for url, code in [("mysql://u:pw@h/db", 2), ("postgresql+psycopg://postgres:Sekrit99@127.0.0.1:9/x", 5),
                      (postgres_server.url(password="Wrong-pw-11"), 5)]:  # fmt: skip
        result = cli("--store", url, "subscribers", env=env)
        assert result.returncode == code, result.stderr
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("crswatch: error:")
        assert "Sekrit99" not in result.stderr and "Wrong-pw-11" not in result.stderr


def test_status_names_the_store(env: dict, postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    out = cli("--store", url, "status", env=env).stdout
    assert "store:         postgresql+psycopg://postgres:***@127.0.0.1" in out and "crswatch-test-pw" not in out
    shown = cli("--store", url, "config", env=env, check=True).stdout
    assert 'store = "postgresql+psycopg://postgres:****@127.0.0.1:' in shown and "crswatch-test-pw" not in shown
    default = cli("config", env=env, check=True).stdout
    assert f'store = "sqlite:///{Path(env["CRSWATCH_DB"]).with_suffix(".sqlite")}"' in default


def test_the_fast_schema_check_knows_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from crswatch.store.sql import MIGRATIONS, head_revision

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_check_tidies_the_store(store: Store) -> None:
    """Finished deliveries go after KEEP_SENT, rate-limit hits after the longest window; what is
    still waiting, and what is recent, stays."""
    from crswatch.config import Config
    from crswatch.notifier.outbox import KEEP_SENT
    from crswatch.sending import tidy

    old = NOW - KEEP_SENT - timedelta(days=1)
    with store.write() as conn:
        queue(conn, [_delivery(1), _delivery(2), _delivery(3)])
        first, second, _third = claim(conn, old, "me")
        record(conn, first, True, "", old, Policy(), owner="me")  # sent long ago
        record(conn, second, True, "", NOW, Policy(), owner="me")  # sent now
        limits.hit(conn, "client:old", 10, 60, now=NOW.timestamp() - 2 * 86400)
        limits.hit(conn, "client:new", 10, 60, now=NOW.timestamp() - 60)
    tidy(Config(), store, NOW)
    with store.read() as conn:
        assert sorted(d.id for d in listing(conn)) == ["392/0/s2/c2", "392/0/s3/c3"]  # the queued one stays
        assert conn.execute(text("SELECT key FROM hits")).scalars().all() == ["client:new"]
