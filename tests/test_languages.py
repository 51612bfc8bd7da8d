"""French all the way through (issue 9): with the browser in French, the verifier page, the issuer
console and the HTML bulk report show no English sentence, for every verdict, built for real
against anvil and read from the text Chromium renders; and the same in English.

"An English sentence" is any catalogue entry of the other language (check words, errors, page
texts, headlines, check names, the console's words, the report's words) of three words or more
that differs from its own translation; its placeholders match anything."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from certifier.service import console_text, problems
from certifier.service.app import create_app
from tests.conftest import (
    CHROMIUM,
    Chain,
    free_port,
    never_anchored_receipt,
    serve,
    unique,
    verifier_for,
    write_docs,
)
from tests.test_trust import forged_doctorate
from verifier import i18n
from verifier.core import errors, fields, kinds, messages
from verifier.core.errors import SceauError
from verifier.core.verdict import error_from
from verifier.credentials import messages as credential_messages

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true", reason="Debian's chromium is not installed (make install)"
)
LANGS = ("fr", "en")
REASONS = ("fraud", "clerical_error", "annulment", "key_compromise", "superseded")
#: every verdict of the issue, and the outcome each case must have
CASES: dict[str, str] = {
    "valid": "valid",
    "tampered": "tampered",
    "unknown": "unknown",
    "untrusted": "untrusted_issuer",
    **{f"revoked_{r}": "revoked" for r in REASONS},
    "expired": "expired",
    "not_yet_valid": "not_yet_valid",
    "error_malformed_receipt": "error",
    "error_unreachable_chain": "error",
}


# ---------------------------------------------------------------- the other language's sentences


def _catalogues() -> list[Mapping[str, Mapping[str, str]]]:
    return [
        messages.MESSAGES,
        messages.REASONS,
        messages.WHAT,
        credential_messages.MESSAGES,
        credential_messages.CHECKS,
        i18n.TEXT,
        i18n.CHECKS,
        i18n.HEADLINES,
        i18n.VERDICTS,
        i18n.REPORT,
        i18n.CLI_HEADLINES,
        i18n.CLI,
        kinds.LABELS,
        fields.LABELS,
        console_text.TEXT,
        console_text.STATUSES,
        problems.WORDS,
    ]


def _pattern(words: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]*\})", words)
    regex = "".join(
        r"[^\n]{1,200}?" if part.startswith("{") else r"\s+".join(map(re.escape, part.split(" ")))
        for part in parts
        if part
    )
    return re.compile(regex, re.IGNORECASE)


def sentences(lang: str) -> list[tuple[str, re.Pattern[str]]]:
    """Every sentence of `lang` (three words or more, placeholders aside) whose translation differs."""
    other = "en" if lang == "fr" else "fr"
    found = []
    for catalogue in _catalogues():
        for words in catalogue.values():
            text = words.get(lang)
            if not text or text == words.get(other):
                continue
            if len(re.findall(r"[^\W\d_]+", re.sub(r"\{[^}]*\}", " ", text))) >= 3:
                found.append((text, _pattern(text)))
    return found


FOREIGN = {lang: sentences("en" if lang == "fr" else "fr") for lang in LANGS}


def _error_names() -> list[str]:
    seen, todo = set(), [SceauError]
    while todo:
        cls = todo.pop()
        seen.add(cls.__name__)
        todo += cls.__subclasses__()
    return sorted(seen)


LEAKS = re.compile(r"https?://|127\.0\.0\.1|/tmp/|Traceback|\b(" + "|".join(_error_names()) + r")\b")


def assert_speaks_only(lang: str, text: str) -> None:
    """No sentence of the other language in `text`, and nothing technical."""
    english_or_french = [words for words, pattern in FOREIGN[lang] if pattern.search(text)]
    assert not english_or_french, f"{lang} text shows the other language's {english_or_french}:\n{text}"
    leak = LEAKS.search(text)
    assert leak is None, f"technical detail {leak.group(0)!r} shown to a person:\n{text}"


def test_the_catalogues_translate_every_entry() -> None:
    for catalogue in _catalogues():
        for key, words in catalogue.items():
            assert set(words) == {"fr", "en"} and all(words.values()), key
    assert len(FOREIGN["fr"]) > 100 and len(FOREIGN["en"]) > 100
    assert errors.SceauError.__name__ in _error_names()


# ---------------------------------------------------------------- every verdict, built for real


@dataclass(frozen=True)
class Case:
    document: Path
    receipt: Path
    verdict: dict[str, Any]  # what the verifier says, for the expected headline

    def headline(self, lang: str) -> str:
        return i18n.headline(self.verdict, lang)


def cli(*args: str | Path, env: dict[str, str | None] | None = None) -> Result:
    from certifier.cli.commands import cli as sceau

    result = CliRunner().invoke(sceau, [str(a) for a in args], env=env, catch_exceptions=False)
    return result


def _verdict(url: str, chain: Chain, document: Path, receipt: Path) -> dict[str, Any]:
    try:
        verdict: dict[str, Any] = (
            verifier_for(url, chain.deployment).verify_bytes(document.read_bytes(), receipt.read_bytes()).to_dict()
        )
    except SceauError as exc:  # as the page does
        verdict = error_from(exc).to_dict()
    return verdict


@pytest.fixture(scope="module")
def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.fixture(scope="module")
def cases(chain: Chain, dead_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    base = tmp_path_factory.mktemp("verdicts")
    issuer = unique("Université de Test")
    ident = unique("0751717J").replace(" ", "-")
    assert cli("issuer", "create", issuer, "--kind", "diploma", "--id", ident).exit_code == 0
    names = ["valid", "tampered", "unknown", *(f"revoked_{r}" for r in REASONS), "error_unreachable_chain"]
    docs = dict(zip(names, write_docs(base / "now", len(names)), strict=True))
    result = cli("issue", "--issuer", issuer, "--kind", "diploma", "--json", *docs.values())
    assert result.exit_code == 0, result.output
    [docs["expired"]] = write_docs(base / "expired", 1)
    [docs["not_yet_valid"]] = write_docs(base / "later", 1)
    [docs["error_malformed_receipt"]] = write_docs(base / "malformed", 1)
    for name, window in (("expired", ("2020-01-01", "2021-12-31")), ("not_yet_valid", ("2099-01-01", "2099-12-31"))):
        period = ("--valid-from", window[0], "--valid-until", window[1])
        result = cli("issue", "--issuer", issuer, "--kind", "diploma", *period, "--json", docs[name])
        assert result.exit_code == 0, result.output

    def receipt_of(doc: Path) -> Path:
        return doc.with_name(doc.name + ".receipt.json")

    docs["tampered"].write_bytes(docs["tampered"].read_bytes() + b"!")
    receipt_of(docs["unknown"]).write_text(never_anchored_receipt(docs["unknown"]).to_json())
    for reason in REASONS:
        result = cli("revoke", "--issuer", issuer, "--reason", reason, docs[f"revoked_{reason}"])
        assert result.exit_code == 0, result.output
    docs["untrusted"], _ = forged_doctorate(chain, base)
    receipt_of(docs["error_malformed_receipt"]).write_text('{"version": "not a receipt"}')

    built = {}
    for name, expected in CASES.items():
        url = dead_url if name == "error_unreachable_chain" else chain.url
        verdict = _verdict(url, chain, docs[name], receipt_of(docs[name]))
        assert verdict["verdict"] == expected, (name, verdict)
        built[name] = Case(docs[name], receipt_of(docs[name]), verdict)
    assert {c.verdict["errorCode"] for n, c in built.items() if n.startswith("error")} == {
        "error.malformed_receipt",
        "error.chain_unreachable",
    }
    return built


# ---------------------------------------------------------------- servers and the browser


@pytest.fixture(scope="module")
def unreachable_server(dead_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A verifier whose node cannot be reached: its error must not show the node's address."""
    yield from serve(create_app({"SCEAU_RPC_URL": dead_url, "SCEAU_STORAGE": str(tmp_path_factory.mktemp("u"))}))


