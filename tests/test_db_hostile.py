"""Stored data that is not what it seems: an empty main file, a symlinked --db, leftover temp files."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import cli, snapshot


def test_an_empty_main_file_is_an_error_not_a_new_database(env: dict, db_path: Path) -> None:
    db_path.write_bytes(b"")
    result = cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env)
    assert result.returncode == 5 and "is empty (0 bytes)" in result.stderr and "Traceback" not in result.stderr
    assert db_path.read_bytes() == b""
    for command in (["draws"], ["subscribers"], ["status"]):
        assert cli(*command, env=env).returncode == 5


def test_a_symlinked_db_is_followed(env: dict, tmp_path: Path) -> None:
    real = tmp_path / "data" / "real.json"
    real.parent.mkdir()
    link = tmp_path / "link.json"
    env = {**env, "CRSWATCH_DB": str(link)}
    cli("--db", str(real), "check", "--source", snapshot("2026-01-20").as_uri(), env=env, check=True)
    link.symlink_to(real)
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
    assert link.is_symlink() and link.resolve() == real
    assert "392" in {d["number"] for d in json.loads(real.read_bytes())["draws"].values()}
    assert not (tmp_path / "link.sqlite").exists() and (tmp_path / "data" / "real.sqlite").exists()


def test_temp_files_of_a_killed_write_are_removed_by_the_next(env: dict, db_path: Path) -> None:
    cli("check", "--source", snapshot("2026-01-20").as_uri(), env=env, check=True)
    leftovers = [db_path.parent / f".{db_path.name}.abc123.tmp", db_path.parent / f".{db_path.name}.xyz.tmp"]
    for tmp in leftovers:
        tmp.write_bytes(b"x" * 1000)
    unrelated = db_path.parent / ".other-program.tmp"
    unrelated.write_bytes(b"mine")
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
    assert not any(tmp.exists() for tmp in leftovers) and unrelated.exists()
