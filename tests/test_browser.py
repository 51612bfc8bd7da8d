"""The verifier page in a real browser (Debian's Chromium driven by Playwright): drop a certified
PDF, drop a tampered one, switch the language, keyboard only. Screenshots of the key pages are
saved under tests/artifacts/ and checked not to be blank."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat

from tests.conftest import CHROMIUM, issue_certified_pdf, seal_args
from tests.pdfs import diploma_pdf, shadow_update

ARTIFACTS = Path(__file__).parent / "artifacts"
# Skipped without Chromium on a developer's machine; never under CI=true, where it must be there.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true", reason="Debian's chromium is not installed (make install)"
)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="fr-FR", java_script_enabled=True)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def certified(sceau: Any, issuer: str, tmp_path: Path) -> Path:
    return issue_certified_pdf(sceau, issuer, tmp_path, "Master Chimie - Jeanne Dupont")


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    with Image.open(path) as img:
        extrema = ImageStat.Stat(img.convert("L")).extrema[0]
    assert extrema[1] - extrema[0] > 100, f"{path} looks blank"
    return path


def test_drop_a_certified_pdf_and_read_authentique(page: Any, server: str, certified: Path, issuer: str) -> None:
    page.goto(server + "/")
    assert page.locator("html").get_attribute("lang") == "fr"  # the browser's language
    shot(page, "verifier-home-fr")
    page.get_by_label("Document (PDF certifié ou tout fichier)").set_input_files(str(certified))
    page.get_by_role("button", name="Vérifier").click()
    headline = page.locator("#headline")
    headline.wait_for()
    assert "authentique" in headline.inner_text() and issuer in headline.inner_text()
    assert page.locator(".check.ok").count() == 8 and page.locator(".check.ko").count() == 0
    shot(page, "verifier-valid-fr")


def test_drop_a_tampered_pdf_and_see_the_failure(page: Any, server: str, certified: Path, tmp_path: Path) -> None:
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(shadow_update(certified.read_bytes(), "Doctorat - Jeanne Dupont"))
    page.goto(server + "/")
    page.get_by_label("Document (PDF certifié ou tout fichier)").set_input_files(str(forged))
    page.get_by_role("button", name="Vérifier").click()
    assert "non authentique" in page.locator("#headline").inner_text()
    assert page.locator('.check.ko[data-check="certified_pdf"]').count() == 1
    shot(page, "verifier-tampered-fr")


def test_a_phone_opening_the_seal_link_sees_the_words_the_paper_must_carry(
    page: Any, server: str, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    """The QR of a seal may be a link (BASE/#SC1:…): the page reads the fragment, which never
    reaches a server, and verifies it."""
    from verifier.core.seal import seal_url

    result = sceau(*seal_args(issuer, tmp_path / "s.png", "holder=Léa Rousseau", "degree=Licence de droit"))
    assert result.exit_code == 0, result.output
    page.goto(seal_url(server, json.loads(result.output)["seal"]))
    headline = page.locator("#headline")
    headline.wait_for()
    assert "authentique" in headline.inner_text() and issuer in headline.inner_text()
    words = page.locator("dl.fields").inner_text()
    assert "Titulaire" in words and "Léa Rousseau" in words and "Licence de droit" in words
    assert "#" not in page.url  # the seal does not linger in the address bar or history
    shot(page, "verifier-seal-link-fr")


def test_switch_the_language_and_it_stays(page: Any, server: str) -> None:
    page.goto(server + "/")
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Verify a document"
    page.goto(server + "/")
    assert page.locator("html").get_attribute("lang") == "en"  # remembered
    shot(page, "verifier-home-en")


def test_the_form_works_with_javascript_disabled_and_by_keyboard(browser: Any, server: str, certified: Path) -> None:
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    page.goto(server + "/")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip"
    page.get_by_label("Document (certified PDF or any file)").set_input_files(str(certified))
    page.get_by_label("Document (certified PDF or any file)").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Verify"
    page.keyboard.press("Enter")
    page.locator("#headline").wait_for()
    assert page.locator("#headline").inner_text().startswith("Authentic diploma, issued by")
    context.close()


def test_revoke_from_the_console_and_the_verifier_reports_it(
    browser: Any, served_app: Any, server: str, issuer: str, tmp_path: Path
) -> None:
    import zipfile

    from certifier.service.auth import create_token
    from certifier.worker.anchoring import Worker

    ctx = served_app.extensions["sceau"]
    with ctx.sessions() as s:
        _, secret = create_token(s, issuer, ["issue", "revoke", "read"])
        s.commit()
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "reference,family_name,given_names,degree,date,file\n"
        + "".join(f"B-{i},Martin{i},Lou,Licence,2026-06-30,lou{i}.pdf\n" for i in range(3))
    )
    archive = tmp_path / "pdfs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(3):
            zf.writestr(f"lou{i}.pdf", diploma_pdf(f"Licence - Lou Martin{i}"))
    context = browser.new_context(locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    page.goto(server + "/console/login")
    page.get_by_label("Jeton d'API").fill(secret)  # the browser is French: so is the console
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("Liste de la promotion (CSV").set_input_files(str(roster))
    page.get_by_label("Les PDF (ZIP)").set_input_files(str(archive))
    with page.expect_navigation():  # after its message, the page reloads itself: let it, before moving on
        page.get_by_role("button", name="Envoyer la promotion").click()
        page.get_by_text("3 documents acceptés en un seul lot").wait_for()
        assert page.locator("#progress").get_attribute("value") == "100"  # the upload's progress bar
    Worker(ctx.sessions, ctx.w3, ctx.deployment, ctx.settings, issuers={issuer}).run_until_idle()
    page.goto(server + "/console/")
    shot(page, "console-batches")
    row = page.locator("tr", has_text="lou0.pdf")
    with page.expect_download() as download:
        row.get_by_role("link", name="PDF certifié").click()
    certified = tmp_path / "lou0.certified.pdf"
    download.value.save_as(str(certified))
    row.get_by_label("Motif pour lou0.pdf").select_option("fraud")
    row.get_by_role("button", name="Révoquer").click()
    page.get_by_role("button", name="Confirmer la révocation").click()  # the console's confirmation step
    page.get_by_text("mise en file d'attente (fraude)").wait_for()
    Worker(ctx.sessions, ctx.w3, ctx.deployment, ctx.settings, issuers={issuer}).run_until_idle()

    page.goto(server + "/")
    page.get_by_label("Document (PDF certifié ou tout fichier)").set_input_files(str(certified))
    page.get_by_role("button", name="Vérifier").click()
    headline = page.locator("#headline").inner_text()
    assert "révoqué" in headline and "fraude" in headline
    shot(page, "verifier-revoked-fr")
    context.close()
