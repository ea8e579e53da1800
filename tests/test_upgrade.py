"""A database written by the previous release (its own code, run from git history) opens, moves
into the SQL store, and keeps every subscriber, token, delivery, sign-up, key and status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import ROOT, FeedServer, cli, outbox, snapshot, stored_status, wait_for_retries
from servers import SMTPSink, WebhookReceiver

PREVIOUS = "fa36d5dfb240f8cf1988d721d18aeab89911e7d1"  # the last release with TinyDB shards under <db>.d/


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from importlib.metadata import version

    if int(version("apprise").split(".")[0]) < 2:  # the lowest-versions run
        pytest.skip(
            "the previous release could not send with apprise < 2 (fixed since); its files are tested with apprise 2"
        )
    folder = tmp_path_factory.mktemp("previous-release")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", PREVIOUS], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def _old(previous: Path, *args: str, env: dict) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "crswatch", *args], env={**os.environ, **env, "PYTHONPATH": str(previous)},
                            cwd=previous, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert "previous-release" in _old_module(previous, env), "the previous release's code must run, not this one's"
    return result


def _old_module(previous: Path, env: dict) -> str:
    code = "import crswatch; print(crswatch.__file__)"
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, **env, "PYTHONPATH": str(previous)}, cwd=previous,
                          capture_output=True, text=True, check=True).stdout  # fmt: skip


def test_the_previous_release_database_moves_into_the_store(
    previous: Path, feed: FeedServer, env: dict, db_path: Path, smtp: SMTPSink, webhook: WebhookReceiver
) -> None:
    feed.serve(snapshot("2026-01-20"))
    assert _old(previous, "check", "--source", feed.url, env=env).returncode == 0
    mail = _old(
        previous, "subscribe", "--score", "520", "--stream", "cec", "--notify", smtp.url("dana@example.com"), env=env
    )
    token = mail.stderr.rsplit("unsubscribe token: ", 1)[1].strip()
    _old(
        previous,
        "subscribe",
        "--score",
        "600",
        "--stream",
        "pnp",
        "--within",
        "5",
        "--profile-created",
        "2025-01-02",
        "--name",
        "Li",
        "--notify",
        webhook.url("li"),
        env=env,
    )
    _old(previous, "subscribe", "--score", "515", "--stream", "cec", "--notify", webhook.url("sam"), env=env)
    webhook.status = 500  # Sam's and Li's hooks fail for now
    feed.serve(snapshot("2026-01-21"))
    assert "alerts: 1 sent, 1 failed" in _old(previous, "check", "--source", feed.url, env=env).stdout
    pending = ("from datetime import timedelta; from crswatch.db import Database; from subscribers import optin;"
               "d = Database(__import__('os').environ['CRSWATCH_DB']);"
               "s = optin.SignUp('mailto://127.0.0.1:25?from=a@example.com&to=new@example.com', 510, None, ('cec',), None)\n"
               "with d.transaction() as tx: print(optin.start(tx, s, ttl=timedelta(hours=48)))")  # fmt: skip
    subprocess.run(
        [sys.executable, "-c", pending],
        env={**os.environ, **env, "PYTHONPATH": str(previous)},
        cwd=previous,
        check=True,
    )
    before = {
        "subscribers": json.loads(_old(previous, "subscribers", "--format", "json", env=env).stdout),
        "deliveries": json.loads(_old(previous, "deliveries", "--format", "json", env=env).stdout),
        "status": json.loads(_old(previous, "status", "--format", "json", env=env).stdout),
    }
    old_files = db_path.with_name(db_path.name + ".d")
    link_key = (old_files / "links.key").read_text().strip() if (old_files / "links.key").exists() else None

    after_subscribers = json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout)
    keep = ("id", "name", "status", "score", "within", "streams", "profile_created", "created_at")
    assert sorted(({k: s[k] for k in keep} for s in after_subscribers), key=str) == sorted(
        ({k: s[k] for k in keep} for s in before["subscribers"]), key=str
    )
    assert len(after_subscribers) == 3
    after = outbox(env)
    assert sorted((d["id"], d["status"], d["attempts"]) for d in after) == sorted(
        (d["id"], d["status"], d["attempts"]) for d in before["deliveries"]
    )
    status = json.loads(cli("status", "--format", "json", env=env).stdout)
    assert status["last_check_at"] == before["status"]["last_check_at"] and status["pending_sign_ups"] == 1
    assert status["store"].startswith("sqlite:///") and stored_status(env)["new"] == ["392"]
    assert not old_files.exists() and old_files.with_name(old_files.name + ".migrated").is_dir()
    if link_key:
        from helpers import store_of

        from crswatch.store.kv import secret

        assert secret(store_of(env), "links").hex() == link_key

    webhook.status = 200  # the failed delivery is retried once, and nobody hears of #392 twice
    wait_for_retries(env)  # its next try, as the previous release set it (retry_base 1 s), has come
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text().replace("retry_base = 1", "retry_base = 0.01"))
    assert "alerts: 1 sent" in cli("check", "--source", feed.url, env=env, check=True).stdout
    assert "sent" not in cli("check", "--source", feed.url, env=env, check=True).stdout
    assert len(smtp.to("dana@example.com")) == 1 and [p["path"] for p in webhook.posts] == ["/sam"]
    assert cli("unsubscribe", token, env=env).returncode == 0  # the old token still works


def test_an_upgrade_stopped_between_its_commit_and_its_rename_resumes(
    previous: Path, feed: FeedServer, env: dict, db_path: Path
) -> None:
    from helpers import store_of
    from sqlalchemy import delete

    from crswatch.store.kv import meta

    feed.serve(snapshot("2026-01-20"))
    assert _old(previous, "check", "--source", feed.url, env=env).returncode == 0
    _old(
        previous,
        "subscribe",
        "--score",
        "520",
        "--name",
        "Dana Private",
        "--notify",
        "mailto://127.0.0.1:25?from=a@example.com&to=dana@example.com",
        env=env,
    )
    before = cli("subscribers", "--format", "json", env=env, check=True).stdout  # the upgrade runs
    old_files, moved = db_path.with_name(db_path.name + ".d"), db_path.with_name(db_path.name + ".d.migrated")
    for forget_the_record in (False, True):  # a store moved by this crswatch, and by one that kept no record of it
        moved.rename(old_files)  # as if the process had been stopped after the commit, before the rename
        if forget_the_record:
            store = store_of(env)
            with store.write() as conn:
                conn.execute(delete(meta).where(meta.c.key == "upgrade:0.1"))
            store.dispose()
        result = cli("subscribers", "--format", "json", env=env)
        assert result.returncode == 0 and result.stdout == before and result.stderr == ""
        assert moved.is_dir() and not old_files.exists()
    assert len(json.loads(before)) == 1


def test_a_store_error_never_carries_the_rows_it_was_writing(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    from crswatch.store.sql import Store
    from crswatch.subscribers import store as subscribers
    from crswatch.subscribers.model import Channel, Subscriber

    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    person = Subscriber(id="abcd2345", name="Dana Private", score=500, within=10, streams=("cec",),
                        channels=(Channel.of("ntfy://dana-topic", "ntfy://dana-topic"),),
                        token_hash="f" * 64, created_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
    with store.write() as conn:
        subscribers.insert(conn, [person])
    with pytest.raises(IntegrityError) as caught, store.write() as conn:
        subscribers.insert(conn, [person])
    assert "Dana Private" not in str(caught.value) and "f" * 64 not in str(caught.value)
    store.dispose()
