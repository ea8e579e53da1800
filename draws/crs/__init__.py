"""The Comprehensive Ranking System: a candidate's profile, the dated grid versions (data files in
`rules/`), IRCC's test-score equivalency charts (`charts/`) and the pure scoring with IRCC's
breakdown.  No I/O besides reading its own data files."""

from __future__ import annotations

from .days import age_on
from .profile import Profile, ProfileError
from .reader import parse, read
from .rules import Grid, RulesError, from_folder, grid_on, versions
from .score import FACTORS, SECTIONS, Result, score

__all__ = [
    "FACTORS",
    "SECTIONS",
    "Grid",
    "Profile",
    "ProfileError",
    "Result",
    "RulesError",
    "age_on",
    "from_folder",
    "grid_on",
    "parse",
    "read",
    "score",
    "versions",
]
