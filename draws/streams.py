"""Map IRCC's draw names to stable stream codes.

IRCC renames and re-versions categories without notice: "Healthcare occupations (Version 1)",
"(2023-1)", later "Healthcare and social services occupations (Version 2)", and it will find new
ways.  So a name is reduced to its *key*: every version or year marker is removed wherever it
stands and however it is punctuated ("(Version 2)", "– 2025", "[2023-1]", "version-3", ", 2024"),
then case, punctuation (brackets, commas, hyphens, every kind of dash) and spacing are folded.
A name maps to a stream only when its key equals the key of a known alias *exactly*.  There is
deliberately no keyword matching: "Trade occupations" is the `trades` category, not the `fst`
program, and a wrong stream would tell thousands of people they were invited.  Anything unknown
becomes `other`; the operator hears of it and can map the name in the configuration
(`[streams]`), which `StreamMap.with_names` adds to the built-in table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

OTHER = "other"
GENERAL = "general"

#: Built-in stream codes and their labels.
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
    "physicians": "Physicians with Canadian work experience category",
    "managers": "Senior managers with Canadian work experience category",
    "military": "Skilled military recruits category",
    "other": "A draw name crswatch does not know yet",
}

#: The same labels in French, in IRCC's own terms (its French rounds page and category names).
STREAMS_FR: dict[str, str] = {
    "general": "Rondes pour tous les programmes (aucun programme spécifié), ouvertes à tous les candidats",
    "cec": "Catégorie de l'expérience canadienne",
    "fsw": "Programme des travailleurs qualifiés (fédéral)",
    "fst": "Programme des travailleurs de métiers spécialisés (fédéral)",
    "pnp": "Programme des candidats des provinces",
    "french": "Catégorie de la maîtrise de la langue française",
    "healthcare": "Catégorie des professions de la santé (et des services sociaux)",
    "stem": "Catégorie des professions en sciences, technologies, génie et mathématiques (STGM)",
    "trades": "Catégorie des métiers",
    "transport": "Catégorie des professions du transport",
    "agriculture": "Catégorie des professions de l'agriculture et de l'agroalimentaire",
    "education": "Catégorie des professions de l'éducation",
    "physicians": "Catégorie des médecins ayant une expérience de travail au Canada",
    "managers": "Catégorie des cadres supérieurs ayant une expérience de travail au Canada",
    "military": "Catégorie des recrues militaires qualifiées",
    "other": "Un nom de ronde que crswatch ne connaît pas encore",
}

#: Short names for subjects that must fit a phone's notification ("Invited: #392 CEC, cut-off 509").
SHORT: dict[str, str] = {
    "general": "all programs", "cec": "CEC", "fsw": "FSW", "fst": "FST", "pnp": "PNP", "french": "French",
    "healthcare": "Healthcare", "stem": "STEM", "trades": "Trades", "transport": "Transport",
    "agriculture": "Agriculture", "education": "Education", "physicians": "Physicians", "managers": "Senior managers",
    "military": "Military recruits",
}  # fmt: skip
SHORT_FR: dict[str, str] = {
    "general": "tous les programmes", "cec": "CEC", "fsw": "PTQF", "fst": "PTMSF", "pnp": "PCP", "french": "Français",
    "healthcare": "Santé", "stem": "STGM", "trades": "Métiers", "transport": "Transport",
    "agriculture": "Agriculture", "education": "Éducation", "physicians": "Médecins", "managers": "Cadres supérieurs",
    "military": "Recrues militaires",
}  # fmt: skip

#: Streams a subscriber may choose among the built-in ones (general draws are open to everyone).
SUBSCRIBABLE = tuple(code for code in STREAMS if code != GENERAL)

#: Known wordings of each stream, without version markers.
ALIASES: dict[str, tuple[str, ...]] = {
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
    # The categories IRCC added for 2026, in its English and French wordings (a French feed, or an
    # English one that borrows the French name, maps the same).
    "physicians": ("physicians with canadian work experience", "médecins ayant une expérience de travail au canada"),
    "managers": (
        "senior managers with canadian work experience",
        "cadres supérieurs ayant une expérience de travail au canada",
    ),
    "military": ("skilled military recruits", "recrues militaires qualifiées"),
}

#: A code an operator may give a new stream: lower case letters, digits, "-" and "_".
CODE = re.compile(r"[a-z][a-z0-9_-]{0,31}")

# Version and year markers, on the name after dashes were folded to "-" and case to lower:
# "version 2", "version-2", "ver. 2", "v2", a year with an optional round ("2023-1", "2025"),
# and a bare number in brackets ("(2)").
_MARKERS = re.compile(
    r"""\b(?:version|ver\.?|v)\s*[-.:#]?\s*\d+(?:\.\d+)*\b   # version 2, ver. 3, v2, version-1.1
      | \b(?:19|20)\d{2}(?:\s*-\s*\d{1,2})?\b                 # 2025, 2023-1, 2024 - 2
      | [(\[{]\s*\d{1,2}\s*[)\]}]                             # (2), [3]
    """,
    re.VERBOSE,
)
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-")
_PUNCTUATION = re.compile(r"[^\w]+")


def name_key(name: str) -> str:
    """What is compared: the name without version or year markers, punctuation, case or spacing.

    >>> name_key("Healthcare and social services occupations – Version 2")
    'healthcare and social services occupations'
    """
    text = unicodedata.normalize("NFKC", name).translate(_DASHES).casefold()
    text = _MARKERS.sub(" ", text).replace("&", " and ")
    return " ".join(_PUNCTUATION.sub(" ", text).replace("_", " ").split())


@dataclass(frozen=True)
class StreamMap:
    """The stream codes with their labels, and the names (by key) that map to each."""

    labels: Mapping[str, str] = field(default_factory=lambda: dict(STREAMS))
    names: Mapping[str, str] = field(default_factory=lambda: _keys(ALIASES))
    taught: Mapping[str, str] = field(default_factory=dict)  # names the operator added: key → code

    def code_of(self, name: str) -> str | None:
        """The stream code for an IRCC draw name, or None when the name is not known."""
        key = name_key(name)
        return self.names.get(key) if key else None

    @property
    def subscribable(self) -> tuple[str, ...]:
        return tuple(code for code in self.labels if code != GENERAL)

    def with_names(self, mapping: Mapping[str, str], labels: Mapping[str, str] = {}) -> StreamMap:  # noqa: B006
        """This map plus the operator's names (name → code) and new codes (code → label).

        Raises ValueError naming the first entry that is not usable."""
        new_labels = dict(self.labels)
        for code, label in labels.items():
            if not CODE.fullmatch(code):
                raise ValueError(f"stream code {code!r} must be lower-case letters, digits, '-' or '_'")
            if code in (OTHER, GENERAL) or code in STREAMS and label != STREAMS[code]:
                raise ValueError(f"stream code {code!r} is built in; map names to it without a label")
            if not label.strip():
                raise ValueError(f"stream {code!r} needs a label")
            new_labels[code] = label.strip()
        names, taught = dict(self.names), dict(self.taught)
        for name, code in mapping.items():
            key = name_key(name)
            if not key:
                raise ValueError(f"stream name {name!r} is only a version or year marker")
            if code == OTHER or code not in new_labels:
                raise ValueError(
                    f"stream name {name!r} maps to unknown code {code!r}; give a label to make a new stream"
                )
            names[key] = taught[key] = code
        return StreamMap(new_labels, names, taught)


def _keys(aliases: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    return {name_key(alias): code for code, words in aliases.items() for alias in words}


BUILTIN = StreamMap()


def short_name(code: str, program: str, language: str = "en") -> str:
    """A stream's short name, or the program's name cut to fit (operator-added and unknown ones)."""
    short = (SHORT_FR if language == "fr" else SHORT).get(code)
    return short or (program if len(program) <= 28 else program[:27].rstrip() + "…")


def label(code: str, language: str = "en", labels: Mapping[str, str] = STREAMS) -> str | None:
    """A stream's label in this language; None for codes only the operator named (no French for those)."""
    if language == "fr":
        return STREAMS_FR.get(code)
    return labels.get(code)


def stream_of(name: str) -> str | None:
    """The built-in stream code for an IRCC draw name, or None when the name is not known."""
    return BUILTIN.code_of(name)
