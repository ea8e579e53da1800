"""Rules that must hold for rounds no snapshot shows: names, dates, fields, plausibility, links.

Constructed cases (tables and properties) built from real rounds with one thing altered, so the
rules are tested beyond the spellings IRCC happened to publish so far.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from helpers import snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from crswatch.draws.streams import ALIASES, BUILTIN, OTHER, name_key, stream_of
from crswatch.scraper.dates import parse_long_date, parse_stamp
from crswatch.scraper.items import RawRound
from crswatch.scraper.middlewares import redirect_allowed
from crswatch.scraper.parse import Implausible, parse_feed, parse_round, public_url, vet_round
from crswatch.scraper.pipelines import ParsePipeline

ROUND_392 = parse_feed(snapshot("2026-01-21").read_bytes())[0]
NOW = datetime(2026, 1, 22, 12, tzinfo=UTC)


def _round(**fields: str) -> dict:
    return dict(ROUND_392, **fields)


# ------------------------------------------------------------------------------- names → streams

SPELLINGS = {
    "french": [
        "French language proficiency (Version 2)", "French language proficiency (Version 10)",
        "French-language proficiency – Version 3", "French language proficiency — 2026",
        "FRENCH LANGUAGE PROFICIENCY (2024-2)", "French\u00a0language\u2011proficiency (Version\u00a04)",
        "French language proficiency [Version 2]", "French language proficiency, version-5",
        "2026 French language proficiency", "French language proficiency (2025)",
        "French language proficiency (v3)", "  french   language proficiency  ",
    ],
    "healthcare": [
        "Healthcare and social services occupations (Version 3)", "Healthcare occupations (2023-1)",
        "Healthcare and social services occupations – 2026", "Healthcare & social services occupations (Version 2)",
        "Healthcare and Social Services Occupations, Version 4", "Healthcare occupations (Ver. 2)",
    ],
    "stem": [
        "STEM occupations (Version 2)", "STEM occupations 2025",
        "Science, Technology, Engineering and Math (STEM) occupations (Version 1)",
        "Science, technology, engineering and mathematics (STEM) occupations – Version 2",
    ],
    "trades": ["Trade occupations (Version 3)", "Trade occupations (2024-1)", "Trades occupations (Version 2)", "Trade occupations – 2026"],
    "transport": ["Transport occupations (Version 2)", "Transport occupations [2025-1]"],
    "agriculture": ["Agriculture and agri-food occupations (Version 2)", "Agriculture and agri\u2013food occupations (2024)"],
    "education": ["Education occupations (Version 2)", "Education occupations, 2026"],
    "cec": ["Canadian Experience Class", "Canadian Experience Class (Version 2)", "canadian experience class"],
    "pnp": ["Provincial Nominee Program", "Provincial Nominee Program (2026)"],
    "fsw": ["Federal Skilled Worker", "Federal Skilled Worker Program (Version 2)"],
    "fst": ["Federal Skilled Trades", "Federal Skilled Trades Program"],
    "general": ["No Program Specified", "General", "No program specified (2026)"],
    "physicians": ["Physicians with Canadian work experience (Version 1)", "Physicians with Canadian work experience – 2026",
                   "PHYSICIANS WITH CANADIAN WORK EXPERIENCE (2026-1)", "Médecins ayant une expérience de travail au Canada (version 2)"],
    "managers": ["Senior managers with Canadian work experience (Version 1)", "Senior managers with Canadian work-experience, 2026",
                 "Cadres supérieurs ayant une expérience de travail au Canada – 2026"],
    "military": ["Skilled military recruits (Version 1)", "Skilled military recruits – 2026", "Recrues militaires qualifiées (2026-1)",
                 "skilled  military recruits [v2]"],
    None: [
        "Trade occupations in healthcare", "Physicians", "Military recruits", "Senior managers with foreign work experience", "Canadian Experience Class with French", "French language",
        "Pharmacists with Canadian work experience (Version 1)", "Senior managers (Version 2)",
        "Healthcare", "Version 2", "2026", "Federal Skilled Trades occupations", "STEM",
        "Researchers with Canadian work experience – 2026", "Trade", "Occupations (Version 1)",
    ],
}  # fmt: skip


@pytest.mark.parametrize(("name", "stream"), [(n, s) for s, names in SPELLINGS.items() for n in names])
def test_many_spellings_map_by_meaning(name: str, stream: str | None) -> None:
    assert stream_of(name) == stream


def test_trade_occupations_are_never_the_fst_program() -> None:
    assert {stream_of(n) for n in SPELLINGS["trades"]} == {"trades"}


ALIAS_PAIRS = [(code, alias) for code, aliases in ALIASES.items() for alias in aliases]
MARKERS = st.one_of(
    st.builds(
        lambda n, fmt: fmt.format(n),
        st.integers(1, 99),
        st.sampled_from(["Version {}", "version-{}", "VERSION {}", "v{}", "Ver. {}"]),
    ),
    st.builds(lambda y, r: f"{y}-{r}" if r else str(y), st.integers(2015, 2039), st.integers(0, 9)),
)
WRAPS = st.sampled_from(["({})", "[{}]", " – {}", " — {}", ", {}", " - {}", " {}", "\u00a0({})", " ({}) "])


@settings(max_examples=400, deadline=None)
@given(
    pair=st.sampled_from(ALIAS_PAIRS),
    marker=MARKERS,
    wrap=WRAPS,
    where=st.sampled_from(["end", "start"]),
    upper=st.booleans(),
)
def test_any_alias_with_any_version_marker_maps_to_its_stream(
    pair: tuple[str, str], marker: str, wrap: str, where: str, upper: bool
) -> None:
    code, alias = pair
    tag = wrap.format(marker)
    name = f"{alias}{tag}" if where == "end" else f"{tag.strip(' ,–—-')} {alias}"
    assert stream_of(name.upper() if upper else name) == code


@settings(max_examples=300, deadline=None)
@given(pair=st.sampled_from(ALIAS_PAIRS), word=st.sampled_from(["senior", "pharmacists", "with", "in", "canadian", "work", "experience", "researchers", "managers"]),
       marker=MARKERS, where=st.sampled_from(["start", "end"]))  # fmt: skip
def test_names_of_other_categories_never_map(pair: tuple[str, str], word: str, marker: str, where: str) -> None:
    code, alias = pair
    name = f"{word} {alias} ({marker})" if where == "start" else f"{alias} {word} ({marker})"
    if name_key(name) in BUILTIN.names:  # the added word made another known alias (none do today)
        return
    assert stream_of(name) is None


def test_operator_names_and_new_codes() -> None:
    taught = BUILTIN.with_names(
        {"Pharmacists with Canadian work experience": "pharmacists", "Healthcare workers": "healthcare"},
        {"pharmacists": "Pharmacists with Canadian work experience"},
    )
    assert taught.code_of("Pharmacists with Canadian work experience (Version 2)") == "pharmacists"
    assert taught.code_of("Healthcare workers – 2026") == "healthcare"
    assert "pharmacists" in taught.subscribable and taught.labels["pharmacists"].startswith("Pharmacists")
    assert BUILTIN.code_of("Pharmacists with Canadian work experience") is None  # the built-in table is untouched
    for names, labels, message in [
        ({"X": "nope"}, {}, "unknown code 'nope'"),
        ({"X": "other"}, {}, "unknown code 'other'"),
        ({"Version 2": "cec"}, {}, "only a version"),
        ({}, {"Bad Code": "x"}, "lower-case"),
        ({}, {"cec": "Something else"}, "built in"),
    ]:
        with pytest.raises(ValueError, match=message):
            BUILTIN.with_names(names, labels)


# ------------------------------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("January 21, 2026 at 12:37:42 UTC", datetime(2026, 1, 21, 12, 37, 42, tzinfo=UTC)),
        ("January 21st, 2026 at 12:37:42 UTC", datetime(2026, 1, 21, 12, 37, 42, tzinfo=UTC)),
        ("March 3rd 2026 at 09:00:00 UTC", datetime(2026, 3, 3, 9, tzinfo=UTC)),
        ("February 2nd, 2026 12:00:01", datetime(2026, 2, 2, 12, 0, 1, tzinfo=UTC)),
        ("October 19th, 2025 at 04:35:24", datetime(2025, 10, 19, 4, 35, 24, tzinfo=UTC)),
        ("November 4th  2025  at  04:22:17 AM UTC", datetime(2025, 11, 4, 4, 22, 17, tzinfo=UTC)),
        ("December 1st, 2025 at 01:02:03 PM UTC", datetime(2025, 12, 1, 13, 2, 3, tzinfo=UTC)),
        (
            "May 11th at 10:00:00 UTC",
            datetime(2025, 5, 11, 10, tzinfo=UTC),
        ),  # no year: the draw's (2026-01-21) year before
        ("March 02. 2024 at 14:00:00 UTC", datetime(2024, 3, 2, 14, tzinfo=UTC)),
        ("January 23, 2025 at 2025-01-23 15:30:04 UTC", datetime(2025, 1, 23, 15, 30, 4, tzinfo=UTC)),
        # impossible dates are never guessed
        ("January 32nd, 2026 at 12:00:00 UTC", None),
        ("February 30, 2026 at 12:00:00 UTC", None),
        ("January 21, 2026 at 99:00:00 UTC", None),
        ("January 21, 2026 at 12:61:00 UTC", None),
        ("January 23, 2025 at 2025-02-30 15:30:04 UTC", None),
        ("Smarch 3rd, 2026 at 12:00:00 UTC", None),
        ("", None),
    ],
)
def test_timestamp_spellings(text: str, expected: datetime | None) -> None:
    assert parse_stamp(text, date(2026, 1, 21)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("January 21st, 2026", date(2026, 1, 21)),
        ("January 3rd 2026", date(2026, 1, 3)),
        ("February 30, 2026", None),
        ("June 31st, 2026", None),
    ],
)
def test_long_dates(text: str, expected: date | None) -> None:
    assert parse_long_date(text) == expected


def test_ordinal_dates_in_a_round_are_read() -> None:
    draw = parse_round(
        _round(drawDate="", drawDateFull="January 21st, 2026", drawCutOff="October 29th, 2025 at 04:35:24 UTC")
    )
    assert draw.date == date(2026, 1, 21) and draw.tie_break == datetime(2025, 10, 29, 4, 35, 24, tzinfo=UTC)
    assert draw.warnings == ()


# ------------------------------------------------------------------------------ required, optional


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("drawCutOff", "January 23, 2025 at 2025-02-30 15:30:04 UTC"),  # an impossible ISO date inside
        ("drawCutOff", "February 31, 2026 at 12:00:00 UTC"),
        ("drawDateTime", "January 21, 2026 at 25:00:00 UTC"),
        ("drawNumberURL", "<a href='http://[::1'>broken</a>"),
        ("drawNumberURL", "<a href='javascript:alert(1)'>392</a>"),
        ("drawText2", ["not", "a", "string"]),
        ("dd1", "lots"),
        ("drawDistributionAsOn", "Smarch 3, 2026"),
        ("drawCutOff", {"an": "object"}),
    ],
)
def test_an_unreadable_optional_field_is_stored_empty_with_a_warning(field: str, value: object) -> None:
    raw = _round(**{field: value})
    if field == "drawNumberURL":
        raw["mitext"] = raw["DrawText1"] = ""
    draw = parse_round(raw)
    assert draw.number == "392" and draw.crs == 509 and draw.invitations == 6000
    assert draw.warnings, field


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("drawCRS", "0", "cut-off 0 is outside 1-1200"),
        ("drawCRS", "1,201", "cut-off 1201 is outside"),
        ("drawSize", "0", "0 invitations"),
        ("drawSize", "100,001", "100,001 invitations"),
        ("drawDate", "2026-01-24", "more than a day in the future"),
    ],
)
def test_implausible_rounds_are_held(field: str, value: str, reason: str) -> None:
    draw = parse_round(_round(**{field: value}))
    with pytest.raises(Implausible, match=reason):
        vet_round(draw, NOW)


def test_plausible_limits_pass() -> None:
    for fields in (
        {"drawCRS": "1"},
        {"drawCRS": "1200"},
        {"drawSize": "1"},
        {"drawSize": "100,000"},
        {"drawDate": "2026-01-23"},
    ):
        vet_round(parse_round(_round(**fields)), NOW)


def test_the_pipeline_never_drops_a_round() -> None:
    pipeline = ParsePipeline(now=lambda: NOW)
    items = [
        RawRound(0, _round(drawCRS="0")),
        RawRound(1, _round(drawSize="many")),
        RawRound(2, ["not", "a", "round"]),
        RawRound(3, _round()),
    ]
    out = [pipeline.process_item(item) for item in items]
    assert [type(o).__name__ for o in out] == ["Malformed", "Malformed", "Malformed", "Draw"]
    assert "cut-off 0" in out[0].reason and "drawSize" in out[1].reason and out[0].number == "392"


def test_an_unknown_name_is_other_not_a_failure() -> None:
    draw = parse_round(_round(drawName="Pharmacists with Canadian work experience (Version 1)"))
    assert draw.stream == OTHER


# ---------------------------------------------------------------------------------------- links


@pytest.mark.parametrize(
    ("href", "url"),
    [
        ("/en/x/invitations.html?q=392", "https://www.canada.ca/en/x/invitations.html?q=392"),
        ("https://www.canada.ca/en/x.html", "https://www.canada.ca/en/x.html"),
        ("https://ircc.canada.ca/english/x.asp", "https://ircc.canada.ca/english/x.asp"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        (" java\nscript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("http://www.canada.ca/en/x.html", None),
        ("https://canada.ca.evil.example/x", None),
        ("https://evil.example/www.canada.ca", None),
        ("//evil.example/x", None),
        ("https://user:pw@www.canada.ca/x", None),
        ("https://www.canada.ca:8443/x", None),
        ("http://[::1", None),
    ],
)
def test_only_https_canada_ca_links_are_kept(href: str, url: str | None) -> None:
    assert public_url(href) == url


# ------------------------------------------------------------------------------------- redirects


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        ("https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json", True),
        ("https://canada.ca/x.json", True),
        ("https://mirror.example.org/feed.json", False),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://10.0.0.1/feed.json", False),
        ("http://192.168.1.1/", False),
        ("http://[::1]:8080/", False),
        ("http://localhost/", False),
        ("http://feeds.example.com/other.json", True),  # the source's own host
        ("ftp://www.canada.ca/x", False),
    ],
)
def test_where_a_redirect_may_lead(target: str, allowed: bool) -> None:
    assert (redirect_allowed("http://feeds.example.com/ee.json", target) is None) == allowed


def test_configured_redirect_hosts() -> None:
    assert (
        redirect_allowed("https://www.canada.ca/x.json", "https://mirror.example.org/f.json", ("example.org",)) is None
    )
    assert redirect_allowed("https://www.canada.ca/x.json", "http://10.1.2.3/f.json", ("10.1.2.3",)) is not None


def test_the_source_host_may_be_local() -> None:
    assert redirect_allowed("http://127.0.0.1:8000/a.json", "http://127.0.0.1:8000/b.json") is None


def test_2026_category_draws_waiting_in_other_are_recognised_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from crswatch.draws.table import merge_draws, recognise
    from crswatch.store.draws import Database

    names = ["Physicians with Canadian work experience (Version 1)", "Cadres supérieurs ayant une expérience de travail au Canada",
             "Skilled military recruits – 2026", "Pharmacists with Canadian work experience"]  # fmt: skip
    draws = [
        replace(parse_round(_round(drawNumber=str(400 + i), drawName=name)), stream=OTHER)
        for i, name in enumerate(names)
    ]  # as an older crswatch stored them
    database = Database(tmp_path / "db.json")
    with database.transaction() as tx:
        merge_draws(tx, draws, NOW)
        found = recognise(tx, BUILTIN, NOW)
    assert sorted((d.number, d.stream) for d, old in found) == [
        ("400", "physicians"),
        ("401", "managers"),
        ("402", "military"),
    ]
    assert all(old["stream"] == OTHER for _, old in found)
    with database.transaction() as tx:
        assert recognise(tx, BUILTIN, NOW) == []  # each leaves `other` once
