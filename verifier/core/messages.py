"""The words of every check and error, in French and English, by stable code: verdicts carry codes
and parameters, and whoever shows them (page, CLI, reports, console) picks the language here. The
words themselves are data, in locales/*.json beside this module (verifier.core.catalogue)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verifier.core.catalogue import Catalogue
from verifier.core.kinds import LABELS as KIND_NOUNS

#: Revocation reasons, by slug.
REASONS = Catalogue.load("verifier.core", "locales/reasons.json")

# ---------------------------------------------------------------- checks and errors, by stable code
#
# Every check and every error carries a code and parameters; their words are in
# locales/messages.json. A parameter named ``date`` (Unix seconds) is shown as a date and time, ``day``
# as a day, ``last_day`` as the last day of an exclusive bound (valid until 2031-01-01 00:00 is "until
# 31/12/2030 inclusive"), ``reason`` as a revocation reason, ``kind``/``expected_kind`` as a document
# kind. ``problems`` are a parser's technical details, in English: the French words leave them out.
#
# A dict, not the read-only catalogue: verifier.credentials.messages.register() adds its codes.
MESSAGES: dict[str, Mapping[str, str]] = dict(
    Catalogue.load("verifier.core", "locales/messages.json", untranslated=frozenset({"problems"}))
)

#: What a trust anchor was named in (``what``): a receipt, a seal, a PDF.
WHAT = Catalogue.load("verifier.core", "locales/what.json")


def when(ts: int, lang: str) -> str:
    from datetime import UTC, datetime

    d = datetime.fromtimestamp(ts, UTC)
    return d.strftime("%d/%m/%Y à %H:%M UTC") if lang == "fr" else d.strftime("%Y-%m-%d %H:%M UTC")


def day_of(ts: int, lang: str) -> str:
    from datetime import UTC, datetime

    d = datetime.fromtimestamp(ts, UTC)
    return d.strftime("%d/%m/%Y") if lang == "fr" else d.strftime("%Y-%m-%d")


def message(code: str, params: dict[str, Any], lang: str = "en") -> str:
    """The words of a check or error `code` in `lang`, its parameters put in (dates and names
    translated); an unknown code is shown as it is rather than hidden."""
    words = MESSAGES.get(code, {}).get(lang) or MESSAGES.get(code, {}).get("en") or code
    shown: dict[str, Any] = {}
    for key, value in params.items():
        if key == "date" and isinstance(value, int):
            shown[key] = when(value, lang)
        elif key == "day" and isinstance(value, int):
            shown[key] = day_of(value, lang)
        elif key == "last_day" and isinstance(value, int):
            shown[key] = day_of(value - 1, lang)
        elif key == "reason":
            shown[key] = REASONS.get(str(value), {}).get(lang, str(value).replace("_", " "))
        elif key in ("kind", "expected_kind"):
            shown[key] = KIND_NOUNS.get(str(value), {}).get(lang, str(value))
        elif key == "what":
            shown[key] = WHAT.get(str(value), {}).get(lang, str(value))
        elif key == "why":
            shown[key] = MESSAGES.get(f"why.{value}", {}).get(lang, str(value))
        elif key == "problems" and isinstance(value, list | tuple):
            shown[key] = "; ".join(str(v) for v in value)
        else:
            shown[key] = value
    try:
        return words.format(**shown)
    except (KeyError, IndexError):  # a parameter missing: the words without it rather than nothing
        return words
