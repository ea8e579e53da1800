"""Every message's bodies, from Jinja2 templates: `NAME.txt` for the plain text, `NAME.html` for the
HTML (autoescaped, so nothing a feed or a subscriber wrote can become markup).  crswatch's own are
in `notifier/templates`; an operator may replace any of them with a file of the same name in the
folder `[alerts] templates` names.  The words come from one gettext catalogue, in the subscriber's
language (`_`), and the values are the same for both bodies of a message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)
from markupsafe import Markup, escape

from .i18n import Texts


class TemplatesError(ValueError):
    """An operator's template that cannot be used (a syntax error, an unknown name)."""


class Letters:
    """One template environment for an app (templates are compiled once and kept in it)."""

    def __init__(self, folder: Path | str | None = None) -> None:
        own = PackageLoader(__package__ or "crswatch.notifier", "templates")
        loader = ChoiceLoader([FileSystemLoader(str(folder)), own]) if folder else own
        self.folder = folder
        self.env = Environment(
            loader=loader,
            autoescape=select_autoescape(enabled_extensions=("html",), disabled_extensions=("txt",), default=True),
            undefined=StrictUndefined,
            auto_reload=False,
        )
        self.env.filters["nl2br"] = _nl2br

    def bodies(self, name: str, t: Texts, **values: Any) -> dict[str, str]:
        """{"text": NAME.txt, "html": NAME.html}, both rendered in `t`'s language with `values`."""
        return {"text": self.render(f"{name}.txt", t, **values), "html": self.render(f"{name}.html", t, **values)}

    def render(self, name: str, t: Texts, **values: Any) -> str:
        """The template `name` (a file name: `.html` autoescaped, `.txt` as written) rendered in
        `t`'s language with `values`."""
        try:
            return self.env.get_template(name).render(_=t.gettext, language=t.language, **values)
        except TemplateError as exc:
            where = f" (from {self.folder})" if self.folder else ""
            raise TemplatesError(f"the message template {name}{where} cannot be used: {exc}") from exc

    def check(self) -> list[str]:
        """Problems with the operator's templates, found by rendering each one with sample values
        (a syntax error, or a name crswatch does not give) before anything is sent."""
        if not self.folder:
            return []
        problems = []
        # every .html (a layout may be any name) and the .txt crswatch renders (a README.txt is no template)
        names = self.env.list_templates(extensions=["html", "txt"])
        for name in [n for n in names if n.endswith(".html") or n.rpartition(".")[0] in _SAMPLES]:
            try:
                values = _SAMPLES.get(name.rpartition(".")[0], _SAMPLES["message"])
                self.env.get_template(name).render(_=str, language="en", **values)
            except TemplateError as exc:
                problems.append(f"message template {name} in {self.folder}: {exc}")
        return problems


@dataclass(frozen=True)
class _Stop:  # the shape of notifier.foot.Stop, for the samples
    text: str = "To stop these alerts: https://example.com/unsubscribe"
    manage: str = "https://example.com/manage"
    unsubscribe: str = "https://example.com/unsubscribe"


#: What each template (NAME.txt and NAME.html) is given, as crswatch renders it; an operator's
#: template of another name is tried as a layout (message's values).
_SAMPLES: dict[str, dict[str, Any]] = {
    "message": {"title": "Title", "paragraphs": ["A paragraph."], "stop": _Stop()},
    "alert": {"title": "Title", "lines": [("Draw", "#1")], "verdict": "Invited", "steps": "Next steps.",
              "link": "https://example.com/1", "stop": _Stop()},
    "confirmation": {"someone": "Someone asked.", "asked": "Settings.", "link": "https://example.com/confirm",
                     "confirm": "Confirm", "ignore": "Ignore it.", "lasts": "(48 hours).", "hours": 48},
}  # fmt: skip


def _nl2br(value: Any) -> Markup:
    """A paragraph's line breaks kept in HTML, everything else escaped."""
    return Markup("<br>").join(escape(str(value)).split("\n"))


DEFAULT = Letters()  # crswatch's own templates, for callers that were given none (immutable once made)
