"""The database layer: atomic writes, the inter-process lock, batch merges, corrupt files."""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import snapshot

from crswatch.draws.table import merge_draws, query_draws
from crswatch.scraper.parse import parse_feed, parse_round
from crswatch.store.draws import Database
from crswatch.store.errors import DatabaseError


def _add(path: str, worker: int, count: int) -> None:
    database = Database(path)
    for i in range(count):
        with database.transaction() as tx:
            tx.table("items").insert({"worker": worker, "i": i})


def test_two_processes_never_lose_each_others_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "db.json")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_add, args=(path, w, 100)) for w in range(2)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
    with Database(path).reader() as view:
        assert len(view.table("items")) == 200


def test_a_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    database = Database(tmp_path / "db.json")
    with database.transaction() as tx:
        tx.table("items").insert({"a": 1})
    before = database.path.read_bytes()
    with pytest.raises(RuntimeError), database.transaction() as tx:
        tx.table("items").insert({"a": 2})
        raise RuntimeError("boom")
    assert database.path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_corrupt_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_text("[1, 2, 3]")
    with pytest.raises(DatabaseError, match="not a crswatch database"):
        with Database(path).transaction() as tx:
            tx.table("items").insert({"a": 1})
    assert path.read_text() == "[1, 2, 3]"


def test_new_file_is_private(tmp_path: Path) -> None:
    database = Database(tmp_path / "sub" / "db.json")
    with database.transaction() as tx:
        tx.table("items").insert({"a": 1})
    assert os.stat(database.path).st_mode & 0o777 == 0o600


def test_merge_is_idempotent_and_one_batch(tmp_path: Path) -> None:
    draws = [parse_round(r) for r in parse_feed(snapshot("2026-01-21").read_bytes())]
    database = Database(tmp_path / "db.json")
    now = datetime(2026, 1, 21, 13, tzinfo=UTC)
    with database.transaction() as tx:
        first = merge_draws(tx, draws, now)
    with database.transaction() as tx:
        again = merge_draws(tx, draws, now)
    assert (len(first.new), again.unchanged, len(again.new), len(again.changed)) == (393, 393, 0, 0)
    assert [d.number for d in first.new][:3] == ["1", "2", "3"]  # oldest first
    with database.reader() as view:
        assert [r["number"] for r in query_draws(view, ["cec"], limit=2)] == ["392", "390"]
