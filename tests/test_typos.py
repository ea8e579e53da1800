"""A typo loses nothing: a store in a missing folder, a new store beside a draws file with history,
read-only commands that must not create, and the smaller edges (real files, real CLI processes,
a real PostgreSQL server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, cli, outbox, snapshot
from pg import PostgresServer

MAIL = "mailto://127.0.0.1:2525?from=crswatch@example.com&to=priya@example.com"


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_store_in_a_missing_folder_is_refused_like_the_db(env: dict, tmp_path: Path) -> None:
    before = _tree(tmp_path)
    for command in (
        ["subscribe", "--score", "500", "--notify", MAIL],
        ["check", "--source", snapshot("2026-01-20").as_uri()],
        ["status"],
    ):
        result = cli("--store", f"sqlite:///{tmp_path}/crswach/crswatch.sqlite", *command, env=env)
        assert result.returncode == 5, result.stderr
        assert (
            result.stderr
            == f"crswatch: error: the folder of the store {tmp_path}/crswach/crswatch.sqlite does not exist (create it, or correct --store)\n"
        )
    assert _tree(tmp_path) == before


def test_a_draws_history_never_meets_a_new_empty_store_silently(env: dict, tmp_path: Path, db_path: Path) -> None:
    cli("check", "--source", snapshot("2026-01-20").as_uri(), env=env, check=True)
    cli("subscribe", "--score", "510", "--stream", "cec", "--notify", MAIL, env=env, check=True)
    typo = tmp_path / "crswach.sqlite"
    draws = db_path.read_bytes()
    for command in (
        ["check", "--source", snapshot("2026-01-21").as_uri()],
        ["subscribe", "--score", "500", "--notify", MAIL],
    ):
        result = cli("--store", f"sqlite:///{typo}", *command, env=env)
        assert result.returncode == 5 and result.stderr.count("\n") == 1
        assert (
            f"the draws file {db_path} already holds 392 draws, but the store sqlite:///{typo} is new and empty"
            in result.stderr
        )
        assert "crswatch --new-store" in result.stderr
        assert not typo.exists() and db_path.read_bytes() == draws  # nothing made, nothing stored
    # back on the right store, #392 is new and its subscriber hears of it
    result = cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env)
    assert "1 new" in result.stdout and [d["draw"] for d in outbox(env)] == ["392"]
    # an operator who means it: the history is taken in as announced, nobody is alerted about it
    adopted = cli(
        "--new-store",
        "--store",
        f"sqlite:///{typo}",
        "check",
        "--source",
        snapshot("2026-01-21").as_uri(),
        env=env,
        check=True,
    )
    assert "feed unchanged" in adopted.stdout or "0 new" in adopted.stdout
    assert (
        cli("--store", f"sqlite:///{typo}", "deliveries", "--format", "json", env=env, check=True).stdout.strip()
        == "[]"
    )


def test_an_empty_postgresql_store_is_refused_beside_a_history(env: dict, postgres_server: PostgresServer) -> None:
    cli("check", "--source", snapshot("2026-01-20").as_uri(), env=env, check=True)
    url = postgres_server.new_database()
    result = cli("--store", url, "check", "--source", snapshot("2026-01-21").as_uri(), env=env)
    assert result.returncode == 5 and "is new and empty" in result.stderr and "crswatch-test-pw" not in result.stderr
    assert (
        cli("--store", url, "--new-store", "status", env=env).returncode == 7
    )  # nothing announced, no check ran on it yet
    assert (
        cli("--store", url, "--new-store", "check", "--source", snapshot("2026-01-21").as_uri(), env=env).returncode
        == 0
    )


def test_read_only_commands_create_no_file_or_folder(
    env: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home_env = {k: v for k, v in env.items() if k != "CRSWATCH_DB"}  # the default place, under $HOME
    monkeypatch.delenv("CRSWATCH_DB")
    before = _tree(tmp_path)
    status = cli("status", env=home_env)
    assert status.returncode == 7 and "no check has run yet" in status.stdout and "(not created yet)" in status.stdout
    for command in (
        ["subscribers"],
        ["deliveries"],
        ["draws"],
        ["stats"],
        ["streams"],
        ["config"],
        ["status", "--format", "json"],
    ):
        result = cli(*command, env=home_env)
        assert result.returncode in (0, 2, 7) and "Traceback" not in result.stderr, (
            command,
            result.stderr,
        )  # 2: no draws yet
    named = {**env, "CRSWATCH_DB": str(tmp_path / "elsewhere" / "crswatch.json")}
    assert cli("status", env=named).returncode == 5  # a --db in a missing folder: refused, not made
    assert _tree(tmp_path) == before


def test_postgres_urls_are_postgresql(env: dict, postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database().replace("postgresql+psycopg://", "postgres://")
    result = cli("--store", url, "status", env=env)
    assert result.returncode == 7 and "store:         postgresql+psycopg://postgres:***@127.0.0.1" in result.stdout
    assert cli("--store", "postgres+pg8000://u:p@h/db", "status", env=env).returncode == 2


@pytest.fixture
def read_only(tmp_path: Path) -> list[str]:
    """A prefix that runs a command with the draws folder mounted read-only (a real read-only
    file system: root ignores file modes)."""
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("needs unshare -m (a mount namespace) to mount a folder read-only")
    return ["unshare", "-m", "sh", "-c", f'mount --bind -o ro "{tmp_path}" "{tmp_path}" && exec "$@"', "sh"]


def test_a_read_only_draws_folder_is_exit_5(env: dict, db_path: Path, read_only: list[str]) -> None:
    cli("check", "--source", snapshot("2026-01-20").as_uri(), env=env, check=True)
    before = db_path.read_bytes()
    for command in (
        ["check", "--source", snapshot("2026-01-21").as_uri()],
        ["subscribe", "--score", "500", "--notify", MAIL],
    ):
        result = subprocess.run(
            [*read_only, sys.executable, "-m", "crswatch", *command],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 5, result.stderr
        assert (
            result.stderr.startswith("crswatch: error: cannot ")
            and result.stderr.count("\n") == 1
            and "internal error" not in result.stderr
        )
    assert db_path.read_bytes() == before


def test_status_into_a_closed_pipe_still_exits_unhealthy(env: dict) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head -1` that has already gone
    try:
        result = subprocess.run(
            [sys.executable, "-m", "crswatch", "status"],
            env=env,
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 7 and result.stderr == ""
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        healthy = subprocess.run(
            [sys.executable, "-m", "crswatch", "status"],
            env=env,
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert healthy.returncode == 0 and healthy.stderr == ""


def test_a_bad_stream_gets_one_hint(env: dict) -> None:
    for command in ("forecast", "stats", "draws"):
        result = cli(command, "--stream", "bogus", env=env)
        assert (
            result.returncode == 2 and result.stderr.count("(see: ") == 1 and "(see: crswatch streams)" in result.stderr
        )


def test_csv_rows_with_extra_cells_are_refused_with_their_line(env: dict, tmp_path: Path) -> None:
    rows = tmp_path / "list.csv"
    rows.write_text("name,score,within,streams,profile_created,channels\n"
                    "Ann,501,,,,mailto://127.0.0.1:2525?from=a@example.com&to=ann@example.com\n"
                    "Ben,512,,,,mailto://127.0.0.1:2525?from=a@example.com&to=ben@example.com,carl@example.com\n")  # fmt: skip
    result = cli("import", str(rows), env=env)
    assert result.returncode == 2
    assert result.stderr == ("crswatch: error: line 3: 1 more cell than the header's 6 columns (a comma inside a cell, as in to=a,b? "
                             "put that cell in double quotes)\n")  # fmt: skip
    assert json.loads(cli("subscribers", "--format", "json", env=env, check=True).stdout) == []
    rows.write_text(rows.read_text().replace("mailto://127.0.0.1:2525?from=a@example.com&to=ben@example.com,carl@example.com",
                                             '"mailto://127.0.0.1:2525?from=a@example.com&to=ben@example.com,carl@example.com"'))  # fmt: skip
    assert "imported 2 row(s)" in cli("import", str(rows), env=env, check=True).stdout


def test_a_second_hosts_first_check_says_nobody_was_alerted_again(env: dict, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    first = cli("--store", store, "check", "--source", snapshot("2026-01-20").as_uri(), env=env, check=True)
    assert "first check: history stored, nobody alerted" in first.stdout
    cli("--store", store, "subscribe", "--score", "510", "--stream", "cec", "--notify", MAIL, env=env, check=True)
    second = cli(
        "--store",
        store,
        "--db",
        str(tmp_path / "host-b.json"),
        "check",
        "--source",
        snapshot("2026-01-21").as_uri(),
        env=env,
        check=True,
    )
    lines = second.stdout.splitlines()
    assert lines[0].startswith("new draw #392 ") and lines[1].startswith("check: ")  # only the draw nobody had heard of
    assert ("check: 393 new, 0 changed, 0 unchanged (first check on this host: 392 of them already announced by another host "
            "sharing the store, nobody alerted again)") in second.stdout  # fmt: skip
    assert [d["draw"] for d in outbox({**env, "CRSWATCH_STORE": store})] == ["392"]
