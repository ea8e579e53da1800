"""Which NOC 2021 occupation codes each Express Entry category covers: dated data files
(`categories/*.toml`, one self-contained version per file, in force from its `since` day), and an
operator's overrides of single lists (`[occupations]` in the configuration).

IRCC changes the lists once or twice a year without notice, and not every list could be confirmed
(a file marks those `confirmed = false`, with a note): a code is matched against the version in force
on a day, and every answer names that version and the lists it could not vouch for, never a guess."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from importlib import resources

NOC = re.compile(r"[0-9]{5}")  # a NOC 2021 unit group: five ASCII digits (TEER is the second)


class OccupationsError(ValueError):
    """A NOC code that is not one, or a data file / override that is not usable."""


@dataclass(frozen=True)
class Category:
    code: str  # the stream code (draws/streams.py), or one an operator named
    label: str
    codes: frozenset[str]
    confirmed: bool = True
    note: str = ""
    origin: str = "built-in"  # or "configuration" for an operator's override


@dataclass(frozen=True)
class Version:
    since: date
    title: str
    categories: Mapping[str, Category] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """What one NOC code qualifies for under one version of the lists."""

    noc: str
    version: Version
    streams: tuple[str, ...]  # the categories whose list holds the code, in the file's order
    unconfirmed: tuple[str, ...]  # categories whose list could not be confirmed (the code may be in them)


def check_code(text: str) -> str:
    """A NOC 2021 code as typed ("31102", " 31102 ", a phone's fullwidth digits); OccupationsError for anything else."""
    code = unicodedata.normalize("NFKC", text).strip()
    if not NOC.fullmatch(code):
        raise OccupationsError(f"NOC code {text.strip()[:20]!r} is not a NOC 2021 code: give its 5 digits (like 31102)")
    return code


def _codes(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise OccupationsError(f"{where} must be a list of 5-digit NOC codes in quotes")
    wrong = [c for c in value if not NOC.fullmatch(c)]
    if wrong:
        raise OccupationsError(f"{where}: {wrong[0]!r} is not a 5-digit NOC 2021 code")
    return frozenset(value)


def parse(text: str, origin: str) -> Version:
    """One version file, checked whole (a typo is an error naming the file and the key)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OccupationsError(f"occupations file {origin} is not valid TOML: {exc}") from None
    since = data.pop("since", None)
    title = data.pop("title", "")
    if not isinstance(since, date):
        raise OccupationsError(f"occupations file {origin}: since must be a date (since = 2026-02-18), not {since!r}")
    categories = {}
    for code, table in data.items():
        where = f"occupations file {origin}: [{code}]"
        if (
            not isinstance(table, dict)
            or not isinstance(table.get("label"), str)
            or not isinstance(table.get("confirmed", True), bool)
        ):
            raise OccupationsError(
                f"{where} needs label (text), codes (a list) and optionally confirmed (true/false), sources, note"
            )
        unknown = set(table) - {"label", "codes", "confirmed", "sources", "note"}
        if unknown:
            raise OccupationsError(f"{where} unknown key {sorted(unknown)[0]!r}")
        categories[code] = Category(code, table["label"], _codes(table.get("codes"), f"{where} codes"),
                                    table.get("confirmed", True), str(table.get("note", "")))  # fmt: skip
    return Version(since, str(title), categories)


@cache
def builtin() -> tuple[Version, ...]:
    """The shipped versions, oldest first."""
    folder = resources.files(__package__).joinpath("categories")
    found = [
        parse(f.read_text(encoding="utf-8"), f"built-in {f.name}") for f in folder.iterdir() if f.name.endswith(".toml")
    ]
    return tuple(sorted(found, key=lambda v: v.since))


def overrides(table: object, where: str = "[occupations]") -> dict[str, frozenset[str]]:
    """An operator's `[occupations]`: stream code → its whole list of NOC codes (replacing the shipped
    one in every version, or adding a category the files lack).  OccupationsError names the entry."""
    if not isinstance(table, dict):
        raise OccupationsError(f'{where} must be a table of stream = ["NOC code", ...]')
    return {str(code): _codes(codes, f"{where} {code}") for code, codes in table.items()}


def version_on(day: date, extra: Mapping[str, Iterable[str]] = {}, labels: Mapping[str, str] = {}) -> Version:  # noqa: B006
    """The lists in force on `day`, with the operator's lists in place of the shipped ones."""
    usable = [v for v in builtin() if v.since <= day]
    if not usable:
        raise OccupationsError(
            f"no occupation lists for {day}: the oldest crswatch knows are in force from {builtin()[0].since}"
        )
    version = usable[-1]
    if not extra:
        return version
    categories = dict(version.categories)
    for code, codes in extra.items():
        known = categories.get(code)
        label = known.label if known else labels.get(code, code)
        categories[code] = Category(
            code, label, frozenset(codes), True, "the operator's list ([occupations])", "configuration"
        )
    return replace(version, categories=categories)


def match(noc: str, day: date, extra: Mapping[str, Iterable[str]] = {}, labels: Mapping[str, str] = {}) -> Match:  # noqa: B006
    """The categories a NOC code qualifies for on `day` (raises OccupationsError for a malformed code)."""
    code = check_code(noc)
    version = version_on(day, extra, labels)
    streams = tuple(c.code for c in version.categories.values() if code in c.codes)
    unconfirmed = tuple(c.code for c in version.categories.values() if not c.confirmed and c.code not in streams)
    return Match(code, version, streams, unconfirmed)
