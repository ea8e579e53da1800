"""English and French: the catalogues are complete and compiled, French is written the French way
(IRCC's terms, "21 janvier 2026", "6 000"), and a French sign-up over real HTTP gets a French
confirmation and French alerts for #392 through a local SMTP server."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from helpers import DOCS_TEXT, ROOT, SHARED, cli, snapshot
from pages import Site
from servers import SMTPSink, body_text

from crswatch.draws.match import Verdict
from crswatch.draws.record import Draw
from crswatch.draws.streams import SHORT, SHORT_FR, STREAMS, STREAMS_FR
from crswatch.notifier import message
from crswatch.notifier.i18n import Texts
from crswatch.notifier.message import Alert, confirmation_message, render
from crswatch.subscribers.model import Subscriber

CATALOGUES = [("notifier", "locale"), ("web", "translations"), ("bot", "locale")]
FIELD = re.compile(r"\{(\w*)\}|%\((\w+)\)s")


def _method_map(package: str) -> list[tuple[str, str]]:
    sections = re.findall(r"^\[(\w+): (.+)\]$", (ROOT / package / "babel.cfg").read_text(), re.MULTILINE)
    return [(pattern, method) for method, pattern in sections]


def _source_ids(package: str) -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    for _file, _line, text, _comments, _context in extract_from_dir(str(ROOT / package), _method_map(package)):
        found.add(text if isinstance(text, str) else (text[0], text[1]))
    return found


@pytest.mark.parametrize(("package", "folder"), CATALOGUES)
def test_every_message_has_its_french_translation(package: str, folder: str) -> None:
    """What CI checks: a message added to the code or a template without its French fails here
    (run scripts/i18n, translate the new msgstr, run it again)."""
    with (ROOT / package / folder / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    translated = {m.id if isinstance(m.id, str) else (m.id[0], m.id[1]): m for m in catalogue if m.id}
    source = _source_ids(package)
    assert source, "no message found in the source"
    missing = sorted(map(str, source - set(translated)))
    assert not missing, f"not in {package}'s French catalogue (run scripts/i18n): {missing}"
    empty = sorted(
        str(k)
        for k in source
        if not all(translated[k].string if isinstance(translated[k].string, tuple) else [translated[k].string])
    )
    assert not empty, f"no French translation yet: {empty}"
    fuzzy = sorted(str(k) for k in source if translated[k].fuzzy)
    assert not fuzzy, f"fuzzy translations to check: {fuzzy}"


@pytest.mark.parametrize(("package", "folder"), CATALOGUES)
def test_translations_keep_their_placeholders_and_the_compiled_catalogue_is_current(package: str, folder: str) -> None:
    path = ROOT / package / folder / "fr" / "LC_MESSAGES"
    with (path / "messages.po").open("rb") as handle:
        source = read_po(handle, locale="fr")
    with (path / "messages.mo").open("rb") as handle:
        compiled = read_mo(handle)
    for entry in source:
        if not entry.id:
            continue
        ids, strings = _strings(entry.id), _strings(entry.string)
        wanted = {f for i in ids for f in FIELD.findall(i)}
        for string in strings:
            assert {f for f in FIELD.findall(string)} <= wanted, (
                entry.id,
                string,
            )  # no placeholder the code does not fill
        found = compiled.get(entry.id)
        assert found is not None and _strings(found.string) == strings, f"{entry.id!r}: run scripts/i18n"


def _strings(value: object) -> list[str]:
    return [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]


def test_french_dates_numbers_and_terms() -> None:
    fr, en = Texts("fr"), Texts("en")
    assert fr.day(dt.date(2026, 1, 21)) == "21 janvier 2026" and en.day(dt.date(2026, 1, 21)) == "January 21, 2026"
    assert fr.number(6000).replace("\u00a0", " ").replace("\u202f", " ") == "6 000" and en.number(6000) == "6,000"
    assert fr.moment(dt.datetime(2025, 10, 29, 4, 35, 24, tzinfo=dt.UTC)) == "29 octobre 2025 à 04:35:24 UTC"
    assert set(STREAMS_FR) == set(STREAMS) and set(SHORT_FR) == set(SHORT)  # every code has its French name
    assert STREAMS_FR["cec"] == "Catégorie de l'expérience canadienne"


DRAW = Draw(number="392", date=dt.date(2026, 1, 21), program="Canadian Experience Class", stream="cec", invitations=6000, crs=509,
            tie_break=dt.datetime(2025, 10, 29, 4, 35, 24, tzinfo=dt.UTC), url="https://www.canada.ca/en/x.html?q=392")  # fmt: skip


def _subscriber(score: int, language: str = "fr", **extra: object) -> Subscriber:
    return Subscriber(id="abcdefgh", score=score, channels=(), created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), token_hash="x",
                      language=language, **extra)  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.parametrize(
    ("score", "verdict", "subject", "says"),
    [
        (510, Verdict.INVITED, "Invité : nº 392 CEC, note minimale 509", "invitation à présenter une demande (IPD)"),
        (
            509,
            Verdict.AT_CUTOFF,
            "À la note minimale : nº 392 CEC, note minimale 509",
            "seuls les profils soumis avant le 29 octobre 2025",
        ),
        (505, Verdict.CLOSE, "Proche (à 4 points) : nº 392 CEC, note minimale 509", "4 points au-dessus de votre note"),
        (508, Verdict.CLOSE, "Proche (à 1 point) : nº 392 CEC, note minimale 509", "1 point au-dessus de votre note"),
    ],
)
def test_a_french_alert_is_written_in_french(score: int, verdict: Verdict, subject: str, says: str) -> None:
    title, bodies = render(Alert(DRAW, _subscriber(score), verdict))
    assert title == subject
    text = bodies["text"]
    assert says in text and "Ronde d'invitations : nº 392, 21 janvier 2026" in text
    assert "Programme : Catégorie de l'expérience canadienne" in text and "Système de classement global (SCG)" in text
    assert "Invitations : 6\u00a0000" in text
    for english in ("cut-off", "Your score", "Program:", "January", "To stop these alerts"):
        assert english not in text and english not in bodies["html"]
    assert '<html lang="fr">' in bodies["html"]


def test_french_test_alerts_confirmations_and_corrections() -> None:
    title, bodies = message.test_message(_subscriber(500))
    assert title == "Alerte de test crswatch" and "note SCG 500" in bodies["text"]
    title, bodies = confirmation_message("https://x/confirm/t", 48, "réglages", "fr")
    assert (
        title.startswith("Confirmez")
        and "dans les 48 heures" in bodies["text"]
        and "Confirmez vos alertes" in bodies["html"]
    )
    title, bodies = render(
        Alert(
            DRAW,
            _subscriber(505),
            Verdict.CLOSE,
            kind="correction",
            previous={"crs": 511, "invitations": 6000, "tie_break": None},
        )
    )
    assert title.startswith("Correction : Proche") and "note minimale 511 → 509" in bodies["text"]


def test_the_english_alert_is_unchanged() -> None:
    title, bodies = render(Alert(DRAW, _subscriber(510, "en"), Verdict.INVITED))
    assert title == "Invited: #392 CEC, cut-off 509"
    assert (
        "Draw: #392, January 21, 2026\nProgram: Canadian Experience Class\nInvitations: 6,000\nCRS cut-off: 509\n"
        in bodies["text"]
    )
    assert "profiles submitted before October 29, 2025 at 04:35:24 UTC" in bodies["text"]


def test_the_french_names_match_ircc_french_feed_where_one_is_at_hand() -> None:
    """IRCC's French feed (ee_rounds_123_fr.json) lists the same rounds with French names: where a
    snapshot of it is in ../shared/ircc, each draw's French name must be our table's label."""
    import json

    from crswatch.draws.streams import name_key, stream_of
    from crswatch.scraper.parse import parse_feed

    french = sorted(SHARED.glob("ee_rounds_123_fr.*.json"))
    if not french:
        pytest.skip("no snapshot of IRCC's French feed in ../shared/ircc")
    english = {r["drawNumber"]: r["drawName"] for r in parse_feed(snapshot("2026-01-21").read_bytes())}
    for round_ in json.loads(french[-1].read_bytes())["rounds"]:
        code = stream_of(english.get(round_["drawNumber"], ""))
        if code and code not in ("general", "other"):
            assert name_key(round_["drawName"]) in name_key(STREAMS_FR[code]) or name_key(STREAMS_FR[code]) in name_key(
                round_["drawName"]
            ), round_["drawName"]


# --------------------------------------------------------------------------- over real HTTP


def test_accept_language_and_the_switch(env: dict, smtp: SMTPSink) -> None:
    site = Site(env, smtp)
    try:
        french = site.http.get(site.base + "/", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}, timeout=30)
        assert (
            '<html lang="fr">' in french.text and "Recevez une alerte quand une ronde atteint votre note" in french.text
        )
        assert "Votre note du Système de classement global (SCG)" in french.text and 'id="switch"' in french.text
        assert "Catégorie de l'expérience canadienne" in html.unescape(french.text)  # the stream choices too
        english = site.get("/", headers={"Accept-Language": "en-CA,en"})
        assert '<html lang="en">' in english.text and "Get an alert when a draw reaches your score" in english.text
        switched = site.get("/?lang=fr", headers={"Accept-Language": "en"})
        assert '<html lang="fr">' in switched.text and "lang=fr" in switched.headers["Set-Cookie"]
        kept = site.get("/draws", headers={"Accept-Language": "en"})  # the session's cookie keeps the choice
        assert '<html lang="fr">' in kept.text and "Dernières rondes d'invitations d'Entrée express" in kept.text
    finally:
        site.close()


def test_a_french_sign_up_gets_a_french_confirmation_and_french_alerts(
    env: dict, smtp: SMTPSink, tmp_path: Path
) -> None:
    from helpers import FeedServer

    feed = FeedServer()
    feed.serve(snapshot("2026-01-20"))
    cli("check", "--source", feed.url, env=env, check=True)
    site = Site(env, smtp)
    try:
        page = site.get("/?lang=fr")
        assert "Langue de vos alertes" in page.text
        answer = site.sign_up("amelie@example.com", score=510, streams=("cec",), language="fr")
        assert answer.status_code == 200 and "Vérifiez votre courriel" in answer.text
        link = site.confirmation_link("amelie@example.com")
        assert link.endswith("?lang=fr")  # the confirmation page opens in French in any browser
        (confirmation,) = smtp.to("amelie@example.com")
        assert confirmation["Subject"] == "Confirmez vos alertes de rondes d'invitations d'Entrée express"
        text = body_text(confirmation)
        assert "Les alertes demandées : note SCG 510" in text and "Catégorie de l'expérience canadienne" in text
        confirmed = site.confirm(link)
        assert "Vos alertes sont activées" in confirmed.text
        subscribers = cli("subscribers", "--format", "json", env=env, check=True).stdout
        assert '"language": "fr"' in subscribers
        feed.serve(snapshot("2026-01-21"))
        assert "1 sent" in cli("check", "--source", feed.url, env=env, check=True).stdout
        alerts = [m for m in smtp.to("amelie@example.com") if "392" in m["Subject"]]
        assert [m["Subject"] for m in alerts] == ["Invité : nº 392 CEC, note minimale 509"]
        text = body_text(alerts[0])
        assert "Invitations : 6\u00a0000" in text and "21 janvier 2026" in text and "Modifier vos alertes" in text
        # IRCC's French page of the draw, not the English one the feed links to
        assert (
            "Détails officiels : https://www.canada.ca/fr/immigration-refugies-citoyennete/organisation/mandat/politiques-instructions-operationnelles-ententes/instructions-ministerielles/rondes-entree-express/invitations.html?q=392"
            in text
        )
        manage = next(word for word in text.split() if "/manage/" in word)
        assert (
            manage.endswith("?lang=fr")
            and "Vos alertes" in site.http.get(manage, headers={"Accept-Language": "en"}, timeout=30).text
        )
        assert alerts[0]["List-Unsubscribe"].endswith("?lang=fr>")
    finally:
        site.close()
        feed.close()


def test_the_readme_french_example_is_what_crswatch_writes() -> None:
    readme = DOCS_TEXT
    example = readme.split("## Languages", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    title, bodies = render(Alert(DRAW, _subscriber(510), Verdict.INVITED))
    written = (title + "\n\n" + bodies["text"]).replace("\u00a0", " ")
    assert written.startswith(example.rstrip("\n")), written


def test_french_alerts_link_to_ircc_french_page_where_it_is_known() -> None:
    from crswatch.notifier.message import official_page

    english = "https://www.canada.ca/en/immigration-refugees-citizenship/corporate/mandate/policies-operational-instructions-agreements/ministerial-instructions/express-entry-rounds/invitations.html?q=392"
    assert official_page(english, "en") == english
    assert official_page(english, "fr").startswith("https://www.canada.ca/fr/immigration-refugies-citoyennete/")
    assert official_page(english, "fr").endswith("/rondes-entree-express/invitations.html?q=392")
    elsewhere = "https://www.canada.ca/en/immigration-refugees-citizenship/news.html"
    assert official_page(elsewhere, "fr") == elsewhere  # no guessed address: the English page opens
