"""One `--format table|json|csv` for every listing command, streaming row by row."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import IO, Any

import click

from crswatch.draws.text import printable

FORMATS = ("table", "json", "csv")

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)

_WIDTH_SAMPLE = 500  # table column widths come from the first rows; the rest stream through


def emit(rows: Iterable[dict[str, Any]], columns: Sequence[str], fmt: str, out: IO[str] | None = None) -> int:
    """Write rows in the chosen format without building one big string; returns the row count."""
    out = out or sys.stdout
    if fmt == "json":
        return _json(rows, out)
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        count = 0
        for count, row in enumerate(rows, 1):  # noqa: B007
            writer.writerow([_cell(row.get(c), csv_mode=True) for c in columns])
        return count
    return _table(rows, columns, out)


def _json(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    out.write("[")
    for count, row in enumerate(rows, 1):
        out.write(",\n  " if count > 1 else "\n  ")
        out.write(json.dumps(row, ensure_ascii=False, default=str))
    out.write("\n]\n" if count else "]\n")
    return count


def _table(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: IO[str]) -> int:
    iterator: Iterator[dict[str, Any]] = iter(rows)
    head = list(islice(iterator, _WIDTH_SAMPLE))
    widths = [max([len(c)] + [len(_cell(r.get(c))) for r in head]) for c in columns]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()
    out.write(line + "\n" + "  ".join("-" * w for w in widths) + "\n")
    count = 0
    for count, row in enumerate(chain(head, iterator), 1):  # noqa: B007
        cells = [_cell(row.get(c)) for c in columns]
        out.write("  ".join(v.ljust(w) for v, w in zip(cells, widths, strict=True)).rstrip() + "\n")
    return count


def _cell(value: Any, csv_mode: bool = False) -> str:
    """A value as one cell; text from the feed (or anyone) loses its control characters, so no
    escape sequence reaches a terminal or a spreadsheet."""
    if value is None:
        return "" if csv_mode else "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return printable(" ".join(str(v) for v in value))
    if isinstance(value, int) and not csv_mode:
        return f"{value:,}"
    return printable(value)
