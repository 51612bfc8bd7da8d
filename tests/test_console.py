"""The issuer console, driven through its HTML forms: log in with a token, submit a cohort,
follow the batch, revoke a document, download receipts and certified PDFs."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from pypdf import PdfReader

from tests.conftest import Chain, Service, verifier_for
from tests.pdfs import diploma_pdf

HEADER = "reference,family_name,given_names,degree,date,file\n"


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def login(service: Service, issuer: str, scopes: str = "issue,revoke,read") -> Any:
    secret = service.token(issuer, scopes)["Authorization"].removeprefix("Bearer ")
    client = service.app.test_client()
    form = client.get("/console/login").text
    response = client.post("/console/login", data={"token": secret, "csrf_token": csrf(form)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/")
    return client


def test_login_is_required_and_bad_tokens_are_refused(service: Service) -> None:
    client = service.app.test_client()
    assert client.get("/console/").status_code == 302
    form = client.get("/console/login").text
    response = client.post("/console/login", data={"token": "sceau_nope", "csrf_token": csrf(form)})
    assert response.status_code == 401 and "Unknown API token" in response.text
    assert "sceau_nope" not in response.text  # what was typed is not echoed back


def test_the_console_speaks_the_browsers_language_and_can_be_switched(service: Service) -> None:
    client = service.app.test_client()
    fr = client.get("/console/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in fr.text and "Jeton d&#39;API" in fr.text and fr.headers["Content-Language"] == "fr"
    refused = client.post(
        "/console/login", data={"token": "sceau_nope", "csrf_token": csrf(fr.text)}, headers={"Accept-Language": "fr"}
    )
    assert "Jeton d&#39;API inconnu ou révoqué" in refused.text
    switched = client.get("/console/login?lang=en", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in switched.text and "lang=en" in switched.headers["Set-Cookie"]
    assert '<html lang="en">' in client.get("/console/login", headers={"Accept-Language": "fr"}).text


def test_submit_a_cohort_revoke_one_and_download_certified_copies(service: Service, chain: Chain, issuer: str) -> None:
    client = login(service, issuer)
    home = client.get("/console/")
    assert home.status_code == 200 and issuer in home.text
    pdfs = {f"{i}.pdf": diploma_pdf(f"Licence Histoire - Etudiant {i}") for i in range(3)}
    roster = HEADER + "".join(f"L-{i},Nom{i},Prenom,Licence,2026-06-30,{i}.pdf\n" for i in range(3))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in pdfs.items():
            zf.writestr(name, data)
    response = client.post(
        "/console/rosters",
        data={
            "csrf_token": csrf(home.text),
            "roster": (io.BytesIO(roster.encode()), "r.csv"),
            "archive": (io.BytesIO(buf.getvalue()), "a.zip"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "3 documents accepted as one batch" in response.text
    service.worker().run_until_idle()
    page = client.get("/console/").text
    assert "confirmed" in page
    doc_ids = re.findall(r'data-document="([0-9a-f]+)"', page)
    assert len(doc_ids) == 3

    pdf = client.get(f"/console/documents/{doc_ids[0]}/certified.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "sceau-receipt.json" in PdfReader(io.BytesIO(pdf.data)).attachments
    assert verifier_for(chain.url, chain.deployment).verify_bytes(pdf.data, None).outcome.value == "valid"
    one = client.get(f"/console/documents/{doc_ids[0]}?lang=fr").text
    assert "valable jusqu&#39;au" in one or "sans date d&#39;expiration" in one
    client.get("/console/?lang=en")
    receipt = client.get(f"/console/documents/{doc_ids[0]}/receipt")
    assert receipt.status_code == 200 and "attachment" in receipt.headers["Content-Disposition"]

    confirm = client.get(f"/console/documents/{doc_ids[0]}/revoke?reason=fraud")
    assert confirm.status_code == 200 and "This cannot be undone" in confirm.text
    response = client.post(
        f"/console/documents/{doc_ids[0]}/revoke",
        data={"csrf_token": csrf(confirm.text), "reason": "fraud", "confirm": "yes"},
        follow_redirects=True,
    )
    assert "revocation of" in response.text and "queued (fraud)" in response.text
    service.worker().run_until_idle()
    assert verifier_for(chain.url, chain.deployment).verify_bytes(pdf.data, None).outcome.value == "revoked"


def test_forms_without_the_csrf_token_are_refused(service: Service, issuer: str) -> None:
    client = login(service, issuer)
    response = client.post("/console/documents/whatever/revoke", data={"reason": "fraud"})
    assert response.status_code == 400


def test_a_read_only_token_sees_but_cannot_issue_or_revoke(service: Service, issuer: str) -> None:
    client = login(service, issuer, "read")
    page = client.get("/console/").text
    assert "Issue a cohort" not in page and '<button type="submit">Revoke</button>' not in page
    response = client.post("/console/rosters", data={"csrf_token": csrf(page)}, follow_redirects=True)
    assert "lacks the &#39;issue&#39; scope" in response.text


def test_the_api_serves_certified_copies_too(service: Service, chain: Chain, issuer: str) -> None:
    auth = service.token(issuer)
    data = diploma_pdf("Master Droit - Paul Martin")
    response = service.client.post(
        "/api/v1/documents",
        data={"file": (io.BytesIO(data), "m.pdf")},
        headers=auth,
        content_type="multipart/form-data",
    )
    doc_id = response.get_json()["documents"][0]["id"]
    assert service.client.get(f"/api/v1/documents/{doc_id}/certified.pdf", headers=auth).status_code == 409
    service.client.post("/api/v1/batches", headers=auth)
    service.worker().run_until_idle()
    pdf = service.client.get(f"/api/v1/documents/{doc_id}/certified.pdf", headers=auth)
    assert pdf.status_code == 200 and pdf.data.startswith(data)
    assert verifier_for(chain.url, chain.deployment).verify_bytes(pdf.data, None).outcome.value == "valid"