@pytest.fixture(scope="module")
def pages(browser: Any) -> Iterator[dict[str, Any]]:
    """One tab per language, its browser set to that language (Accept-Language)."""
    contexts = {lang: browser.new_context(locale="fr-FR" if lang == "fr" else "en-GB") for lang in LANGS}
    yield {lang: ctx.new_page() for lang, ctx in contexts.items()}
    for ctx in contexts.values():
        ctx.close()


def rendered(page: Any) -> str:
    """What a person reads: the title and the text as rendered."""
    return f"{page.title()}\n{page.locator('body').inner_text()}"


# ---------------------------------------------------------------- the verifier page


@pytest.mark.parametrize("lang", LANGS)
def test_the_page_form_and_its_problem_speak_one_language(pages: dict[str, Any], server: str, lang: str) -> None:
    page = pages[lang]
    page.goto(server + "/")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.get_by_role("heading", level=1).inner_text() == i18n.t("title", lang)
    assert_speaks_only(lang, rendered(page))
    page.locator("button[type=submit]").click()  # nothing given
    assert page.locator(".problem").inner_text() == i18n.t("missing", lang)
    assert_speaks_only(lang, rendered(page))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", list(CASES))
def test_every_verdict_on_the_page_speaks_one_language(
    pages: dict[str, Any], server: str, unreachable_server: str, cases: dict[str, Case], name: str, lang: str
) -> None:
    case, page = cases[name], pages[lang]
    page.goto((unreachable_server if name == "error_unreachable_chain" else server) + "/")
    page.locator("#file").set_input_files(str(case.document))
    page.locator("#receipt").set_input_files(str(case.receipt))
    page.locator("button[type=submit]").click()
    headline = page.locator("#headline")
    headline.wait_for()
    assert page.locator("html").get_attribute("lang") == lang
    assert headline.inner_text() == case.headline(lang)
    text = rendered(page)
    assert_speaks_only(lang, text)
    for check in case.verdict["checks"]:  # every check in the words of its code
        assert messages.message(check["code"], check["params"], lang) in text
    if name == "expired":  # the last valid day, as the registrar typed it
        assert ("31/12/2021" if lang == "fr" else "2021-12-31") in headline.inner_text()
    if name.startswith("revoked_"):
        assert messages.REASONS[name.removeprefix("revoked_")][lang] in headline.inner_text()


