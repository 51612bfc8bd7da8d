"""Words (French, English) of the checks that verifier.credentials.verify adds, registered into the one
catalogue (verifier.core.messages, and the check names of i18n.py) when this module is imported. The
words are data, in locales/checks.json and locales/messages.json beside this module."""

from __future__ import annotations

from verifier import i18n
from verifier.core import messages
from verifier.core.catalogue import Catalogue

#: The names of the credential checks, by check id.
CHECKS = Catalogue.load("verifier.credentials", "locales/checks.json")

#: The words of the credential checks, by stable code.
MESSAGES = Catalogue.load("verifier.credentials", "locales/messages.json")


def register() -> None:
    """Add these words to the catalogue, never replacing words already there."""
    for code, words in MESSAGES.items():
        messages.MESSAGES.setdefault(code, words)
    for check, words in CHECKS.items():
        i18n.CHECKS.setdefault(check, words)
