"""The bot's replies in English (the source text) and French (`bot/locale/`, made and compiled by
`scripts/i18n`); dates and numbers come from the notifier's `Texts` (Babel's CLDR data)."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from crswatch.subscribers.model import LANGUAGES

CATALOGUES = Path(__file__).with_name("locale")


@lru_cache
def translations(language: str) -> gettext.NullTranslations:
    if language not in LANGUAGES or language == "en":
        return gettext.NullTranslations()
    from babel.support import Translations

    return Translations.load(str(CATALOGUES), [language], domain="messages")


def gettext_for(language: str) -> Callable[[str], str]:
    return translations(language).gettext


def guess(code: str | None) -> str:
    """A new user's language from their Telegram app's (French for fr, fr-CA…; else English)."""
    return "fr" if (code or "").lower().startswith("fr") else "en"
