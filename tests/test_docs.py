"""Every command is documented in the README and has an example in its --help."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crswatch.cli import main
from crswatch.errors import EXIT_CODES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        if command.hidden:
            continue
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found += _commands(command, prefix + name + " ")
    return found


COMMANDS = _commands(main)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_is_in_the_readme_with_an_example(name: str, command: click.Command) -> None:
    assert f"crswatch {name}" in README, f"README lacks an example of `crswatch {name}`"
    assert f"`{name.split()[-1]}`" in README or f"`{name}`" in README
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and f"crswatch {name.split()[0]}" in result.output


def test_every_exit_code_is_documented() -> None:
    for code in EXIT_CODES:
        assert f"| {code} |" in README
