"""`crswatch check` end to end: the real spider against a local HTTP server and file:// URLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import SNAPSHOTS, FeedServer, cli, read_db, snapshot, stored_status, table


def _numbers(db: Path) -> set[str]:
    return {d["number"] for d in table(db, "draws")}


def test_new_draw_between_two_snapshots_over_http(feed: FeedServer, env: dict, db_path: Path) -> None:
    feed.serve(snapshot("2026-01-20"))
    first = cli("check", "--source", feed.url, env=env, check=True)
    assert "392 new" in first.stdout and "first check" in first.stdout
    feed.serve(snapshot("2026-01-21"))
    second = cli("check", "--source", feed.url, env=env, check=True)
    assert "new draw #392 2026-01-21 Canadian Experience Class: 6,000 invitations, CRS 509" in second.stdout
    assert "check: 1 new, 0 changed, 392 unchanged" in second.stdout
    status = stored_status(env)
    assert status["new"] == ["392"] and status["outcome"] == "updated"
    stored = {d["number"]: d for d in table(db_path, "draws")}
    assert stored["392"]["crs"] == 509 and stored["392"]["tie_break"] == "2025-10-29T04:35:24Z"
    assert "crswatch/" in feed.requests[0]["User-Agent"]


def test_file_url_source_from_the_environment(env: dict, db_path: Path) -> None:
    result = cli("check", env={**env, "CRSWATCH_SOURCE": snapshot("2026-01-21").as_uri()}, check=True)
    assert "393 new" in result.stdout
    assert len(_numbers(db_path)) == 393


def test_replay_in_date_order_reports_every_draw_new_exactly_once(env: dict, db_path: Path) -> None:
    seen: list[str] = []
    for path in SNAPSHOTS:
        cli("check", "--source", path.as_uri(), env=env, check=True)
        status = stored_status(env)
        seen.extend(status["new"])
    assert len(seen) == len(set(seen)) == len(_numbers(db_path)) == 393


def test_conditional_get_answers_unchanged_without_rewriting_draws(feed: FeedServer, env: dict, db_path: Path) -> None:
    feed.serve(snapshot("2026-01-21"), ETag='"v1"', **{"Last-Modified": "Wed, 21 Jan 2026 13:00:00 GMT"})
    cli("check", "--source", feed.url, env=env, check=True)
    draws_before = read_db(db_path)["draws"]
    result = cli("check", "--source", feed.url, env=env, check=True)
    assert "feed unchanged (304 Not Modified)" in result.stdout
    assert feed.requests[1]["If-None-Match"] == '"v1"'
    assert feed.requests[1]["If-Modified-Since"] == "Wed, 21 Jan 2026 13:00:00 GMT"
    assert read_db(db_path)["draws"] == draws_before
    status = stored_status(env)
    assert status["outcome"] == "unchanged"


def test_same_body_without_validators_is_unchanged(feed: FeedServer, env: dict, db_path: Path) -> None:
    feed.serve(snapshot("2026-01-21"))
    cli("check", "--source", feed.url, env=env, check=True)
    result = cli("check", "--source", feed.url, env=env, check=True)
    assert "feed unchanged (same body as last time)" in result.stdout


HUGE = b'{"rounds": [' + b" " * (17 * 1024 * 1024) + b"]}"


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (b"this is not json", 200, 4, "not valid JSON"),
        (b"<!DOCTYPE html><html><body>Maintenance</body></html>", 200, 4, "HTML"),
        (b'{"classes": "wb-tables"}', 200, 4, 'no "rounds"'),
        (b'{"classes": "wb-tables", "rounds": []}', 200, 4, "no rounds"),
        ("truncated", 200, 4, "looks truncated"),
        (HUGE, 200, 4, "larger than"),
        (b"gone", 404, 3, "HTTP 404"),
        (b"oops", 500, 3, "HTTP 500"),
    ],
    ids=["not-json", "html", "no-rounds-key", "empty-list", "truncated", "huge", "404", "500"],
)
def test_bad_feeds_are_rejected_and_lose_nothing(
    feed: FeedServer, env: dict, db_path: Path, body: bytes | str, status: int, code: int, message: str
) -> None:
    feed.serve(snapshot("2026-01-21"))
    cli("check", "--source", feed.url, env=env, check=True)
    before = read_db(db_path)
    if body == "truncated":
        rounds = json.loads(snapshot("2026-01-21").read_bytes())["rounds"][:50]
        body = json.dumps({"rounds": rounds}).encode()
    feed.serve(body, status=status)
    result = cli("check", "--source", feed.url, env=env)
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crswatch: error:") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    after = read_db(db_path)
    assert after["draws"] == before["draws"]
    assert stored_status(env)["consecutive_failures"] == 1


def test_unreachable_server_is_a_fetch_failure(env: dict, db_path: Path) -> None:
    result = cli("check", "--source", "http://127.0.0.1:9/feed.json", env=env)
    assert result.returncode == 3
    assert "cannot fetch http://127.0.0.1:9/feed.json" in result.stderr and "refused" in result.stderr
    assert "Traceback" not in result.stderr


def test_5xx_is_retried_by_scrapy(feed: FeedServer, env: dict, db_path: Path) -> None:
    feed.serve(snapshot("2026-01-21"))
    feed.fail_next = 1
    result = cli("check", "--source", feed.url, env=env, check=True)
    assert "393 new" in result.stdout
    assert len(feed.requests) == 2


def test_malformed_round_is_held_then_picked_up_once_fixed(feed: FeedServer, env: dict, db_path: Path) -> None:
    document = json.loads(snapshot("2026-01-21").read_bytes())
    document["rounds"][0]["drawCRS"] = "TBD"
    feed.serve(json.dumps(document).encode())
    result = cli("check", "--source", feed.url, env=env)
    assert result.returncode == 9, result.stderr
    assert "392 new" in result.stdout and "1 held" in result.stdout
    assert "crswatch: error: round #392 held, not stored: drawCRS 'TBD' is not a number" in result.stderr
    assert "392" not in _numbers(db_path)
    status = cli("status", "--format", "json", env=env)
    assert status.returncode == 7 and json.loads(status.stdout)["held"] == [
        {"number": "392", "reason": "drawCRS 'TBD' is not a number"}
    ]
    again = cli("check", "--source", feed.url, env=env)  # the same body is read again, still held
    assert again.returncode == 9 and "0 new" in again.stdout and "1 held" in again.stdout
    document["rounds"][0]["drawCRS"] = "509"
    feed.serve(json.dumps(document).encode())
    result = cli("check", "--source", feed.url, env=env, check=True)
    assert "check: 1 new, 0 changed, 392 unchanged" in result.stdout


def test_edited_round_is_updated_and_its_old_version_kept(feed: FeedServer, env: dict, db_path: Path) -> None:
    document = json.loads(snapshot("2026-01-21").read_bytes())
    feed.serve(json.dumps(document).encode())
    cli("check", "--source", feed.url, env=env, check=True)
    document["rounds"][0]["drawSize"] = "6,500"
    del document["rounds"][5]  # a draw missing from a later feed is never deleted
    feed.serve(json.dumps(document).encode())
    result = cli("check", "--source", feed.url, env=env, check=True)
    assert "0 new, 1 changed, 391 unchanged" in result.stdout
    stored = {d["number"]: d for d in table(db_path, "draws")}
    assert stored["392"]["invitations"] == 6500 and len(stored) == 393
    (revision,) = table(db_path, "draw_revisions")
    assert revision["number"] == "392" and revision["record"]["invitations"] == 6000


def test_corrupt_database_is_an_error_and_left_untouched(env: dict, db_path: Path) -> None:
    db_path.write_bytes(b'{"draws": {"1": {"number": "1"')
    result = cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env)
    assert result.returncode == 5
    assert "corrupt" in result.stderr and "Traceback" not in result.stderr
    assert db_path.read_bytes() == b'{"draws": {"1": {"number": "1"'
    assert cli("draws", env=env).returncode == 5


def test_database_file_is_private(env: dict, db_path: Path) -> None:
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
    assert db_path.stat().st_mode & 0o777 == 0o600


def test_dry_run_stores_nothing(env: dict, db_path: Path) -> None:
    result = cli("check", "--dry-run", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
    assert "dry run" in result.stdout
    assert not db_path.exists() or not table(db_path, "draws")
