"""The verifier's web page, driven without JavaScript through its plain HTML form, in French and
in English (the browser tests drive the same page in Chromium)."""

from __future__ import annotations

import html as html_module
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from certifier.service.app import create_app
from tests.conftest import Chain, issue_certified_pdf, unique
from tests.pdfs import shadow_update


@pytest.fixture
def client(chain: Chain, tmp_path: Path) -> Iterator[Any]:
    app = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url, "SCEAU_STORAGE": str(tmp_path / "s")})
    yield app.test_client()
    app.extensions["sceau"].dispose()


@pytest.fixture
def certified_pdf(sceau: Any, issuer: str, tmp_path: Path) -> Path:
    return issue_certified_pdf(sceau, issuer, tmp_path, "Master Physique - Jeanne Dupont")


class Page:
    def __init__(self, response: Any) -> None:
        self.status_code = response.status_code
        self.text = html_module.unescape(response.text)


def post(client: Any, lang: str, **files: Any) -> Page:
    data = {"lang": lang, **files}
    return Page(client.post("/verify", data=data, content_type="multipart/form-data"))


def test_the_page_speaks_the_browsers_language_and_can_be_switched(client: Any) -> None:
    fr = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert fr.status_code == 200 and '<html lang="fr">' in fr.text and "Vérifier un document" in fr.text
    en = client.get("/", headers={"Accept-Language": "de-DE,en;q=0.8"})
    assert '<html lang="en">' in en.text and "Verify a document" in en.text
    switched = client.get("/?lang=en", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in switched.text and "lang=en" in switched.headers["Set-Cookie"]
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "fr"}).text  # the cookie wins


def test_every_field_has_a_label_and_nothing_comes_from_elsewhere(client: Any) -> None:
    html = client.get("/").text
    ids = re.findall(r'<(?:input|textarea)[^>]* id="([^"]+)"', html)
    assert ids and all(f'<label for="{i}">' in html for i in ids)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        with client.get(asset) as response:
            assert response.status_code == 200
    assert "default-src 'self'" in client.get("/").headers["Content-Security-Policy"]


def test_an_authentic_certified_pdf_reads_in_plain_french(client: Any, certified_pdf: Path, issuer: str) -> None:
    response = post(client, "fr", file=(certified_pdf.open("rb"), certified_pdf.name))
    assert response.status_code == 200
    html = response.text
    assert f"Diplôme authentique, délivré par {issuer} le 01/07/2026" in html
    assert html.count('class="check ok"') == 8  # certified_pdf, trust_anchor + the six checks
    assert "Chaîne d'accréditation" in html and "Local development root authority" in html
    assert re.search(r"<code>0x[0-9a-f]{64}</code>", html)  # the anchoring transaction


def test_a_tampered_pdf_says_so_in_english(client: Any, certified_pdf: Path, tmp_path: Path) -> None:
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(shadow_update(certified_pdf.read_bytes(), "Doctorat - Jeanne Dupont"))
    html = post(client, "en", file=(forged.open("rb"), forged.name)).text
    assert "Not authentic: the document was altered" in html
    assert 'class="check ko" data-check="certified_pdf"' in html


def test_a_document_with_its_receipt_and_a_pasted_seal(client: Any, sceau: Any, issuer: str, tmp_path: Path) -> None:
    doc = tmp_path / "releve.txt"
    doc.write_text("Relevé de notes, semestre 1")
    assert sceau("issue", "--issuer", issuer, "--kind", "transcript", doc).exit_code == 0
    receipt = doc.with_name(doc.name + ".receipt.json")
    html = post(client, "en", file=(doc.open("rb"), doc.name), receipt=(receipt.open("rb"), receipt.name)).text
    assert f"Authentic transcript, issued by {issuer}" in html

    prefecture = unique("Préfecture de la Gironde")
    assert sceau("issuer", "create", prefecture, "--kind", "residence_permit").exit_code == 0
    sealed = sceau(
        "seal",
        "--issuer",
        prefecture,
        "--field",
        "holder=Ana Souza",
        "--valid-until",
        "2030-01-31",
        "--out",
        tmp_path / "seal.png",
        "--json",
    )
    assert sealed.exit_code == 0, sealed.output
    text = json.loads(sealed.output)["seal"]
    html = post(client, "fr", seal=text).text
    assert f"Titre de séjour authentique, délivré par {prefecture}" in html and "Ana Souza" in html
    photo = tmp_path / "seal.png"
    html = post(client, "fr", seal_image=(photo.open("rb"), "photo.png")).text
    assert "Titre de séjour authentique" in html


def test_an_empty_form_asks_for_a_document(client: Any) -> None:
    response = post(client, "fr")
    assert response.status_code == 400 and "Déposez un document" in response.text and 'role="alert"' in response.text
