"""`crswatch crs` through the real command: the README's example as printed, the JSON shape, the
profile from standard input, an operator's grid version, and every kind of bad input (one line
each, exit 2, no traceback)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import DOCS_TEXT, ROOT, cli

SECTION = DOCS_TEXT.split("### `crs`: your own score", 1)[1].split("\n### ", 1)[0]
FACTORS = ["age", "education", "first_language", "second_language", "canadian_experience", "spouse_education", "spouse_language",
           "spouse_canadian_experience", "edu_language", "edu_canadian", "education_transferability", "foreign_language",
           "foreign_canadian", "foreign_transferability", "certificate", "provincial_nomination", "job_offer", "canadian_education",
           "french", "sibling"]  # fmt: skip


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    """The README's profile file, as printed."""
    path = tmp_path / "priya.toml"
    path.write_text(re.search(r"```toml\n(.*?)```", SECTION, re.S).group(1))  # type: ignore[union-attr]
    return path


def test_the_readme_example_is_what_crswatch_prints(env: dict[str, str], profile: Path) -> None:
    block = re.search(r"```console\n\$ (crswatch crs [^\n]*)\n(.*?)```", SECTION, re.S)
    assert block
    args = block.group(1).split()[1:]
    args[args.index("priya.toml")] = str(profile)
    result = cli(*args, env=env, check=True)
    assert result.stdout.rstrip("\n").splitlines() == block.group(2).rstrip("\n").splitlines()
    assert "494" in SECTION and cli("crs", "--profile", str(profile), "--on", "2027-04-14", env=env).stdout.startswith(
        "CRS on 2027-04-14: 494\n"
    )


def test_json_has_the_issues_shape(env: dict[str, str], profile: Path) -> None:
    out = json.loads(
        cli("crs", "--profile", str(profile), "--on", "2026-12-03", "--format", "json", env=env, check=True).stdout
    )
    assert list(out) == ["total", "sections", "factors", "rules", "notes"]
    assert list(out["sections"]) == ["A", "B", "C", "D"] and list(out["factors"]) == FACTORS
    assert out["total"] == 499 == sum(out["sections"].values())
    assert out["rules"]["since"] == "2025-03-25" and out["rules"]["on"] == "2026-12-03"
    assert any("2026-11-03" in note for note in out["notes"])
    before = json.loads(
        cli("crs", "--profile", str(profile), "--on", "2026-11-02", "--format", "json", env=env, check=True).stdout
    )
    assert before["notes"] == []


def test_the_day_defaults_to_today_in_ottawa(env: dict[str, str], profile: Path) -> None:
    ottawa = ZoneInfo("America/Toronto")
    first = datetime.now(ottawa).date().isoformat()
    out = json.loads(cli("crs", "--profile", str(profile), "--format", "json", env=env, check=True).stdout)
    assert out["rules"]["on"] in {first, datetime.now(ottawa).date().isoformat()}  # midnight may pass between the two


def test_a_json_profile_from_standard_input(env: dict[str, str]) -> None:
    data = {
        "date_of_birth": "1990-05-01",
        "education": "doctoral",
        "spouse": {"canadian_citizen_or_pr": True},
        "first_language": {"test": "clb", "reading": 9, "writing": 9, "listening": 9, "speaking": 9},
    }
    result = subprocess.run([sys.executable, "-m", "crswatch", "crs", "--profile", "-", "--on", "2020-01-15", "--format", "json"],
                            input=json.dumps(data), env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    # 29 on 2020-01-15, scored as single (the spouse is a citizen): 110 + 150 + 4 × 31 = 384; C: 50 (doctorate + CLB 9)
    assert out["sections"] == {"A": 384, "B": 0, "C": 50, "D": 0} and out["rules"]["since"] == "2017-06-06"
    assert any("scored as no spouse" in n for n in out["notes"])


@pytest.mark.parametrize(("text", "errors"), [
    ('date_of_birth = 1990-01-01\neducaton = "doctoral"\n', ["unknown profile key 'educaton'"]),
    ('date_of_birth = 1990-01-01\neducation = "phd"\n[spouse]\neducation = "x"\n', ["unknown education 'phd'", "unknown spouse.education 'x'"]),
    ('education = "doctoral"\n', ["date_of_birth is required"]),
    ("date_of_birth = 1990-01-01\n[first_language]\ntest = 'ielts'\ntest_date = 2026-01-01\nreading = 9.5\nwriting = 7\nlistening = 7\nspeaking = 7\n",
     ["first_language.reading 9.5 must be a ielts score from 0 to 9"]),
    ("date_of_birth = [", ["is not valid TOML"]),
])  # fmt: skip
def test_bad_profiles_name_what_is_wrong(env: dict[str, str], tmp_path: Path, text: str, errors: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = cli("crs", "--profile", str(path), "--on", "2026-12-03", env=env)
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert all(line.startswith("crswatch: error: ") for line in lines) and len(lines) == len(errors)
    for line, error in zip(lines, errors, strict=True):
        assert error in line


def test_a_day_before_the_oldest_grid_and_a_missing_file(env: dict[str, str], profile: Path, tmp_path: Path) -> None:
    result = cli("crs", "--profile", str(profile), "--on", "2016-11-18", env=env)
    assert (
        result.returncode == 2
        and result.stderr
        == "crswatch: error: no CRS rules for 2016-11-18: the oldest grid crswatch knows is in force from 2016-11-19\n"
    )
    result = cli("crs", "--profile", str(tmp_path / "nope.toml"), env=env)
    assert result.returncode == 2 and result.stderr.startswith("crswatch: error: ") and "nope.toml" in result.stderr
    result = cli("crs", "--profile", str(profile), "--on", "2026-13-01", env=env)
    assert result.returncode == 2 and "is not a date" in result.stderr


def test_an_operators_grid_version_through_the_configuration(
    env: dict[str, str], profile: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "crs-rules"
    folder.mkdir()
    newest = (ROOT / "draws" / "crs" / "rules" / "2025-03-25.toml").read_text()
    (folder / "2026-11-03.toml").write_text(newest.replace("since = 2025-03-25", "since = 2026-11-03")
                                            .replace('title = "job offer points removed"', 'title = "an operator\'s test version"'))  # fmt: skip
    config = Path(env["CRSWATCH_CONFIG"])
    config.write_text(config.read_text() + '\n[crs]\nrules = "crs-rules"\n')  # relative to the configuration file
    out = cli("crs", "--profile", str(profile), "--on", "2026-12-03", env=env, check=True).stdout
    assert (
        f"rules: the grid in force since 2026-11-03 (an operator's test version, from {folder / '2026-11-03.toml'})"
        in out
    )
    assert "note:" not in out  # the reported change is now a known version
    (folder / "2026-11-03.toml").write_text("since = 2026-11-03\n")
    result = cli("crs", "--profile", str(profile), "--on", "2026-12-03", env=env)
    assert result.returncode == 2 and "2026-11-03.toml: core.age is missing" in result.stderr
    config.write_text(config.read_text().replace('rules = "crs-rules"', 'rules = "nowhere"'))
    result = cli("crs", "--profile", str(profile), "--on", "2026-12-03", env=env)
    assert result.returncode == 2 and "CRS rules folder" in result.stderr and "does not exist" in result.stderr


def test_help_has_an_example(env: dict[str, str]) -> None:
    out = cli("crs", "--help", env=env, check=True).stdout
    assert "crswatch crs --profile me.toml" in out and "--on DATE" in out
