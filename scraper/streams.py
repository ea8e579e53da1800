"""Map IRCC's draw names to stable stream codes.

IRCC renames and re-versions categories without notice ("Healthcare occupations (Version 1)",
later "Healthcare and social services occupations (Version 2)"; earlier "(2023-1)").  A name maps
to a stream only when it is that same category under a known wording: the version suffix is
dropped and the rest must match an alias *exactly*.  There is deliberately no keyword matching:
"Trade occupations" is the `trades` category, not the `fst` program, and a wrong stream would
tell thousands of people they were invited.  Anything unknown becomes `other`, with a warning.
"""

from __future__ import annotations

import re

STREAMS: dict[str, str] = {
    "general": "All-program draws (No Program Specified / General), open to every candidate",
    "cec": "Canadian Experience Class",
    "fsw": "Federal Skilled Worker Program",
    "fst": "Federal Skilled Trades Program",
    "pnp": "Provincial Nominee Program",
    "french": "French-language proficiency category",
    "healthcare": "Healthcare (and social services) occupations category",
    "stem": "STEM occupations category",
    "trades": "Trade occupations category",
    "transport": "Transport occupations category",
    "agriculture": "Agriculture and agri-food occupations category",
    "education": "Education occupations category",
    "other": "A draw name crswatch does not know yet",
}

#: Streams a subscriber may choose (general draws are open to everyone).
SUBSCRIBABLE = tuple(code for code in STREAMS if code != "general")

_ALIASES: dict[str, tuple[str, ...]] = {
    "general": ("no program specified", "general", "all programs"),
    "cec": ("canadian experience class",),
    "fsw": ("federal skilled worker", "federal skilled worker program"),
    "fst": ("federal skilled trades", "federal skilled trades program"),
    "pnp": ("provincial nominee program",),
    "french": ("french language proficiency", "french-language proficiency"),
    "healthcare": ("healthcare occupations", "healthcare and social services occupations"),
    "stem": (
        "stem occupations",
        "science, technology, engineering and math (stem) occupations",
        "science, technology, engineering and mathematics (stem) occupations",
    ),
    "trades": ("trade occupations", "trades occupations"),
    "transport": ("transport occupations",),
    "agriculture": ("agriculture and agri-food occupations",),
    "education": ("education occupations",),
}
_BY_NAME = {alias: code for code, aliases in _ALIASES.items() for alias in aliases}

# "(Version 2)", "(2023-1)", "(2)" at the end of a name: a re-versioned category.
_VERSION = re.compile(r"\s*\((?:version\s*\d+|\d{4}-\d+|\d+)\)\s*$", re.IGNORECASE)


def normalize_name(name: str) -> str:
    """The category name without its version suffix, lower case, single-spaced."""
    name = " ".join(name.replace("\u2011", "-").replace("\u2013", "-").split())
    return _VERSION.sub("", name).strip().lower()


def stream_of(name: str) -> str | None:
    """The stream code for an IRCC draw name, or None when the name is not known."""
    return _BY_NAME.get(normalize_name(name))
