"""The languages messages are written in: gettext catalogues (`notifier/locale/`, made and
compiled by `scripts/i18n`) and dates and numbers as each language writes them (Babel's CLDR data:
"January 21, 2026" and "6,000"; "21 janvier 2026" and "6 000")."""

from __future__ import annotations

import gettext
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

CATALOGUES = Path(__file__).with_name("locale")
#: Our languages and the CLDR locale their dates and numbers follow (Canadian English and French).
LOCALES = {"en": "en_CA", "fr": "fr_CA"}


@lru_cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of a language; English is the source text itself."""
    if language not in LOCALES or language == "en":
        return gettext.NullTranslations()
    from babel.support import Translations

    return Translations.load(str(CATALOGUES), [language], domain="messages")


@dataclass(frozen=True)
class Texts:
    """Everything a message needs to be written in one language."""

    language: str = "en"
    catalogue: gettext.NullTranslations = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "catalogue", translations(self.language))

    @property
    def locale(self) -> str:
        return LOCALES.get(self.language, "en_CA")

    def gettext(self, message: str) -> str:
        return self.catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.catalogue.ngettext(singular, plural, count)

    def day(self, day: date) -> str:
        from babel.dates import format_date

        return format_date(day, "long", locale=self.locale)

    def moment(self, moment: datetime | None) -> str:
        _ = self.gettext
        if moment is None:
            return _("an unknown time")
        return _("{day} at {time} UTC").format(day=self.day(moment.date()), time=f"{moment:%H:%M:%S}")

    def number(self, value: int) -> str:
        from babel.numbers import format_decimal

        return format_decimal(value, locale=self.locale)
