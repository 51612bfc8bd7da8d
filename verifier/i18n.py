"""French and English for the verifier page and the command line: the page's own texts and
headlines (the words of every check and error live in verifier.core.messages). The words are data,
in verifier/locales/*.json (verifier.core.catalogue), French beside English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verifier.core.catalogue import Catalogue
from verifier.core.kinds import LABELS
from verifier.core.messages import REASONS, message

LANGS = ("fr", "en")

#: The verifier page's own texts.
TEXT = Catalogue.load("verifier", "locales/page.json")

#: The checks' names, by check id. A dict, not the read-only catalogue:
#: verifier.credentials.messages.register() adds the credential checks.
CHECKS: dict[str, Mapping[str, str]] = dict(Catalogue.load("verifier", "locales/checks.json"))

KIND_NOUNS = LABELS  # one place for kinds' names: verifier.core.kinds

#: The page's headline, by verdict. ``{noun}`` is the document kind as written inside a sentence
#: (lower case): the headline's first letter is made a capital (headline()).
HEADLINES = Catalogue.load("verifier", "locales/headlines.json")


def pick_language(requested: str | None, cookie: str | None, accept: Any) -> str:
    for choice in (requested, cookie):
        if choice in LANGS:
            return str(choice)
    best = accept.best_match(LANGS) if accept is not None else None
    return best or "en"


def t(key: str, lang: str) -> str:
    return TEXT.text(key, lang)


def number(value: int, lang: str) -> str:
    """A count as a person reads it: 1 000 000 in French (narrow no-break spaces), 1,000,000 in English."""
    return f"{value:,}".replace(",", "\u202f") if lang == "fr" else f"{value:,}"


def headline(verdict: dict[str, Any], lang: str) -> str:
    from datetime import UTC, datetime

    def day(ts: int | None) -> str:
        if not ts:
            return "?"
        d = datetime.fromtimestamp(ts, UTC)
        return d.strftime("%d/%m/%Y") if lang == "fr" else d.strftime("%Y-%m-%d")

    valid_until = (verdict.get("document") or {}).get("validUntil")

    doc = verdict.get("document") or {}
    noun = KIND_NOUNS.get(doc.get("kind", ""), {"fr": "Document", "en": "Document"})[lang]
    issuer = (verdict.get("issuer") or {}).get("name", "?")
    reason = (verdict.get("revocation") or {}).get("reason", "")
    words = HEADLINES.text(
        verdict["verdict"],
        lang,
        noun=noun.lower(),
        issuer=issuer,
        date=day(doc.get("validFrom")),
        until=day(valid_until - 1 if valid_until else None),  # the last valid day: the bound is exclusive
        reason=REASONS.get(reason, {}).get(lang, reason.replace("_", " ")),
        error=message(verdict.get("errorCode") or "error.other", {}, lang),
    )
    return words[:1].upper() + words[1:]  # a sentence starts with a capital, even a kind's noun


#: A verdict in a few words, for the bulk reports and the console (the code stays beside it).
VERDICTS = Catalogue.load("verifier", "locales/verdicts.json")

#: The bulk reports' words (verifier.bulk): CSV headers and the printable HTML report.
REPORT = Catalogue.load("verifier", "locales/report.json")

#: The command line's headlines (`sceau verify`), by verdict.
CLI_HEADLINES = Catalogue.load("verifier", "locales/cli_headlines.json")

#: The command line's other words.
CLI = Catalogue.load("verifier", "locales/cli.json")
