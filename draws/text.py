"""Feed text made safe to compare, to show and to quote.

The feed is edited by hand and served through CDNs: a draw number can come back as "0392",
"392\u200b" or fullwidth "３９２", and any field can carry a terminal escape sequence or
megabytes of text.  These helpers are pure and have no dependencies.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

#: A feed value quoted in a warning or an error is cut to this many characters (the longest real
#: field is about 1 KB; a warning needs only enough to recognise the value).
QUOTE_LIMIT = 200

# ESC-introduced sequences (CSI, OSC, DCS and other string commands, two-character escapes) and
# their 8-bit C1 forms: removed whole, so no parameter bytes are left behind to read as text.
_ESCAPES = re.compile(
    r"""\x1b\[[0-?]*[ -/]*[@-~]?            # CSI
      | \x9b[0-?]*[ -/]*[@-~]?              # 8-bit CSI
      | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?  # OSC, DCS, SOS, PM, APC
      | \x1b[ -~]?                          # any other escape
    """,
    re.VERBOSE,
)
#: Bidirectional overrides and isolates: they can make a terminal show text in another order.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def normal_number(text: str) -> str:
    """A draw number as it is compared and stored: "0392", " 392\u200b", "#392", "３９２" → "392";
    "91A" → "91a".

    NFKC folds compatibility forms (fullwidth digits and letters); format characters (category
    Cf: zero-width spaces and joiners, BOM, bidi marks), controls and every kind of space are
    dropped; digits of any script become ASCII; case is folded; a leading "#" and leading zeros
    go ("0" stays "0")."""
    folded = unicodedata.normalize("NFKC", text)
    kept = []
    for char in folded:
        if char.isspace() or unicodedata.category(char) in ("Cf", "Cc", "Zs", "Zl", "Zp"):
            continue
        digit = unicodedata.decimal(char, None)
        kept.append(str(digit) if digit is not None else char)
    # composed again: a removed space may have stood between a letter and its combining mark
    number = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", "".join(kept)).casefold()).lstrip("#")
    stripped = number.lstrip("0")
    if stripped != number and (not stripped or not stripped[0].isdigit()):
        stripped = "0" + stripped  # "0" and "0a" keep the zero that is all their number has
    return stripped


def printable(value: Any, lines: bool = False) -> str:
    """Text fit for a terminal or a CSV cell: escape sequences removed whole, other C0/C1 control
    characters and bidi overrides dropped, tabs and line breaks turned into spaces (with `lines`,
    "\n" is kept: a log message of several lines)."""
    text = _ESCAPES.sub("", str(value))
    if text.isprintable():
        return text
    return "".join(
        char if lines and char == "\n"
        else " " if char in "\t\n\r\v\f\x85\u2028\u2029"
        else "" if unicodedata.category(char) == "Cc" or char in _BIDI
        else char
        for char in text
    )  # fmt: skip


def shown(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """A feed value quoted in a message: its repr, cut to `limit` characters with its full length
    said, so that a 200 KB field costs a warning 200 characters, not 200 KB."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"
