"""The messages' HTML from Jinja2 templates: autoescaped (what the feed or a subscriber wrote never
becomes markup), in the subscriber's language, and replaceable by an operator's own files
(`[alerts] templates`), which are checked before anything is sent."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from helpers import FeedServer, cli, snapshot
from servers import SMTPSink

from crswatch.draws.match import Verdict
from crswatch.draws.record import Draw
from crswatch.notifier.i18n import Texts
from crswatch.notifier.letters import DEFAULT, Letters
from crswatch.notifier.message import Alert, render
from crswatch.subscribers.model import Subscriber

EVIL = '<script>alert("x")</script> & co'


def _alert(program: str = "Canadian Experience Class", language: str = "en") -> Alert:
    draw = Draw(number="392", date=date(2026, 1, 21), program=program, stream="cec", invitations=6000, crs=509,
                tie_break=datetime(2025, 10, 29, 4, 35, 24, tzinfo=UTC), url="https://example.com/392?a=1&b=2")  # fmt: skip
    sub = Subscriber(id="k7fq2mxa", score=510, within=10, streams=("cec",), language=language, channels=(),
                     created_at=datetime(2026, 1, 1, tzinfo=UTC), token_hash="")  # fmt: skip
    return Alert(draw, sub, Verdict.INVITED)


def test_what_the_feed_wrote_is_text_in_the_html_never_markup() -> None:
    _, bodies = render(_alert(program=EVIL))
    assert "<script>" not in bodies["html"] and "&lt;script&gt;" in bodies["html"]
    assert 'href="https://example.com/392?a=1&amp;b=2"' in bodies["html"]
    assert EVIL in bodies["text"]  # the plain text says it as published


def test_the_html_is_in_the_subscribers_language() -> None:
    _, bodies = render(_alert(language="fr"))
    assert (
        bodies["html"].startswith('<html lang="fr">')
        and "Détails officiels de la ronde sur canada.ca" in bodies["html"]
    )


def test_an_operators_template_replaces_crswatchs_own_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "alert.html").write_text(
        '{% extends "message.html" %}{% block content %}<p class="ours">{{ verdict }} — {{ _("Unsubscribe") }}</p>{% endblock %}'
    )
    letters = Letters(tmp_path)
    assert letters.check() == []
    _, bodies = render(_alert(program=EVIL, language="fr"), letters=letters)
    assert '<p class="ours">' in bodies["html"] and "Se désabonner" in bodies["html"]
    assert bodies["html"].startswith('<html lang="fr"><body><h2>')  # crswatch's own layout around it
    _, own = render(_alert())
    assert 'class="ours"' not in own["html"]  # another app's letters are untouched


def test_a_broken_template_is_found_before_anything_is_sent(tmp_path: Path) -> None:
    (tmp_path / "alert.html").write_text("{% block content %}unclosed")
    problems = Letters(tmp_path).check()
    assert len(problems) == 1 and "alert.html" in problems[0]
    (tmp_path / "alert.html").write_text("{{ nothing_by_this_name }}")  # compiles; names what crswatch does not give
    (problem,) = Letters(tmp_path).check()
    assert "alert.html" in problem and "nothing_by_this_name" in problem


def test_an_operators_plain_text_template_replaces_the_text_body_as_written(tmp_path: Path) -> None:
    (tmp_path / "alert.txt").write_text('{{ verdict }}\n{{ _("Unsubscribe") }}: {{ stop.text }}\n')
    (tmp_path / "confirmation.txt").write_text("{{ nothing_by_this_name }}")
    (tmp_path / "README.txt").write_text("Our templates: {{ and {# are Jinja's\n")  # not a template crswatch renders
    letters = Letters(tmp_path)
    (problem,) = letters.check()  # the plain-text templates are checked too
    assert "confirmation.txt" in problem and "nothing_by_this_name" in problem
    _, bodies = render(_alert(program=EVIL, language="fr"), letters=letters)
    assert bodies["text"].startswith("Votre note ") and "\nSe désabonner: " in bodies["text"]
    assert (
        "&" not in bodies["text"] and '<p class="ours">' not in bodies["html"]
    )  # text is not escaped; the HTML is crswatch's
    _, own = render(_alert(program=EVIL))
    assert (
        EVIL in own["text"] and own["text"].count("\n\n") == 4
    )  # crswatch's own text: facts, verdict, steps, link, way out


def test_crswatchs_own_templates_all_compile() -> None:
    assert sorted(DEFAULT.env.list_templates()) == [
        "alert.html", "alert.txt", "confirmation.html", "confirmation.txt", "message.html", "message.txt"
    ]  # fmt: skip
    assert DEFAULT.render("message.html", Texts("en"), title="t", paragraphs=["a\nb"], stop=_stop()).count("<br>") == 1


def _stop():  # type: ignore[no-untyped-def]
    from crswatch.notifier.foot import Stop

    return Stop("To stop these alerts, ask the operator.")


def test_an_operators_templates_end_to_end(feed: FeedServer, env: dict, smtp: SMTPSink, tmp_path: Path) -> None:
    """`[alerts] templates` names a folder: the e-mail sent for a draw is the operator's; a folder
    that is missing, or holds a broken template, stops `check` with one line (exit 2), nothing sent."""
    folder = tmp_path / "letters"
    folder.mkdir()
    (folder / "alert.html").write_text(
        '{% extends "message.html" %}{% block content %}<p>From our team: {{ verdict }}</p>{% endblock %}'
    )
    config = Path(env["CRSWATCH_CONFIG"])
    plain = config.read_text()
    config.write_text(plain.replace("[alerts]\n", f'[alerts]\ntemplates = "{folder}"\n'))
    feed.serve(snapshot("2026-01-20"))
    cli("check", "--source", feed.url, env=env, check=True)
    cli("subscribe", "--score", "520", "--notify", smtp.url("kim@example.com"), env=env, check=True)
    (folder / "message.html").write_text("{% block content %}")  # broken: the check stops before it sends
    feed.serve(snapshot("2026-01-21"))
    broken = cli("check", "--source", feed.url, env=env)
    assert broken.returncode == 2 and broken.stderr.startswith("crswatch: error: [alerts] templates: message template ")
    assert broken.stderr.count("\n") == 1 and smtp.messages == []
    (folder / "message.html").unlink()
    cli("check", "--source", feed.url, env=env, check=True)
    smtp.wait_for(1)
    (alert,) = smtp.to("kim@example.com")
    html_part = next(part for part in alert.walk() if part.get_content_type() == "text/html").get_content()
    assert "From our team: " in html_part and "<table>" not in html_part
    config.write_text(plain.replace("[alerts]\n", f'[alerts]\ntemplates = "{tmp_path / "nowhere"}"\n'))
    missing = cli("check", "--source", feed.url, env=env)
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


def test_a_template_that_fails_on_real_values_falls_back_to_crswatchs_own(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """It passed the start-up check (sample values) but fails on a real alert: that alert goes out
    with crswatch's own HTML and the operator reads why in the log; the others are not stopped."""
    from crswatch.notifier.chunk import _message
    from crswatch.notifier.outbox import Delivery

    (tmp_path / "alert.html").write_text(
        '{% if steps == "Next steps." %}{{ verdict }}{% else %}{{ no_such_value }}{% endif %}'
    )
    letters = Letters(tmp_path)
    assert letters.check() == []
    alert = _alert()
    delivery = Delivery(id="392/0/k7fq2mxa/c", draw="392", revision=0, subscriber="k7fq2mxa", channel="c", masked="m",
                        verdict="invited", kind="new", queued_at="2026-01-21T20:00:00.000000Z")  # fmt: skip
    _, bodies = _message(delivery, alert.subscriber, alert.draw, None, None, "", letters)
    assert "<table>" in bodies["html"]  # crswatch's own alert.html
    assert "no_such_value" in caplog.text and "crswatch's own template was used" in caplog.text
