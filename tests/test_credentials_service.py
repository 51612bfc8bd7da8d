"""Issue 11 through the issuer service: a document submitted with ``credential`` gets a Verifiable
Credential in its own batch (document at leaf 2i, credential at 2i + 1), signed by the worker once
the batch is confirmed, served by GET /api/v1/documents/{id}/credential and the console; revoking
the document through the API revokes both leaves in one transaction, and the worker publishes the
status list again (CREDENTIAL.md)."""

from __future__ import annotations

import io
import json
import time
from typing import Any

from tests.conftest import Chain, Service, verifier_for
from tests.pdfs import diploma_pdf
from tests.test_console import login
from tests.test_credentials import FIELDS, js_verify

PUBLIC_URL = "http://127.0.0.1:8000"  # the service's default public URL (SCEAU_PUBLIC_URL unset)


def submit_pdf(service: Service, auth: dict[str, str], data: bytes, **form: str) -> str:
    response = service.client.post(
        "/api/v1/documents",
        data={"file": (io.BytesIO(data), "dupont.pdf"), **form},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    doc_id: str = response.get_json()["documents"][0]["id"]
    return doc_id


def status_list(service: Service, credential: dict[str, Any]) -> Any:
    path = credential["credentialStatus"]["statusListCredential"].removeprefix(PUBLIC_URL)
    return service.client.get(path)


def test_a_credential_through_the_api_the_worker_and_the_console(
    service: Service, chain: Chain, issuer: str, ministry: Any
) -> None:
    from verifier.core.verdict import Outcome
    from verifier.credentials.verify import verify_credential

    auth = service.token(issuer)
    data = diploma_pdf(f"Master de chimie - Jeanne Dupont {time.time_ns()}")
    doc_id = submit_pdf(service, auth, data, credential="1", fields=json.dumps(FIELDS))
    plain_id = submit_pdf(service, auth, diploma_pdf(f"Licence - Paul Martin {time.time_ns()}"))
    assert service.client.get(f"/api/v1/documents/{doc_id}/credential", headers=auth).status_code == 409
    assert service.client.get(f"/api/v1/documents/{plain_id}/credential", headers=auth).status_code == 404
    batch = service.client.post("/api/v1/batches", headers=auth).get_json()["batches"][0]
    assert batch["documentCount"] == 3  # the two documents and one credential
    service.worker().run_until_idle()

    answer = service.client.get(f"/api/v1/documents/{doc_id}/credential", headers=auth)
    assert answer.status_code == 200 and answer.mimetype == "application/vc"
    credential = answer.get_json(force=True)
    asked = service.client.get(f"/api/v1/documents/{doc_id}/credential", headers={**auth, "Accept": "application/json"})
    assert asked.mimetype == "application/json" and asked.get_json() == credential
    assert service.client.get(f"/api/v1/documents/{doc_id}", headers=auth).get_json()["credential"] is True
    assert credential["type"] == ["VerifiableCredential", "AchievementCredential"]
    assert credential["credentialSubject"]["displayedFields"] == FIELDS
    # the credential's leaf follows its document's, in the same batch
    assert credential["evidence"][0]["leafIndex"] == 0
    assert credential["anchorReceipt"]["document"]["index"] == 1
    receipt = service.client.get(f"/api/v1/documents/{doc_id}/receipt", headers=auth).get_json(force=True)
    assert receipt["anchor"]["root"] == credential["anchorReceipt"]["anchor"]["root"]

    served = status_list(service, credential)
    assert served.status_code == 200, served.get_json()
    js = js_verify(credential, served.get_json(force=True))
    assert js["verified"] is True, js
    assert js["status"] == {"checked": True, "verified": True, "revoked": False, "error": None}
    verdict = verify_credential(answer.data, ministry)
    assert verdict.outcome is Outcome.VALID, verdict.to_dict()
    pdf = service.client.get(f"/api/v1/documents/{doc_id}/certified.pdf", headers=auth)
    assert pdf.status_code == 200 and ministry.verify_bytes(pdf.data, None).outcome is Outcome.VALID
    plain_pdf = service.client.get(f"/api/v1/documents/{plain_id}/certified.pdf", headers=auth)
    assert ministry.verify_bytes(plain_pdf.data, None).outcome is Outcome.VALID  # the plain document's leaf: 2

    console = login(service, issuer)
    page = console.get(f"/console/documents/{doc_id}?lang=fr").text
    assert f"/console/documents/{doc_id}/credential" in page and "attestation numérique" in page
    assert f"/console/documents/{plain_id}/credential" not in console.get(f"/console/documents/{plain_id}").text
    assert f"/console/documents/{doc_id}/credential" in console.get("/console/?lang=en").text
    download = console.get(f"/console/documents/{doc_id}/credential")
    assert download.status_code == 200 and json.loads(download.data) == credential
    assert "dupont.pdf.credential.json" in download.headers["Content-Disposition"]

    # one revocation through the API: the PDF and its credential, the same reason, one transaction
    revoked = service.client.post(f"/api/v1/documents/{doc_id}/revocation", json={"reason": "fraud"}, headers=auth)
    assert revoked.status_code == 202
    service.worker().run_until_idle()
    state = service.client.get(f"/api/v1/documents/{doc_id}", headers=auth).get_json()
    assert state["revocation"]["status"] == "confirmed"
    fresh = verifier_for(chain.url, chain.deployment)  # no head read before the revocation
    try:
        check_revoked(service, credential, answer.data, pdf.data, plain_pdf.data, fresh)
    finally:
        fresh.close()


def check_revoked(
    service: Service, credential: dict[str, Any], data: bytes, pdf: bytes, plain_pdf: bytes, ministry: Any
) -> None:
    from verifier.core.verdict import Outcome
    from verifier.credentials.verify import verify_credential

    document = ministry.verify_bytes(pdf, None)
    assert document.outcome is Outcome.REVOKED and document.revocation is not None
    verdict = verify_credential(data, ministry)
    assert verdict.outcome is Outcome.REVOKED and verdict.revocation is not None
    assert verdict.revocation["reason"] == document.revocation["reason"] == "fraud"
    assert [c.ok for c in verdict.checks if c.id == "revocation"] == [False]  # its own leaf, not only the PDF's
    served = status_list(service, credential)
    assert served.status_code == 200, served.get_json()  # published again by the worker
    js = js_verify(credential, served.get_json(force=True))
    assert js["status"] == {"checked": True, "verified": True, "revoked": True, "error": None}
    assert ministry.verify_bytes(plain_pdf, None).outcome is Outcome.VALID


def test_json_documents_and_refusals(service: Service, issuer: str) -> None:
    import os

    auth = service.token(issuer)
    body = {"documents": [{"sha256": os.urandom(32).hex(), "credential": "yes"}]}
    refused = service.client.post("/api/v1/documents", json=body, headers=auth)
    assert refused.status_code == 400 and "credential" in refused.get_json()["problems"][0]
    bad_form = service.client.post(
        "/api/v1/documents",
        data={"file": (io.BytesIO(b"%PDF-1.7 x"), "x.pdf"), "credential": "maybe"},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert bad_form.status_code == 400
    body = {"documents": [{"sha256": os.urandom(32).hex(), "credential": True, "kind": "transcript"}]}
    made = service.client.post("/api/v1/documents", json=body, headers=auth)
    assert made.status_code == 202
    doc_id = made.get_json()["documents"][0]["id"]
    service.client.post("/api/v1/batches", headers=auth)
    service.worker().run_until_idle()
    credential = service.client.get(f"/api/v1/documents/{doc_id}/credential", headers=auth).get_json(force=True)
    assert credential["type"] == ["VerifiableCredential", "SceauCredential"]  # not a diploma: the plain profile


def test_a_roster_with_credentials(service: Service, issuer: str, ministry: Any) -> None:
    import os

    from tests.test_rosters import HEADER, make_zip, post
    from verifier.core.verdict import Outcome
    from verifier.credentials.verify import verify_credential

    auth = service.token(issuer)
    pdfs = {f"m/{i}.pdf": b"%PDF-1.7 " + os.urandom(300) for i in range(2)}
    roster = HEADER + "".join(f"C26-{i},Dupont-{i},Jeanne,Master Physique,2026-07-01,m/{i}.pdf\n" for i in range(2))
    answer = post(service, auth, roster.encode(), make_zip(pdfs), credential="1")
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["batch"]["documentCount"] == 4
    service.worker().run_until_idle()
    for i, doc in enumerate(answer.get_json()["documents"]):
        data = service.client.get(f"/api/v1/documents/{doc['id']}/credential", headers=auth).data
        credential = json.loads(data)
        assert credential["evidence"][0]["leafIndex"] == 2 * i
        assert credential["anchorReceipt"]["document"]["index"] == 2 * i + 1
        assert verify_credential(data, ministry).outcome is Outcome.VALID


def test_sceau_issue_with_credential_fields_and_certified_pdf(
    chain: Chain, issuer: str, sceau: Any, tmp_path: Any, ministry: Any
) -> None:
    from verifier.core.verdict import Outcome
    from verifier.credentials.verify import verify_credential

    pdf = tmp_path / "dupont.pdf"
    pdf.write_bytes(diploma_pdf(f"Master de chimie - Jeanne Dupont {time.time_ns()}"))
    fields = [f"--field={k}={v}" for k, v in FIELDS.items()]
    made = sceau("issue", "--issuer", issuer, "--credential", "--certified-pdf", "--json", *fields, pdf)
    assert made.exit_code == 0, made.output
    out = json.loads(made.output)
    assert out["credentials"] == [str(tmp_path / "dupont.pdf.credential.json")]
    data = (tmp_path / "dupont.pdf.credential.json").read_bytes()
    credential = json.loads(data)
    assert credential["credentialSubject"]["displayedFields"] == FIELDS
    assert credential["anchorReceipt"]["document"]["index"] == 1
    assert verify_credential(data, ministry).outcome is Outcome.VALID
    certified = (tmp_path / "dupont.certified.pdf").read_bytes()
    assert ministry.verify_bytes(certified, None).outcome is Outcome.VALID
    assert ministry.verify_path(pdf, None).outcome is Outcome.VALID


def test_the_console_roster_form_asks_for_credentials(service: Service, issuer: str) -> None:
    import os
    import re

    from tests.test_console import csrf
    from tests.test_rosters import HEADER, make_zip

    client = login(service, issuer)
    home = client.get("/console/?lang=fr")
    assert 'name="credential"' in home.text
    pdfs = {f"{i}.pdf": b"%PDF-1.7 " + os.urandom(300) for i in range(2)}
    roster = HEADER + "".join(f"K-{i},Nom{i},Prenom,Licence,2026-06-30,{i}.pdf\n" for i in range(2))
    response = client.post(
        "/console/rosters?lang=en",
        data={
            "csrf_token": csrf(home.text),
            "roster": (io.BytesIO(roster.encode()), "r.csv"),
            "archive": (io.BytesIO(make_zip(pdfs)), "a.zip"),
            "credential": "1",
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "2 documents accepted as one batch" in response.text
    service.worker().run_until_idle()
    page = client.get("/console/").text
    assert len(re.findall(r'/console/documents/[0-9a-f]+/credential"', page)) == 2
