"""The schema changes only on command: the migrations make exactly the tables the code declares,
`crswatch db upgrade` brings a store from any earlier revision to the code's with its data kept,
a shared (PostgreSQL) store older than the code is refused until then, and a store newer than the
code is refused with a clear line, on both engines."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from helpers import DOCS_TEXT, ROOT, cli
from pg import PostgresServer
from sqlalchemy import text

from crswatch.store.migrations.declared import DECLARED
from crswatch.store.sql import Store, alembic_config, current_revision, head_revision, revisions


def _fresh(engine: str, tmp_path: Path, postgres: PostgresServer | None) -> str:
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    assert postgres is not None
    return postgres.new_database(migrated=False)


def _migrate_to(url: str, revision: str) -> None:
    """The store as an earlier release left it: its migrations up to `revision`, by Alembic."""
    store = Store(url)
    config = alembic_config()
    with store.engine.connect() as conn, conn.begin():
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    store.dispose()


def _fill(url: str, revision: str) -> None:
    """A subscriber with a channel, a claimed delivery and a status, in the columns every revision has
    (from 0005 on, a claim also names its host and process, as the code at that revision writes it)."""
    store = Store(url)
    with store.engine.connect() as conn, conn.begin():
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('status', '{\"outcome\": \"updated\"}')"))
        conn.execute(text("INSERT INTO subscribers (id, name, score, within, streams, created_at, status, token_hash) "
                          "VALUES ('s1', 'Dana', 505, 10, '[\"cec\"]', '2026-01-01T00:00:00Z', 'active', 'h1')"))  # fmt: skip
        conn.execute(text("INSERT INTO channels (key, subscriber, position, url, masked) "
                          "VALUES ('old-key', 's1', 0, 'mailto://127.0.0.1:25?from=a@example.com&to=dana@example.com', 'm')"))  # fmt: skip
        conn.execute(text("INSERT INTO deliveries (id, draw, revision, kind, subscriber, channel, masked, queued_at, seq, status, "
                          "attempts, last_error, claimed_until, claimed_by) VALUES ('392/0/s1/c1', '392', 0, 'new', 's1', 'old-key', 'm', "
                          "'2026-01-21T13:00:00.000000Z', 1, 'queued', 0, '', '2026-01-21T13:05:00.000000Z', :holder)"), {"holder": "host_a%:4242"})  # fmt: skip
        if revisions().index(revision) >= revisions().index("0005"):  # later revisions are named by word
            conn.execute(text("UPDATE deliveries SET claimed_host = 'host_a%', claimed_pid = 4242"))
    store.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def postgres(engine: str, request: pytest.FixtureRequest) -> PostgresServer | None:
    return request.getfixturevalue("postgres_server") if engine == "postgresql" else None


def test_the_migrations_make_exactly_the_tables_the_code_declares(
    engine: str, postgres: PostgresServer | None, tmp_path: Path
) -> None:
    url = _fresh(engine, tmp_path, postgres)
    store = Store(url)
    store.upgrade()
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), DECLARED) == []
    store.dispose()


def test_the_shipped_alembic_ini_runs_alembic(tmp_path: Path) -> None:
    """`alembic` itself, from the repository's alembic.ini: it finds the scripts' one head, and its
    autogenerate (`alembic check`) finds nothing to add to a store at head."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    Store(url).open().dispose()
    alembic = [os.path.join(os.path.dirname(os.sys.executable), "alembic"), "-c", str(ROOT / "alembic.ini")]
    heads = subprocess.run([*alembic, "heads"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert heads.stdout.split() == [head_revision(), "(head)"]
    checked = subprocess.run(
        [*alembic, "check"], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "CRSWATCH_STORE": url}
    )
    assert checked.returncode == 0 and "No new upgrade operations detected" in checked.stdout, checked.stderr


@pytest.mark.parametrize("revision", revisions()[:-1])
def test_db_upgrade_from_each_earlier_revision_keeps_the_data(
    engine: str, postgres: PostgresServer | None, tmp_path: Path, env: dict, revision: str
) -> None:
    url = _fresh(engine, tmp_path, postgres)
    _migrate_to(url, revision)
    _fill(url, revision)
    shared = {**env, "CRSWATCH_STORE": url}
    if engine == "postgresql":  # a shared store is never migrated under the other hosts
        refused = cli("subscribers", env=shared)
        assert refused.returncode == 5 and refused.stderr.count("\n") == 1, refused.stderr
        assert (
            f"is at schema revision {revision}, older than this crswatch's {head_revision()}: run `crswatch db upgrade`"
            in refused.stderr
        )
        assert "crswatch-test-pw" not in refused.stderr
        assert current_revision(Store(url)) == revision, "a refusal changes nothing"
    assert f"revision: {revision} (needs: crswatch db upgrade)" in cli("db", "current", env=shared, check=True).stdout
    upgraded = cli("db", "upgrade", env=shared, check=True)
    assert f"from {revision} to {head_revision()}" in upgraded.stdout
    assert "already at" in cli("db", "upgrade", env=shared, check=True).stdout  # safe to repeat
    assert f"revision: {head_revision()} (up to date)" in cli("db", "current", env=shared, check=True).stdout
    store = Store(url)
    with store.read() as conn:
        assert conn.execute(text("SELECT id, name, score, language FROM subscribers")).all() == [
            ("s1", "Dana", 505, "en")
        ]
        assert conn.execute(text("SELECT url FROM channels")).scalars().all() == [
            "mailto://127.0.0.1:25?from=a@example.com&to=dana@example.com"
        ]
        assert conn.execute(text("SELECT claimed_by, claimed_host, claimed_pid FROM deliveries")).all() == [
            ("host_a%:4242", "host_a%", 4242)
        ]
        assert conn.execute(text("SELECT value FROM meta WHERE key = 'status'")).scalar() == '{"outcome": "updated"}'
        assert conn.execute(text("SELECT created_at FROM subscribers")).scalar() == "2026-01-01T00:00:00.000000Z"
    store.dispose()
    assert cli("subscribers", env=shared, check=True).stdout.count("Dana") == 1


def test_every_moment_is_rewritten_in_the_one_stored_form(
    engine: str, postgres: PostgresServer | None, tmp_path: Path
) -> None:
    """Migration 0009: text order is time order only if every row has the one form `Moment` writes."""
    url = _fresh(engine, tmp_path, postgres)
    _migrate_to(url, "cadence")
    _fill(url, "cadence")
    store = Store(url)
    odd = {"2026-01-01T00:00:00Z": "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00+00:00": "2026-01-01T00:00:00.000000Z",
           "2025-12-31T19:00:00-05:00": "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00": "2026-01-01T00:00:00.000000Z",
           "2026-01-01T00:00:00.000000Z": "2026-01-01T00:00:00.000000Z", "not a time": "not a time", "": None}  # fmt: skip
    with store.engine.connect() as conn, conn.begin():
        for n, given in enumerate(odd):
            conn.execute(text("INSERT INTO subscribers (id, name, score, within, streams, created_at, profile_created, status, "
                              "token_hash) VALUES (:id, 'x', 500, 10, '[]', :at, :at, 'active', :id)"), {"id": f"m{n}", "at": given})  # fmt: skip
        conn.execute(text("INSERT INTO announcements (draw, revision, kind, first_seen, record) "
                          "VALUES ('391', 0, 'new', '', '{}')"))  # fmt: skip
        conn.execute(text("UPDATE deliveries SET next_try = ''"))  # due now, as SQL compared it
    store.upgrade()
    with store.read() as conn:
        rows = dict(conn.execute(text("SELECT id, profile_created FROM subscribers WHERE id LIKE 'm%'")).all())
        required = dict(conn.execute(text("SELECT id, created_at FROM subscribers WHERE id LIKE 'm%'")).all())
        first_seen = conn.execute(text("SELECT first_seen FROM announcements WHERE draw = '391'")).scalar()
        next_try = conn.execute(text("SELECT next_try FROM deliveries")).scalar()
    store.dispose()
    assert [rows[f"m{n}"] for n in range(len(odd))] == list(odd.values())  # an empty optional time is no time
    # any other empty time: long ago, a value that sorts first, as '' did in SQL (a delivery stays due)
    assert required[f"m{len(odd) - 1}"] == first_seen == next_try == "0001-01-01T00:00:00.000000Z"


def test_a_store_newer_than_the_code_is_refused_and_left_alone(
    engine: str, postgres: PostgresServer | None, tmp_path: Path, env: dict
) -> None:
    """Another host ran a newer crswatch's `db upgrade`: this (older) one says so, in one line, and touches nothing."""
    url = _fresh(engine, tmp_path, postgres)
    store = Store(url)
    store.upgrade()
    with store.engine.connect() as conn, conn.begin():
        conn.execute(text("UPDATE alembic_version SET version_num = 'tomorrow'"))
    store.dispose()
    shared = {**env, "CRSWATCH_STORE": url}
    for args in (("subscribers",), ("status",), ("check", "--source", "http://127.0.0.1:9/"), ("db", "upgrade")):
        refused = cli(*args, env=shared)
        assert refused.returncode == 5, (args, refused.stderr)
        assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("crswatch: error: the store ")
        assert (
            f"is at schema revision tomorrow, newer than this crswatch knows (up to {head_revision()})"
            in refused.stderr
        )
    assert "newer than this crswatch" in cli("db", "current", env=shared, check=True).stdout
    assert current_revision(Store(url)) == "tomorrow"


def test_a_fresh_postgresql_store_waits_for_db_upgrade(postgres_server: PostgresServer, env: dict) -> None:
    url = postgres_server.new_database(migrated=False)
    shared = {**env, "CRSWATCH_STORE": url}
    refused = cli("subscribers", env=shared)
    assert refused.returncode == 5 and "has no crswatch schema yet: run `crswatch db upgrade`" in refused.stderr
    assert "from nothing to" in cli("db", "upgrade", env=shared, check=True).stdout
    assert cli("subscribers", env=shared).returncode == 0


def test_a_running_scheduler_refuses_a_store_upgraded_past_it(tmp_path: Path) -> None:
    """`run` lives for weeks: each cycle asks the store's revision first (one query) and says, in
    its cycle line, that another host upgraded the store past this code."""
    from crswatch.store.errors import SchemaAhead

    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}").open()
    store.recheck()  # at the code's revision: nothing to say
    with store.engine.connect() as conn, conn.begin():
        conn.execute(text("UPDATE alembic_version SET version_num = 'tomorrow'"))
    with pytest.raises(SchemaAhead, match="newer than this crswatch knows"):
        store.recheck()


