"""The README's and `--help`'s subscriber examples are accepted exactly as printed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import DOCS_TEXT, ROOT, cli

from crswatch.cli import main

README = DOCS_TEXT  # the README and the guides in docs/
HELP = CliRunner().invoke(main, ["subscribe", "--help"]).output


def _commands(text: str) -> list[list[str]]:
    """Every `crswatch subscribe …` command in a text, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip().removeprefix("$ ")
        if line.startswith("crswatch subscribe ") and "nope://" not in line and "…" not in line:
            found.append(shlex.split(line.split(" #")[0])[1:])
    return found


EXAMPLES = _commands(README) + _commands(HELP)


def test_there_are_examples() -> None:
    assert (
        len(EXAMPLES) >= 8
        and any("twilio://" in " ".join(e) for e in EXAMPLES)
        and any("tgram://" in " ".join(e) for e in EXAMPLES)
    )


@pytest.mark.parametrize("args", EXAMPLES, ids=[" ".join(a)[:60] for a in EXAMPLES])
def test_each_subscribe_example_is_accepted_as_printed(args: list[str], env: dict) -> None:
    result = cli(*args, env=env)
    assert result.returncode == 0, result.stderr


def test_the_import_example_is_accepted_as_printed(env: dict, tmp_path: Path) -> None:
    block = README.split("crswatch import subscribers.csv", 1)[1].split("```csv\n", 1)[1].split("```", 1)[0]
    (tmp_path / "subscribers.csv").write_text(block)
    result = cli("import", str(tmp_path / "subscribers.csv"), env=env)
    assert result.returncode == 0, result.stderr


def test_a_refused_url_names_the_part_that_is_wrong(env: dict) -> None:
    result = cli(
        "subscribe", "--score", "500", "--notify", "twilio://ACCOUNT_SID:AUTH_TOKEN@15551234567/15557654321", env=env
    )
    assert result.returncode == 2 and "account_sid" in result.stderr and "^AC[a-f0-9]+$" in result.stderr
    assert "AUTH_TOKEN" not in result.stderr


def test_the_readme_tour_runs_as_printed(env: dict) -> None:
    """The README's five-command tour, in its order, on a real snapshot: every command succeeds."""
    from helpers import SNAPSHOTS

    tour = (
        (ROOT / "README.md").read_text().split("## A five-command tour", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    )
    lines = [line.split("  #")[0].strip() for line in tour.splitlines() if line.strip()]
    assert len(lines) == 5 and all(line.startswith("crswatch ") for line in lines)
    env = {**env, "CRSWATCH_SOURCE": SNAPSHOTS[-1].as_uri()}
    for line in lines:
        result = cli(*shlex.split(line)[1:], env=env)
        assert result.returncode == 0, (line, result.stderr)
        assert result.stdout.strip(), line
