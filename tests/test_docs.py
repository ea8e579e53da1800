"""Every command is documented (an example in the guides, a current page in the command reference)
and has an example in its --help."""

from __future__ import annotations

import importlib.util
import os

import click
import pytest
from click.testing import CliRunner
from helpers import DOCS_TEXT, ROOT

from crswatch.cli import main
from crswatch.errors import EXIT_CODES

README = DOCS_TEXT  # the README and the guides in docs/


def _reference() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("reference", ROOT / "scripts" / "reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pages()  # type: ignore[no-any-return]


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


@pytest.mark.skipif(
    bool(os.environ.get("CRSWATCH_LOWEST_VERSIONS")),
    reason="the reference shows the newest click's help (click 8.1 writes a group's usage line differently)",
)
def test_the_command_reference_is_current() -> None:
    """docs/reference/ is the commands' own help: regenerate it with `python scripts/reference.py`."""
    wanted = _reference()
    folder = ROOT / "docs" / "reference"
    have = {p.name for p in folder.glob("*.md")}
    assert have == set(wanted), f"pages missing or stale: {sorted(have ^ set(wanted))}; run scripts/reference.py"
    stale = [name for name, text in wanted.items() if (folder / name).read_text() != text]
    assert not stale, f"out of date: {stale}; run scripts/reference.py"


def test_every_command_has_a_reference_page() -> None:
    pages = _reference()
    for name, _ in COMMANDS:
        top = name.split()[0]
        assert f"{top}.md" in pages and f"crswatch {name}" in pages[f"{top}.md"], name


def test_the_site_lists_every_reference_page() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    for name in _reference():
        assert f"reference/{name}" in nav, f"mkdocs.yml's nav lacks reference/{name}"
