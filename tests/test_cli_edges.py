"""Rough edges of the command line: every usage error one line, a closed pipe quiet, clear words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli, snapshot


def test_a_closed_pipe_ends_quietly(env: dict) -> None:
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
    for _ in range(5):  # the reader goes away at a different moment each time
        reader = subprocess.Popen(["head", "-1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        writer = subprocess.run(
            [sys.executable, "-m", "crswatch", "draws"],
            env={**os.environ, **env},
            stdout=reader.stdin,
            stderr=subprocess.PIPE,
        )
        reader.stdin.close()  # type: ignore[union-attr]
        reader.wait()
        assert writer.returncode == 0 and writer.stderr == b""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["draws", "--frobnicate"], "--frobnicate"),  # click's own wording differs between versions
        (["nope"], "'nope'"),
        (["draws", "--limit", "x"], "'x' is not a valid integer"),
        (["draws", "--since", "2025-01-01", "--until", "2024-01-01"], "--since 2025-01-01 is after --until 2024-01-01"),
        (["stats", "--since", "2025-01-01", "--until", "2024-01-01"], "--since 2025-01-01 is after --until 2024-01-01"),
        (["subscribe", "--score", "500.5", "--notify", "json://127.0.0.1:9/x"], "score '500.5' is not a whole number"),
        (["check", "--source", "feed.json"], "for a file use file:///"),
        (["subscribe"], "Missing option '--notify'"),
        (["subscribe", "--notify", "json://127.0.0.1:9/x"], "give a CRS score (--score) or a profile (--profile)"),
    ],
)
def test_every_usage_error_is_one_line_with_exit_2(env: dict, args: list[str], message: str) -> None:
    result = cli(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("crswatch: error: ") and message in result.stderr
    assert "-m crswatch" not in result.stderr
    assert result.stdout == ""


def test_an_empty_database_says_to_run_check_first(env: dict) -> None:
    for command in (["stats"], ["whatif", "--score", "500"], ["pool"]):
        result = cli(*command, env=env)
        assert result.returncode == 2 and "no draws are stored yet: run `crswatch check` first" in result.stderr
    listing = cli("draws", env=env)
    assert listing.returncode == 0 and "run `crswatch check` first" in listing.stderr


def test_a_db_that_is_not_crswatch_is_an_error_for_every_command(env: dict, tmp_path: Path) -> None:
    other = tmp_path / "package.json"
    other.write_text('{"name": "something", "version": "1.0.0"}\n')
    for command in (
        ["draws"],
        ["subscribers"],
        ["status"],
        ["deliveries"],
        ["subscribe", "--score", "500", "--notify", "json://127.0.0.1:9/x"],
    ):
        result = cli("--db", str(other), *command, env=env)
        assert result.returncode == 5 and "is not a crswatch database" in result.stderr, command
    assert other.read_text() == '{"name": "something", "version": "1.0.0"}\n'
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["config.toml", "package.json"]
    missing = cli("--db", str(tmp_path / "nowhere" / "x.json"), "subscribers", env=env)
    assert missing.returncode == 5 and "does not exist" in missing.stderr and not (tmp_path / "nowhere").exists()


def test_help_lists_whole_descriptions() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "crswatch", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "..." not in out.split("Commands:")[1]
