"""`crswatch crs`: a profile's CRS score on a day, with IRCC's breakdown, by the grid in force that day."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import click

from crswatch.draws.record import ottawa_today

from .. import errors
from ..app import App
from .common import parse_day, profile_option

LABELS = {
    "age": "Age",
    "education": "Level of education",
    "first_language": "Official languages: first official language",
    "second_language": "Official languages: second official language",
    "canadian_experience": "Canadian work experience",
    "spouse_education": "Spouse: level of education",
    "spouse_language": "Spouse: first official language",
    "spouse_canadian_experience": "Spouse: Canadian work experience",
    "edu_language": "Education + official language proficiency",
    "edu_canadian": "Education + Canadian work experience",
    "education_transferability": "Education (at most 50)",
    "foreign_language": "Foreign work experience + official language proficiency",
    "foreign_canadian": "Foreign work experience + Canadian work experience",
    "foreign_transferability": "Foreign work experience (at most 50)",
    "certificate": "Certificate of qualification",
    "provincial_nomination": "Provincial nomination",
    "job_offer": "Job offer",
    "canadian_education": "Study in Canada",
    "french": "French-language skills",
    "sibling": "Brother or sister in Canada",
}
HEADINGS = {
    "A": "A. Core / human capital factors",
    "B": "B. Spouse or common-law partner factors",
    "C": "C. Skill transferability factors",
    "D": "D. Additional points",
}
PARTS = {
    "edu_language",
    "edu_canadian",
    "foreign_language",
    "foreign_canadian",
}  # shown indented under their capped sums


@click.command("crs")
@profile_option("The profile: a TOML or JSON file, or - for standard input (keys: see the README).", required=True)
@click.option(
    "--on", "on", callback=parse_day, metavar="DATE", help="Score on this day (YYYY-MM-DD) [default: today in Ottawa]."
)
@click.option(
    "--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True, help="Output format."
)
@click.pass_obj
def crs(app: App, profile_file: Any, on: date | None, fmt: str) -> None:
    """A profile's Comprehensive Ranking System score, with IRCC's breakdown.

    The score is computed on the grid version in force on the day (--on, default today in Ottawa),
    which the output names.  Age, language results (two years from the test), work periods and
    the profile's expiry are all taken on that day.  Exit 2 when the profile is invalid (each
    wrong key or value is named) or the day is before the oldest grid crswatch knows.

    \b
    Examples:
      crswatch crs --profile me.toml
      crswatch crs --profile me.toml --on 2027-04-14 --format json
      cat me.json | crswatch crs --profile -
    """
    from crswatch.draws.crs import ProfileError, RulesError, read, score

    day = on or ottawa_today()
    name = "standard input" if profile_file.name == "<stdin>" else profile_file.name
    try:
        text = profile_file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.UsageError(f"cannot read the profile {name}: {exc}") from None
    try:
        result = score(read(text, name), day, app.crs_rules)
    except ProfileError as exc:
        for problem in exc.problems:
            click.echo(f"crswatch: error: {problem}", err=True)
        sys.exit(errors.USAGE)
    except RulesError as exc:
        raise errors.UsageError(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(result.as_json(), indent=2))
        return
    click.echo(render(result))


def render(result: Any) -> str:
    """The breakdown as IRCC's own result page lays it out: each section, its factors, the total."""
    from crswatch.draws.crs import SECTIONS

    grid = result.grid
    origin = "" if grid.origin == "built-in" else f", from {grid.origin}"
    lines = [
        f"CRS on {result.on}: {result.total}",
        f"rules: the grid in force since {grid.since} ({grid.title}{origin})",
        "",
    ]
    width = max(len(label) for label in LABELS.values()) + 4
    for section, names in SECTIONS.items():
        lines.append(HEADINGS[section])
        for factor in names:
            indent = "    " if factor in PARTS else "  "
            lines.append(f"{indent}{LABELS[factor]:<{width - len(indent)}}{result.factors[factor]:>5}")
        lines.append(f"  {'Subtotal ' + section:<{width - 2}}{result.sections[section]:>5}")
        lines.append("")
    lines.append(f"{'Comprehensive Ranking System total':<{width}}{result.total:>5}")
    if result.notes:
        lines.append("")
        lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


COMMANDS = (crs,)
