"""Bulk verification for employers: a folder, a ZIP or a CSV of documents, one report (JSON, CSV,
printable HTML), through the CLI and the HTTP API."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from certifier.service.app import create_app
from tests.conftest import Chain, write_docs
from tests.pdfs import diploma_pdf


@pytest.fixture
def folder(sceau: Any, issuer: str, tmp_path: Path) -> Path:
    """Six documents: three valid, one tampered, one revoked, one certified PDF, one without receipt."""
    docs = write_docs(tmp_path / "candidates", 5)
    assert sceau("issue", "--issuer", issuer, *docs).exit_code == 0
    docs[1].write_bytes(docs[1].read_bytes() + b"!")
    assert sceau("revoke", "--issuer", issuer, "--reason", "fraud", docs[2]).exit_code == 0
    pdf = tmp_path / "candidates" / "master.pdf"
    pdf.write_bytes(diploma_pdf())
    result = sceau("issue", "--issuer", issuer, "--certified-pdf", "--out", tmp_path / "cert", "--json", pdf)
    assert result.exit_code == 0, result.output
    certified = Path(json.loads(result.output)["certifiedPdfs"][0])
    pdf.unlink()
    pdf.with_name("master.pdf.receipt.json").unlink(missing_ok=True)
    certified.rename(tmp_path / "candidates" / "master.certified.pdf")
    (tmp_path / "candidates" / "lonely.txt").write_text("no receipt")
    return tmp_path / "candidates"


EXPECTED = {
    "diploma-0.pdf": "valid",
    "diploma-1.pdf": "tampered",
    "diploma-2.pdf": "revoked",
    "diploma-3.pdf": "valid",
    "diploma-4.pdf": "valid",
    "master.certified.pdf": "valid",
    "lonely.txt": "error",
}


def test_a_folder_in_json_csv_and_html(sceau: Any, folder: Path, tmp_path: Path) -> None:
    result = sceau("verify", "--bulk", folder, "--format", "json")
    assert result.exit_code == 4  # the worst verdict: one could not be decided
    report = json.loads(result.output)
    assert {d["file"]: d["verdict"] for d in report["documents"]} == EXPECTED
    assert report["summary"] == {"documents": 7, "valid": 4, "tampered": 1, "revoked": 1, "error": 1}

    result = sceau("verify", "--bulk", folder, "--format", "csv", "--report", tmp_path / "report.csv")
    assert result.exit_code == 4  # the same worst verdict, whatever the format
    rows = list(csv.DictReader(io.StringIO((tmp_path / "report.csv").read_text())))
    assert {r["file"]: r["verdict"] for r in rows} == EXPECTED
    assert next(r for r in rows if r["file"] == "diploma-2.pdf")["revocation"] == "fraud"

    result = sceau("verify", "--bulk", folder, "--format", "html")
    assert result.exit_code == 4
    html = result.output
    assert html.startswith("<!doctype html>") and "4 of 7 documents valid" in html and html.count("<tr class=") == 7


def test_a_zip_and_a_csv_list(sceau: Any, folder: Path, tmp_path: Path) -> None:
    archive = tmp_path / "dossiers.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in folder.iterdir():
            zf.write(p, p.name)
    report = json.loads(sceau("verify", "--bulk", archive, "--format", "json").output)
    assert {d["file"]: d["verdict"] for d in report["documents"]} == EXPECTED

    listing = tmp_path / "list.csv"
    listing.write_text(
        "file,receipt\ncandidates/diploma-0.pdf,candidates/diploma-0.pdf.receipt.json\ncandidates/diploma-3.pdf,\n"
    )
    result = sceau("verify", "--bulk", listing)
    assert result.exit_code == 0
    assert [line.split() for line in result.output.splitlines()] == [
        ["✔", "valid", "candidates/diploma-0.pdf"],
        ["✔", "valid", "candidates/diploma-3.pdf"],
    ]


def test_bad_bulk_sources_are_named(sceau: Any, tmp_path: Path) -> None:
    result = sceau("verify", "--bulk", tmp_path / "nowhere")
    assert result.exit_code == 4 and "no such file or directory" in result.stderr
    (tmp_path / "x.txt").write_text("x")
    result = sceau("verify", "--bulk", tmp_path / "x.txt")
    assert result.exit_code == 4 and "a directory, a .zip or a .csv" in result.stderr


def test_the_bulk_endpoint(chain: Chain, folder: Path, tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url, "SCEAU_STORAGE": str(tmp_path / "s")})
    client = app.test_client()
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted(folder.iterdir()) if not p.name.endswith(".json")]
    receipts = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted(folder.glob("*.receipt.json"))]
    response = client.post(
        "/api/v1/verify/bulk", data={"file": files, "receipt": receipts}, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    assert {d["file"]: d["verdict"] for d in response.get_json()["documents"]} == EXPECTED
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in folder.iterdir():
            zf.write(p, p.name)
    response = client.post(
        "/api/v1/verify/bulk?format=csv",
        data={"archive": (io.BytesIO(buf.getvalue()), "a.zip")},
        content_type="multipart/form-data",
    )
    assert response.mimetype == "text/csv" and response.text.count("\n") == 8
    assert client.post("/api/v1/verify/bulk", data={}, content_type="multipart/form-data").status_code == 422
    app.extensions["sceau"].dispose()
