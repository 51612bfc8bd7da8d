"""The issuer console's words, in French and English, by key (the language is chosen as on the
verifier page: ``?lang=``, then the ``lang`` cookie, then Accept-Language).

JSON catalogues like verifier/i18n.py's rather than gettext: two languages, a few dozen sentences, no
build step, French beside English in locales/console.json and locales/statuses.json for translators,
checked when loaded (verifier.core.catalogue), and a test can read every sentence of both languages.
"""

from __future__ import annotations

from typing import Any

from verifier.core.catalogue import Catalogue

#: Every page's words, by key.
TEXT = Catalogue.load("certifier.service", "locales/console.json")

#: Where a batch or a document stands (certifier.store.states), in a word or two.
STATUSES = Catalogue.load("certifier.service", "locales/statuses.json")


def t(key: str, lang: str, **params: Any) -> str:
    """The words of `key` in `lang`, `params` put in."""
    return TEXT.text(key, lang, **params)


def status(value: object, lang: str) -> str:
    return STATUSES.get(str(value), {}).get(lang, str(value))
