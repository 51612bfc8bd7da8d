"""Catalogues of words, French beside English, kept as JSON data files inside the packages that show
them (``*/locales/*.json``), so that a translator edits data and sees each pair side by side:

    {"key": {"fr": "révoqué le {date}", "en": "revoked on {date}"}}

A catalogue is checked when it is loaded: every entry has exactly the languages of ``LANGS``, as
non-empty strings, and both use the same ``{placeholders}``. A file that breaks a rule is refused
with a `CatalogueError` naming the file and the key, so a slip is caught by the first import, not by
the person reading a page in the language nobody tested.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

from verifier.core.errors import InvalidReceipt, SceauError
from verifier.core.receipt import parse_json

LANGS = ("fr", "en")


class CatalogueError(SceauError):
    """A catalogue file that is not ``{"key": {"fr": "...", "en": "..."}}`` with the same
    placeholders in both languages; `source` names the file, `key` the entry (None: the whole file)."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        super().__init__(f"{source}: {problem}" if key is None else f"{source}, key {key!r}: {problem}")
        self.source = source
        self.key = key


def placeholders(words: str) -> frozenset[str]:
    """The names of the ``{placeholders}`` in `words` (``{a.b}`` and ``{a[0]}`` name ``a``)."""
    found = set()
    for _, name, _, _ in string.Formatter().parse(words):
        if name is not None:
            found.add(name.split(".")[0].split("[")[0])
    return frozenset(found)


@dataclass(frozen=True, eq=False)
class Catalogue(Mapping[str, Mapping[str, str]]):
    """The entries of one catalogue file, read-only: ``catalogue[key][lang]`` is the raw words,
    ``catalogue.text(key, lang, **params)`` the words with their parameters put in."""

    source: str
    entries: Mapping[str, Mapping[str, str]] = field(repr=False)

    @classmethod
    def load(cls, package: str, name: str, *, untranslated: frozenset[str] = frozenset()) -> Catalogue:
        """The catalogue `name` (a path inside `package`, e.g. ``locales/messages.json``) shipped
        with `package`. `untranslated` names placeholders that carry technical details no
        translation can carry (English words from a parser): a language may leave those out."""
        source = f"{package.replace('.', '/')}/{name}"
        try:
            data = resources.files(package).joinpath(name).read_bytes()
        except OSError as exc:
            raise CatalogueError(source, None, f"cannot be read ({exc.strerror or exc})") from None
        return cls.from_bytes(data, source=source, untranslated=untranslated)

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str, untranslated: frozenset[str] = frozenset()) -> Catalogue:
        """The catalogue held in `data` (UTF-8, strict JSON as parse_json reads it: no key twice),
        `source` naming it in errors."""
        try:
            raw = parse_json(data.decode("utf-8"), "catalogue")
        except (InvalidReceipt, UnicodeDecodeError) as exc:
            raise CatalogueError(source, None, str(exc)) from None
        if not isinstance(raw, dict):
            raise CatalogueError(source, None, 'not an object of {"key": {"fr": "...", "en": "..."}}')
        entries = {key: MappingProxyType(_entry(source, key, words, untranslated)) for key, words in raw.items()}
        return cls(source, MappingProxyType(entries))

    def text(self, key: str, lang: str, **params: Any) -> str:
        """The words of `key` in `lang`, `params` put in (none: the words as they are)."""
        words = self.entries[key][lang]
        return words.format(**params) if params else words

    def __getitem__(self, key: str) -> Mapping[str, str]:
        return self.entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _entry(source: str, key: str, words: object, untranslated: frozenset[str]) -> dict[str, str]:
    if not isinstance(words, dict) or set(words) != set(LANGS):
        found = sorted(words) if isinstance(words, dict) else type(words).__name__
        raise CatalogueError(source, key, f"must give exactly the languages {', '.join(LANGS)} (found: {found})")
    named: dict[str, frozenset[str]] = {}
    for lang in LANGS:
        text = words[lang]
        if not isinstance(text, str) or not text:
            raise CatalogueError(source, key, f"the {lang} words are empty or not a string")
        try:
            named[lang] = placeholders(text) - untranslated
        except ValueError as exc:  # an unmatched brace
            raise CatalogueError(source, key, f"the {lang} words are not a valid template ({exc})") from None
    first, *others = LANGS
    for lang in others:
        if named[lang] != named[first]:
            shown = "; ".join(f"{x}: {', '.join(sorted(named[x])) or 'none'}" for x in (first, lang))
            raise CatalogueError(source, key, f"the languages use different placeholders ({shown})")
    return {lang: words[lang] for lang in LANGS}
