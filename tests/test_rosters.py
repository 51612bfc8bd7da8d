"""Cohort issuance from a CSV roster and a ZIP of PDFs: one batch when all is well; every problem
at once, and nothing written, when not."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from typing import Any

from tests.conftest import Chain, Service, verifier_for
from verifier.core.receipt import Receipt
from verifier.verify import verify_document

HEADER = "reference,family_name,given_names,degree,date,file\n"


def make_zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return buf.getvalue()


def post(service: Service, auth: dict[str, str], roster: bytes, archive: bytes, **form: str) -> Any:
    data: dict[str, Any] = {
        "roster": (io.BytesIO(roster), "roster.csv"),
        "archive": (io.BytesIO(archive), "pdfs.zip"),
        **form,
    }
    return service.client.post("/api/v1/rosters", data=data, headers=auth, content_type="multipart/form-data")


def counts(service: Service) -> tuple[int, int]:
    from sqlalchemy import func, select

    from certifier.store.db import Batch, Document

    with service.ctx.sessions() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Document)) or 0),
            int(s.scalar(select(func.count()).select_from(Batch)) or 0),
        )


def test_a_cohort_becomes_one_batch_and_every_diploma_verifies(service: Service, chain: Chain, issuer: str) -> None:
    auth = service.token(issuer)
    pdfs = {f"master/{i:03}.pdf": b"%PDF-1.7 " + os.urandom(3000) for i in range(12)}
    roster = HEADER + "".join(
        f"M26-{i:03},Dupont-{i},Jeanne Marie,Master Physique,2026-07-01,master/{i:03}.pdf\n" for i in range(12)
    )
    response = post(service, auth, roster.encode(), make_zip(pdfs))
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["batch"]["documentCount"] == 12 and len(body["documents"]) == 12
    service.worker().run_until_idle()
    for i, d in enumerate(body["documents"]):
        state = service.client.get(f"/api/v1/documents/{d['id']}", headers=auth).get_json()
        assert state["status"] == "confirmed" and state["reference"] == f"M26-{i:03}"
        receipt = Receipt.from_json(service.client.get(f"/api/v1/documents/{d['id']}/receipt", headers=auth).data)
        assert receipt.document.valid_from == 1782864000  # 2026-07-01, the diploma's date
        digest = hashlib.sha256(pdfs[f"master/{i:03}.pdf"]).digest()
        assert verify_document(digest, receipt, verifier_for(chain.url, chain.deployment)).outcome.value == "valid"


def test_a_semicolon_excel_roster_with_bom_is_read(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    roster = "\ufeffreference;family_name;given_names;degree;date;file\nL1;Martin;Paul;Licence;2026-06-30;a.pdf\n"
    response = post(service, auth, roster.encode("utf-8"), make_zip({"a.pdf": b"%PDF a"}))
    assert response.status_code == 202, response.get_json()


def test_every_problem_is_reported_at_once_and_nothing_is_written(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    before = counts(service)
    stored = sorted(p.name for p in service.ctx.storage.rglob("*"))
    roster = HEADER + (
        "R1,Durand,Luc,Master,2026-07-01,one.pdf\n"
        "R1,Petit,Anne,Master,01/07/2026,two.pdf\n"  # duplicate reference, bad date
        "R3,,Marc,Master,2026-07-01,missing.pdf\n"  # empty name, absent file
        "R4,Roux,Eva,Master,2026-07-01\n"  # a field short
        "R5,Blanc,Léa,Master,2026-07-01,one.pdf\n"  # file named twice
    )
    archive = make_zip({"one.pdf": b"%PDF 1", "two.pdf": b"%PDF 2", "stray.pdf": b"%PDF ?"})
    response = post(service, auth, roster.encode(), archive)
    assert response.status_code == 422
    problems = response.get_json()["problems"]
    expected = [
        "roster line 3 reference: 'R1' already on line 2",
        "roster line 3 date: '01/07/2026' is not a date like 2031-06-30",
        "roster line 4 family_name: required",
        "roster line 5: 5 fields, the header has 6",
        "roster line 6 file: 'one.pdf' already on line 2",
    ]
    for p in expected:
        assert p in problems, (p, problems)
    assert counts(service) == before
    assert sorted(p.name for p in service.ctx.storage.rglob("*")) == stored


def test_missing_and_unknown_columns_and_malformed_csv(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    response = post(service, auth, b"reference,name,file\nR1,X,a.pdf\n", make_zip({"a.pdf": b"%PDF"}))
    problems = response.get_json()["problems"]
    assert response.status_code == 422
    assert any("missing column(s): family_name, given_names, degree, date" in p for p in problems)
    assert any("unknown column(s): name" in p for p in problems)
    bad = (HEADER + 'R1,"Unclosed,Luc,Master,2026-07-01,a.pdf\n').encode()
    response = post(service, auth, bad, make_zip({"a.pdf": b"%PDF"}))
    assert response.status_code == 422 and any("malformed CSV" in p for p in response.get_json()["problems"])
    response = post(service, auth, b"\xff\xfe\x00garbage", make_zip({"a.pdf": b"%PDF"}))
    assert response.status_code == 422 and any("not UTF-8" in p for p in response.get_json()["problems"])


def test_path_traversal_and_files_outside_the_roster_are_refused(service: Service, issuer: str, tmp_path: Any) -> None:
    auth = service.token(issuer)
    before = counts(service)
    roster = (HEADER + "R1,A,B,Master,2026-07-01,a.pdf\n").encode()
    archive = make_zip({"a.pdf": b"%PDF", "../../etc/evil.pdf": b"x", "/abs/evil.pdf": b"y"})
    response = post(service, auth, roster, archive)
    assert response.status_code == 422
    problems = response.get_json()["problems"]
    assert "archive entry '../../etc/evil.pdf': refused: path traversal ('..')" in problems
    assert any("'/abs/evil.pdf': refused: absolute" in p for p in problems)
    assert counts(service) == before
    assert not (service.ctx.storage.parent / "etc").exists()


def test_a_zip_bomb_is_refused(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    roster = (HEADER + "R1,A,B,Master,2026-07-01,bomb.pdf\n").encode()
    response = post(service, auth, roster, make_zip({"bomb.pdf": b"\0" * (50 * 1024 * 1024)}))
    assert response.status_code == 422
    assert any("compression ratio" in p and "zip bomb" in p for p in response.get_json()["problems"])


def test_a_zip_lying_about_its_sizes_is_refused(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    archive = bytearray(make_zip({"a.pdf": b"%PDF " + b"A" * 5000}, zipfile.ZIP_STORED))
    # shrink the declared size in the central directory: the entry really holds more
    cd = archive.rfind(b"PK\x01\x02")
    archive[cd + 24 : cd + 28] = (100).to_bytes(4, "little")
    roster = (HEADER + "R1,A,B,Master,2026-07-01,a.pdf\n").encode()
    response = post(service, auth, roster, bytes(archive))
    assert response.status_code == 422
    problems = response.get_json()["problems"]
    assert any("larger than its header says" in p or "corrupt ZIP" in p for p in problems), problems


def test_not_a_zip_and_missing_parts(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    roster = (HEADER + "R1,A,B,Master,2026-07-01,a.pdf\n").encode()
    response = post(service, auth, roster, b"this is not a zip")
    assert response.status_code == 422 and any("not a ZIP" in p for p in response.get_json()["problems"])
    response = service.client.post(
        "/api/v1/rosters", data={"colour": "x"}, headers=auth, content_type="multipart/form-data"
    )
    problems = response.get_json()["problems"]
    assert {"colour: unknown field", "roster: required", "archive: required"} <= set(problems)


def test_a_roster_diploma_s_certified_copy_seals_the_words_it_prints(
    service: Service, chain: Chain, issuer: str
) -> None:
    from tests.pdfs import diploma_pdf
    from verifier.core.seal import Seal
    from verifier.pdf import open_certified
    from verifier.verify_seal import verify_seal

    auth = service.token(issuer)
    pdf = diploma_pdf("Master Physique - Jeanne Marie Dupont")
    roster = HEADER + "M26-001,Dupont,Jeanne Marie,Master Physique,2026-07-01,dupont.pdf\n"
    body = post(service, auth, roster.encode(), make_zip({"dupont.pdf": pdf})).get_json()
    service.worker().run_until_idle()
    doc_id = body["documents"][0]["id"]
    copy = service.client.get(f"/api/v1/documents/{doc_id}/certified.pdf", headers=auth)
    assert copy.status_code == 200
    verifier = verifier_for(chain.url, chain.deployment)
    verdict = verifier.verify_bytes(copy.data, None)
    words = {
        "date": "2026-07-01",
        "degree": "Master Physique",
        "family_name": "Dupont",
        "given_names": "Jeanne Marie",
        "number": "M26-001",
    }
    assert verdict.outcome.value == "valid" and verdict.document["fields"] == words
    certified = open_certified(copy.data)
    assert certified is not None and certified.seal_text is not None
    scanned = verify_seal(Seal.decode(certified.seal_text), verifier)  # the printed copy, checked by its QR
    assert scanned.outcome.value == "valid" and scanned.document["fields"] == words