def test_the_readme_db_example_is_what_crswatch_prints(postgres_server: PostgresServer, env: dict) -> None:
    """The README's `db` session ("Operating several hosts"), replayed on a real PostgreSQL store
    left at 0003 by an earlier release (its URL shown as the README's)."""
    import re
    import shlex

    readme_url = "postgresql+psycopg://crswatch:***@db/crswatch"
    section = DOCS_TEXT.split("## Operating several hosts", 1)[1]
    block = re.search(r"```console\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    url = postgres_server.new_database(migrated=False)
    _migrate_to(url, "0003")
    here = re.compile(
        r"postgresql\+psycopg://postgres:(\*+)@127\.0\.0\.1:\d+/t_\w+"
    )  # this server's URL as printed, masked
    shared = {**env, "CRSWATCH_STORE": url}
    command, expected = None, []
    for line in [*block.splitlines(), "$ end"]:
        if not line.startswith("$ "):
            expected.append(line)
            continue
        if command:
            result = cli(*shlex.split(command.replace(readme_url, url))[1:], env=shared)
            printed = here.sub(
                lambda m: f"postgresql+psycopg://crswatch:{m[1]}@db/crswatch", result.stdout + result.stderr
            )
            assert printed.splitlines() == expected, command
        command, expected = line[2:], []
