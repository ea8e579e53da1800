"""The README's history examples, run exactly as printed on the 2026-01-21 snapshot: their output
cannot drift from what crswatch prints.  A line "…" or "    ..." in the README stands for lines
left out; everything else must match line for line."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from helpers import DOCS_TEXT, cli, snapshot

README = DOCS_TEXT  # the README and the guides in docs/
READ_ONLY = {"streams", "draws", "stats", "whatif", "pool", "chart", "forecast", "backtest"}


def _examples() -> list[tuple[list[str], list[str]]]:
    found = []
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        command, expected = None, []
        for line in [*block.splitlines(), "$ end"]:
            if line.startswith("$ "):
                if (
                    command
                    and shlex.split(command)[1] in READ_ONLY
                    and "-o" not in shlex.split(command)
                    and ">" not in command
                    and any(line.strip() for line in expected)
                ):  # a command shown without its output is not compared
                    found.append((shlex.split(command)[1:], expected))
                command, expected = line[2:].split("  #")[0], []  # a comment after the command is prose
            else:
                expected.append(line)
    return found


EXAMPLES = _examples()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("readme")
    env = {
        "CRSWATCH_DB": str(folder / "crswatch.json"),
        "CRSWATCH_CONFIG": str(folder / "none.toml"),
        "HOME": str(folder),
    }
    (folder / "none.toml").write_text("")
    cli("check", "--source", snapshot("2026-01-21").as_uri(), env=env, check=True)
    return folder


def test_there_are_examples() -> None:
    assert {args[0] for args, _ in EXAMPLES} >= {
        "streams",
        "draws",
        "stats",
        "whatif",
        "pool",
        "chart",
        "forecast",
        "backtest",
    }


@pytest.mark.parametrize(("args", "expected"), EXAMPLES, ids=[" ".join(a)[:50] for a, _ in EXAMPLES])
def test_the_readme_output_is_what_crswatch_prints(
    args: list[str], expected: list[str], history: Path, tmp_path: Path
) -> None:
    shutil.copy(history / "crswatch.json", tmp_path / "crswatch.json")
    (tmp_path / "none.toml").write_text("")
    env = {
        "CRSWATCH_DB": str(tmp_path / "crswatch.json"),
        "CRSWATCH_CONFIG": str(tmp_path / "none.toml"),
        "HOME": str(tmp_path),
    }
    result = cli(*args, env=env, check=True)
    actual = (result.stdout + result.stderr).rstrip("\n").splitlines()
    assert _matches(expected, actual), "\n".join(["expected:", *expected, "actual:", *actual])


STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")  # when this database saw a draw: differs per run


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Line for line, where an expected "…"/"..." line stands for any number of actual lines."""
    expected = [STAMP.sub("<stamp>", line.rstrip()) for line in expected]
    actual = [STAMP.sub("<stamp>", line.rstrip()) for line in actual]
    return _match(
        [*expected, "…"] if actual[len(expected) : len(expected) + 1] == [""] else expected, actual
    )  # the README may stop before a footnote


def _match(expected: list[str], actual: list[str]) -> bool:
    while expected and not expected[-1]:
        expected.pop()
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() in ("…", "..."):
        return any(_match(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == head and _match(rest, actual[1:])
