"""What people hold: certified PDFs (original untouched, receipt attached, seal stamped) and paper
seals (a signed QR, checked offline against a trust list and online against the chain)."""

from __future__ import annotations

import json
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter
from pypdf import PdfReader

from certifier.service.app import create_app
from tests.conftest import Chain, run_sceau, unique
from tests.pdfs import diploma_pdf, shadow_update, text_of


def verify_json(sceau: Any, *args: str | Path) -> tuple[int, dict[str, Any]]:
    result = sceau("verify", "--json", *args)
    return result.exit_code, json.loads(result.output)


def certified(
    sceau: Any, issuer: str, tmp_path: Path, text: str = "Diplome de Master - Jeanne Dupont"
) -> tuple[Path, Path]:
    original = tmp_path / "dupont.pdf"
    original.write_bytes(diploma_pdf(text))
    out = tmp_path / "out"
    result = sceau("issue", "--issuer", issuer, "--certified-pdf", "--out", out, "--json", original)
    assert result.exit_code == 0, result.output
    [path] = json.loads(result.output)["certifiedPdfs"]
    return original, Path(path)


def test_a_certified_pdf_keeps_the_original_and_verifies_alone(sceau: Any, issuer: str, tmp_path: Path) -> None:
    original, copy = certified(sceau, issuer, tmp_path)
    data = copy.read_bytes()
    assert data.startswith(original.read_bytes()) and len(data) > len(original.read_bytes())
    reader = PdfReader(BytesIO(data))
    assert "sceau-receipt.json" in reader.attachments
    [annot] = [a.get_object() for a in reader.pages[0]["/Annots"]]
    assert annot["/Subtype"] == "/Stamp" and annot["/NM"] == "sceau-seal"
    assert text_of(data) == text_of(original.read_bytes())
    code, verdict = verify_json(sceau, copy)  # no receipt beside it: the PDF carries its own
    assert code == 0 and verdict["verdict"] == "valid", verdict
    assert verdict["checks"][0] == {
        "id": "certified_pdf",
        "ok": True,
        "code": "certified_pdf.ok",
        "params": {},
        "detail": "the file is the certified original plus exactly the receipt and the seal Sceau added",
    }


def test_a_shadow_update_that_changes_what_is_shown_is_refused(sceau: Any, issuer: str, tmp_path: Path) -> None:
    _, copy = certified(sceau, issuer, tmp_path)
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(shadow_update(copy.read_bytes(), "Diplome de Doctorat - Jeanne Dupont"))
    assert "Doctorat" in text_of(forged.read_bytes())
    code, verdict = verify_json(sceau, forged)
    assert code == 1 and verdict["verdict"] == "tampered"
    assert (
        verdict["checks"][0]["ok"] is False and "page 1: the update changes Contents" in verdict["checks"][0]["detail"]
    )


def test_a_certified_pdf_altered_inside_its_original_is_not_authentic(sceau: Any, issuer: str, tmp_path: Path) -> None:
    _, copy = certified(sceau, issuer, tmp_path)
    data = bytearray(copy.read_bytes())
    at = data.index(b"Jeanne Dupont")
    data[at : at + 6] = b"Jeanny"
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(bytes(data))
    code, verdict = verify_json(sceau, forged)
    assert code == 1 and verdict["verdict"] == "tampered"
    assert "no part of this PDF is the certified original" in verdict["checks"][0]["detail"]


def test_the_http_verifier_takes_a_certified_pdf_alone(chain: Chain, sceau: Any, issuer: str, tmp_path: Path) -> None:
    _, copy = certified(sceau, issuer, tmp_path)
    app = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url, "SCEAU_STORAGE": str(tmp_path / "s")})
    client = app.test_client()
    response = client.post(
        "/api/v1/verify", data={"file": (copy.open("rb"), copy.name)}, content_type="multipart/form-data"
    )
    assert response.status_code == 200 and response.get_json()["verdict"] == "valid"
    app.extensions["sceau"].dispose()


def degrade_like_a_scan(png: Path, out: Path) -> None:
    """Print and scan: shrink, blur, rotate slightly, add a grey paper background."""
    with Image.open(png) as img:
        grey = img.convert("L")
        w, h = grey.size
        small = grey.resize((int(w * 0.8), int(h * 0.8)), Image.Resampling.BILINEAR)
        blurred = small.filter(ImageFilter.GaussianBlur(0.8))
        rotated = blurred.rotate(4, expand=True, fillcolor=235)
        paper = Image.new("L", (rotated.width + 80, rotated.height + 80), 235)
        paper.paste(rotated.point(lambda v: 30 if v < 128 else 225), (40, 40))
        paper.save(out)


