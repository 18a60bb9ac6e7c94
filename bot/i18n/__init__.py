"""Every text a person reads or hears, in Spanish and English. ``t(locale, key, **values)``."""

from __future__ import annotations

from bot.i18n import en, es

CATALOGUES: dict[str, dict[str, str]] = {"es": es.MESSAGES, "en": en.MESSAGES}
DEFAULT_LOCALE = "es"


def t(locale: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``locale`` (Spanish when the locale is unknown), filled with ``values``.

    Raises:
        KeyError: when no catalogue has ``key`` (a programming error, caught by the catalogue tests).
    """
    catalogue = CATALOGUES.get(locale, CATALOGUES[DEFAULT_LOCALE])
    return catalogue[key].format(**values)


def t_or(locale: str, key: str, default: str, **values: object) -> str:
    """Like ``t`` for keys built from data (a category, a priority): ``default`` when absent."""
    catalogue = CATALOGUES.get(locale, CATALOGUES[DEFAULT_LOCALE])
    template = catalogue.get(key)
    return default if template is None else template.format(**values)
