"""The word catalogues (issue 9): every ``locales/*.json`` shipped in the packages loads, gives each
key in French and in English with the same placeholders, and is the one its module shows; a broken
catalogue is refused when loaded, with its file and key named."""

from __future__ import annotations

import string
import sys
from pathlib import Path

import pytest

from certifier.service import console_text
from verifier import i18n
from verifier.core import messages
from verifier.core.catalogue import Catalogue, CatalogueError
from verifier.credentials import messages as credential_messages

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(p.relative_to(ROOT) for top in ("verifier", "certifier") for p in (ROOT / top).rglob("locales/*.json"))
#: placeholders a language may leave out: a parser's technical details, in English only
UNTRANSLATED = {"verifier/core/locales/messages.json": frozenset({"problems"})}


def _load(path: Path) -> Catalogue:
    package = ".".join(path.parent.parent.parts)
    return Catalogue.load(package, f"locales/{path.name}", untranslated=UNTRANSLATED.get(str(path), frozenset()))


def _names(words: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(words) if name is not None}


def test_every_catalogue_a_module_shows_is_a_file_checked_here() -> None:
    shown = {
        messages.REASONS.source,
        messages.WHAT.source,
        credential_messages.CHECKS.source,
        credential_messages.MESSAGES.source,
        i18n.TEXT.source,
        i18n.HEADLINES.source,
        i18n.VERDICTS.source,
        i18n.REPORT.source,
        i18n.CLI_HEADLINES.source,
        i18n.CLI.source,
        console_text.TEXT.source,
        console_text.STATUSES.source,
        "verifier/core/locales/messages.json",  # messages.MESSAGES, a dict register() extends
        "verifier/locales/checks.json",  # i18n.CHECKS, likewise
    }
    assert shown <= {str(path) for path in FILES}


@pytest.mark.parametrize("path", FILES, ids=str)
def test_every_catalogue_loads_with_both_languages_and_the_same_placeholders(path: Path) -> None:
    catalogue = _load(path)
    assert catalogue.source == str(path) and len(catalogue) > 0
    optional = UNTRANSLATED.get(str(path), frozenset())
    for key, words in catalogue.items():
        assert set(words) == {"fr", "en"} and all(words.values()), (path, key)
        assert _names(words["fr"]) - optional == _names(words["en"]) - optional, (path, key)


def test_the_modules_show_the_files_words() -> None:
    in_file = _load(Path("verifier/core/locales/messages.json"))["integrity.ok"]
    assert dict(messages.MESSAGES["integrity.ok"]) == dict(in_file)
    assert i18n.t("title", "fr") == "Vérifier un document"
    assert console_text.t("accepted", "en", count=3) == "3 documents accepted as one batch"
    assert console_text.status("mined", "fr") == "inscrit dans un bloc"
    assert console_text.status("unheard_of", "fr") == "unheard_of"
    credential_messages.register()
    assert messages.MESSAGES["credential.proof_ok"] == credential_messages.MESSAGES["credential.proof_ok"]
    assert i18n.CHECKS["proof"] == credential_messages.CHECKS["proof"]


def test_a_catalogue_gives_words_with_their_parameters_and_is_read_only() -> None:
    catalogue = Catalogue.from_bytes(
        '{"revoked": {"fr": "révoqué le {date}", "en": "revoked on {date}"}}'.encode(), source="test.json"
    )
    assert catalogue.text("revoked", "fr", date="1/2/2030") == "révoqué le 1/2/2030"
    assert catalogue.text("revoked", "en") == "revoked on {date}"
    assert list(catalogue) == ["revoked"] and catalogue["revoked"]["en"] == "revoked on {date}"
    with pytest.raises(TypeError):
        catalogue["revoked"]["en"] = "altered"  # type: ignore[index]
    with pytest.raises(KeyError):
        catalogue.text("unknown", "en")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'{"ok": {"fr": "oui", "en": "yes"}, "sent": {"fr": "{n} envoy\xc3\xa9s", "en": "{count} sent"}}',
            "broken.json, key 'sent': the languages use different placeholders (fr: n; en: count)",
        ),
        (
            b'{"sent": {"fr": "envoy\xc3\xa9", "en": "{count} sent"}}',
            "broken.json, key 'sent': the languages use different placeholders (fr: none; en: count)",
        ),
        (
            b'{"sent": {"en": "sent"}}',
            "broken.json, key 'sent': must give exactly the languages fr, en (found: ['en'])",
        ),
        (
            b'{"sent": {"fr": "envoy\xc3\xa9", "en": "sent", "de": "gesendet"}}',
            "broken.json, key 'sent': must give exactly the languages fr, en (found: ['de', 'en', 'fr'])",
        ),
        (b'{"sent": "sent"}', "broken.json, key 'sent': must give exactly the languages fr, en (found: str)"),
        (b'{"sent": {"fr": "", "en": "sent"}}', "broken.json, key 'sent': the fr words are empty or not a string"),
        (b'{"sent": {"fr": 3, "en": "sent"}}', "broken.json, key 'sent': the fr words are empty or not a string"),
        (
            b'{"sent": {"fr": "envoy\xc3\xa9 {", "en": "sent {"}}',
            "broken.json, key 'sent': the fr words are not a valid template (Single '{' encountered in format string)",
        ),
        (
            b'{"sent": {"fr": "a", "en": "a"}, "sent": {"fr": "b", "en": "b"}}',
            "broken.json: duplicate field 'sent'",
        ),
        (b'{"sent": ', "broken.json: catalogue JSON ends early: Expecting value"),
        (b'{"sent": {"fr": "a", "en": "a"}} {}', "broken.json: unexpected data after the catalogue at character 32"),
        (b'["sent"]', 'broken.json: not an object of {"key": {"fr": "...", "en": "..."}}'),
        (
            b'{"sent": {"fr": "envoy\xe9", "en": "sent"}}',
            "broken.json: 'utf-8' codec can't decode byte 0xe9 in position 22: invalid continuation byte",
        ),
    ],
)
def test_a_broken_catalogue_is_refused_naming_its_file_and_key(data: bytes, message: str) -> None:
    with pytest.raises(CatalogueError) as refused:
        Catalogue.from_bytes(data, source="broken.json")
    assert str(refused.value) == message and refused.value.source == "broken.json"


def test_a_broken_catalogue_shipped_in_a_package_is_refused_when_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "translated_elsewhere"
    (package / "locales").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "locales" / "words.json").write_text(
        '{"fine": {"fr": "bien", "en": "fine"}, "queued": {"fr": "{name} en attente", "en": "{nom} queued"}}',
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "translated_elsewhere", raising=False)
    try:
        with pytest.raises(CatalogueError) as refused:
            Catalogue.load("translated_elsewhere", "locales/words.json")
        assert str(refused.value) == (
            "translated_elsewhere/locales/words.json, key 'queued': "
            "the languages use different placeholders (fr: name; en: nom)"
        )
        assert (refused.value.source, refused.value.key) == ("translated_elsewhere/locales/words.json", "queued")
        with pytest.raises(CatalogueError, match=r"^translated_elsewhere/locales/missing\.json: cannot be read"):
            Catalogue.load("translated_elsewhere", "locales/missing.json")
    finally:
        sys.modules.pop("translated_elsewhere", None)