# ---------------------------------------------------------------- the console


@pytest.fixture(scope="module")
def console_docs(served_app: Any, chain: Chain) -> tuple[str, str, list[str]]:
    """An issuer with three confirmed documents valid until 2031-06-30, and a console token."""
    import io

    from certifier.service.auth import create_token
    from certifier.worker.anchoring import Worker
    from tests.pdfs import diploma_pdf

    issuer = unique("Université de Test")
    ident = unique("0751717J").replace(" ", "-")
    assert cli("issuer", "create", issuer, "--kind", "diploma", "--id", ident).exit_code == 0
    ctx = served_app.extensions["sceau"]
    with ctx.sessions() as s:
        _, secret = create_token(s, issuer, ["issue", "revoke", "read"])
        s.commit()
    client, auth = served_app.test_client(), {"Authorization": f"Bearer {secret}"}
    ids = []
    for i in range(3):
        response = client.post(
            "/api/v1/documents",
            data={
                "file": (io.BytesIO(diploma_pdf(f"Licence - Lou Martin{i}")), f"lou{i}.pdf"),
                "validUntil": "2031-06-30",
            },
            headers=auth,
            content_type="multipart/form-data",
        )
        assert response.status_code == 202, response.text
        ids.append(response.get_json()["documents"][0]["id"])
    assert client.post("/api/v1/batches", headers=auth).status_code == 202  # the three pending
    Worker(ctx.sessions, ctx.w3, ctx.deployment, ctx.settings, issuers={issuer}).run_until_idle()
    return issuer, secret, ids


@pytest.mark.parametrize("lang", LANGS)
def test_every_console_page_speaks_one_language(
    pages: dict[str, Any], server: str, console_docs: tuple[str, str, list[str]], lang: str
) -> None:
    issuer, secret, ids = console_docs
    page, doc_id = pages[lang], ids[LANGS.index(lang)]

    def h1() -> str:
        return str(page.get_by_role("heading", level=1).inner_text())

    def words(key: str, **params: Any) -> str:
        return console_text.t(key, lang, **params)

    page.goto(server + "/console/login")
    assert page.locator("html").get_attribute("lang") == lang and h1() == words("login_title")
    assert_speaks_only(lang, rendered(page))
    page.locator("#token").fill("sceau_not_a_token")
    page.locator("main button[type=submit]").click()
    assert page.locator(".problem").inner_text() == words("login_refused")
    assert_speaks_only(lang, rendered(page))

    page.locator("#token").fill(secret)
    page.locator("main button[type=submit]").click()
    assert h1() == issuer  # home: batches and documents
    text = rendered(page)
    assert words("batches") in text and console_text.status("confirmed", lang) in text
    assert_speaks_only(lang, text)

    page.goto(f"{server}/console/documents/{doc_id}")  # one document, valid until its last day inclusive
    last_day = "30/06/2031" if lang == "fr" else "2031-06-30"
    assert page.locator("#validity").inner_text() == messages.MESSAGES["validity.until"][lang].format(last_day=last_day)
    assert_speaks_only(lang, rendered(page))

    reason = "key_compromise"
    page.goto(f"{server}/console/documents/{doc_id}/revoke?reason={reason}")  # the confirmation
    assert h1() == words("confirm_question", name=f"lou{LANGS.index(lang)}.pdf")
    assert words("cannot_undo") in rendered(page)
    assert_speaks_only(lang, rendered(page))
    page.locator("main form button[type=submit]").click()
    flash = page.locator(".flash.ok").inner_text()
    assert flash == words("queued", name=f"lou{LANGS.index(lang)}.pdf", reason=messages.REASONS[reason][lang])
    assert_speaks_only(lang, rendered(page))

    page.goto(f"{server}/console/documents/no-such-document")  # a problem page
    assert page.locator(".problem").inner_text() == words("not_found")
    assert_speaks_only(lang, rendered(page))