def test_a_paper_seal_verifies_from_a_scan_offline_and_online_and_reports_revocation(
    chain: Chain, sceau: Any, tmp_path: Path
) -> None:
    prefecture = unique("Préfecture du Rhône")
    assert sceau("issuer", "create", prefecture, "--kind", "residence_permit").exit_code == 0
    png = tmp_path / "titre.png"
    result = sceau(
        "seal",
        "--issuer",
        prefecture,
        "--field",
        "holder=Amina Diallo",
        "--field",
        "number=69AB12345",
        "--field",
        "birthDate=1994-03-02",
        "--valid-until",
        "2031-03-01",
        "--out",
        png,
        "--json",
    )
    assert result.exit_code == 0, result.output
    scan = tmp_path / "scan.png"
    degrade_like_a_scan(png, scan)

    code, online = verify_json(sceau, "--seal-image", scan)  # a real QR decoder reads the degraded scan
    assert code == 0 and online["verdict"] == "valid", online
    assert online["document"]["fields"] == {"holder": "Amina Diallo", "number": "69AB12345", "birthDate": "1994-03-02"}
    assert online["issuer"]["name"] == prefecture

    trust = tmp_path / "trust.json"
    assert run_sceau("trustlist", "export", "--out", trust).returncode == 0
    code, offline = verify_json(sceau, "--seal-image", scan, "--offline", "--trust-list", trust)
    assert code == 6 and offline["verdict"] == "valid_revocation_unchecked", offline
    assert {c["id"]: c["ok"] for c in offline["checks"]}["revocation"] is None  # said plainly: not checked

    revoked = sceau("revoke", "--issuer", prefecture, "--reason", "annulment", str(png) + ".receipt.json")
    assert revoked.exit_code == 0, revoked.output
    code, online = verify_json(sceau, "--seal-image", scan)
    assert code == 2 and online["verdict"] == "revoked"


def test_a_seal_with_altered_fields_or_an_unknown_signer_is_refused(chain: Chain, sceau: Any, tmp_path: Path) -> None:
    from eth_account import Account

    from verifier.core.seal import Seal

    prefecture = unique("Préfecture de l'Isère")
    assert sceau("issuer", "create", prefecture, "--kind", "residence_permit").exit_code == 0
    result = sceau(
        "seal", "--issuer", prefecture, "--field", "holder=Marc Petit", "--out", tmp_path / "s.png", "--json"
    )
    assert result.exit_code == 0, result.output
    text = json.loads(result.output)["seal"]
    seal = Seal.decode(text)
    altered = replace(seal, fields={"holder": "Marc Grand"})
    code, verdict = verify_json(sceau, "--seal", altered.encode())
    assert code == 1 and verdict["verdict"] == "tampered"
    resigned = Seal(
        seal.chain_id, seal.registry, seal.root, seal.anchored_at, seal.document, seal.proof, seal.fields
    ).signed(Account.create().key)
    trust = tmp_path / "trust.json"
    assert run_sceau("trustlist", "export", "--out", trust).returncode == 0
    code, verdict = verify_json(sceau, "--seal", resigned.encode(), "--offline", "--trust-list", trust)
    assert code == 1 and verdict["verdict"] == "untrusted_issuer"
    code, verdict = verify_json(sceau, "--seal", "SC1:NOT-A-SEAL")
    assert code == 4 and "cannot be decoded" in verdict["error"]


def test_the_seal_goes_where_the_issuer_asks(sceau: Any, issuer: str, tmp_path: Path) -> None:
    original = tmp_path / "attestation.pdf"
    original.write_bytes(diploma_pdf())
    result = sceau("issue", "--issuer", issuer, "--certified-pdf", "--seal-position", "top-left", "--json", original)
    assert result.exit_code == 0, result.output
    [path] = json.loads(result.output)["certifiedPdfs"]
    reader = PdfReader(path)
    [annot] = [a.get_object() for a in reader.pages[0]["/Annots"]]
    left, bottom, right, top = (float(v) for v in annot["/Rect"])
    assert left < 100 and top > 800 and right - left == 96  # page is 595 x 842 points
