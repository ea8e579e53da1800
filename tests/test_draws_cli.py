"""`crswatch draws` and `draws show` on a database filled from the real snapshot."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from helpers import cli, snapshot

_FILLED: dict[str, Path] = {}


@pytest.fixture
def filled(env: dict, db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A database holding the 2026-01-21 snapshot (filled once per session, copied per test)."""
    if "db" not in _FILLED:
        master = tmp_path_factory.mktemp("filled") / "crswatch.json"
        cli("check", "--source", snapshot("2026-01-21").as_uri(), env={**env, "CRSWATCH_DB": str(master)}, check=True)
        _FILLED["db"] = master
    shutil.copy(_FILLED["db"], db_path)
    return env


def test_json_has_the_documented_keys_newest_first(filled: dict) -> None:
    rows = json.loads(cli("draws", "--format", "json", "--limit", "3", env=filled, check=True).stdout)
    assert [r["number"] for r in rows] == ["392", "391", "390"]
    assert {"number", "date", "drawn_at", "program", "stream", "invitations", "crs", "tie_break", "url"} <= rows[
        0
    ].keys()
    assert rows[0]["drawn_at"] == "2026-01-21T12:37:42Z" and rows[0]["invitations"] == 6000


def test_filters_and_csv(filled: dict) -> None:
    out = cli(
        "draws",
        "--stream",
        "cec",
        "--since",
        "2025-01-01",
        "--until",
        "2025-12-31",
        "--format",
        "csv",
        env=filled,
        check=True,
    ).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and all(r["stream"] == "cec" and r["date"].startswith("2025") for r in rows)


def test_table_output(filled: dict) -> None:
    out = cli("draws", "--limit", "2", env=filled, check=True).stdout.splitlines()
    assert out[0].split() == ["number", "date", "stream", "program", "invitations", "crs", "tie_break"]
    assert out[2].startswith("392") and "6,000" in out[2]


def test_show_has_everything_including_the_pool(filled: dict) -> None:
    out = cli("draws", "show", "392", env=filled, check=True).stdout
    assert "Canadian Experience Class" in out and "2025-10-29T04:35:24Z" in out
    assert "Pool distribution as of 2026-01-19" in out and "237,120" in out
    data = json.loads(cli("draws", "show", "#91a", "--format", "json", env=filled, check=True).stdout)
    assert data["number"] == "91a" and data["raw"]["drawNumber"] == "91a"


def test_show_unknown_number(filled: dict) -> None:
    result = cli("draws", "show", "9999", env=filled)
    assert result.returncode == 2 and "no draw numbered '9999'" in result.stderr


def test_bad_date_is_a_usage_error(filled: dict) -> None:
    result = cli("draws", "--since", "last tuesday", env=filled)
    assert result.returncode == 2 and "is not a date" in result.stderr