# ---------------------------------------------------------------- the bulk report


@pytest.fixture(scope="module")
def bulk_folder(cases: dict[str, Case], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every case the session's node can decide, one file each with its receipt beside it."""
    folder = tmp_path_factory.mktemp("bulk")
    for name, case in cases.items():
        if name == "error_unreachable_chain":
            continue
        shutil.copy(case.document, folder / f"{name}.pdf")
        shutil.copy(case.receipt, folder / f"{name}.pdf.receipt.json")
    return folder


@pytest.mark.parametrize("lang", LANGS)
def test_the_html_bulk_report_speaks_the_locales_language(
    pages: dict[str, Any], bulk_folder: Path, cases: dict[str, Case], lang: str
) -> None:
    locale = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": "fr_FR.UTF-8" if lang == "fr" else "en_GB.UTF-8"}
    report = cli("verify", "--bulk", bulk_folder, "--format", "html", env=locale).output
    page = pages[lang]
    page.set_content(report)
    assert page.locator("html").get_attribute("lang") == lang
    assert page.get_by_role("heading", level=1).inner_text() == i18n.REPORT["title"][lang]
    assert_speaks_only(lang, rendered(page))
    rows = page.locator("tbody tr")
    assert rows.count() == len(cases) - 1
    for i in range(rows.count()):
        row = rows.nth(i)
        name = row.locator("td").first.inner_text().removesuffix(".pdf")
        outcome = CASES[name]
        assert row.get_attribute("data-verdict") == outcome
        assert row.locator("td").nth(1).inner_text() == i18n.VERDICTS[outcome][lang]


def test_the_bulk_endpoint_and_csv_report_speak_the_asked_language(
    served_app: Any, chain: Chain, bulk_folder: Path, cases: dict[str, Case]
) -> None:
    import csv
    import io

    from verifier import bulk

    files = [("file", p) for p in sorted(bulk_folder.iterdir()) if not p.name.endswith(".receipt.json")]
    receipts = [("receipt", p) for p in sorted(bulk_folder.iterdir()) if p.name.endswith(".receipt.json")]

    def ask(query: str, **headers: str) -> str:
        data = {
            field: [(io.BytesIO(p.read_bytes()), p.name) for f, p in files + receipts if f == field]
            for field in ("file", "receipt")
        }
        response = served_app.test_client().post(
            "/api/v1/verify/bulk" + query, data=data, headers=headers, content_type="multipart/form-data"
        )
        assert response.status_code == 200, response.text
        return str(response.text)

    assert '<html lang="fr">' in ask("?format=html", **{"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="en">' in ask("?format=html&lang=en", **{"Accept-Language": "fr"})
    assert '<html lang="fr">' in ask("?format=html&lang=fr")

    lines = bulk.verify_items(bulk.collect(bulk_folder), verifier_for(chain.url, chain.deployment))
    rows = list(csv.DictReader(io.StringIO(bulk.report_csv(lines, "fr"))))
    valid = next(r for r in rows if r["fichier"] == "valid.pdf")
    assert valid["verdict"] == "valid" and valid["résultat"] == "valide"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", valid["ancré le"])  # ISO 8601 UTC, not Unix seconds
    malformed = next(r for r in rows if r["fichier"] == "error_malformed_receipt.pdf")
    assert malformed["verdict"] == "error" and malformed["code"].startswith("error.")
    assert not LEAKS.search(bulk.report_csv(lines, "fr") + bulk.report_csv(lines))
    english = list(csv.DictReader(io.StringIO(bulk.report_csv(lines))))
    assert next(r for r in english if r["file"] == "revoked_fraud.pdf")["revocation"] == "fraud"
