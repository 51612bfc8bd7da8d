"""A forger's attacks on the verifier, found by a red-team review of the trust model: each test
performs one attack and asserts the secure verdict. Three of them once succeeded (a duplicated
key in a certified PDF's update, a bulk answer leaking between two trusted registries, two
attached receipts); they are kept so that they never succeed again."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from eth_account import Account
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
)

from certifier.chain import certified_pdf
from tests.conftest import Chain, verifier_for, write_docs
from tests.test_trust import certified_with_fields, verify_json
from verifier.core.receipt import Receipt
from verifier.pdf import (
    RECEIPT_NAME,
    open_certified,
)

# ---------------------------------------------------------------- helpers

Hook = Callable[[PdfWriter], None]


def certify_with(
    original: bytes, receipt_json: bytes, seal_text: str, also: Hook | None = None, attach: Hook | None = None
) -> bytes:
    """certifier.chain.certified_pdf.certify itself, with hooks for the forger: `attach(writer)` runs
    just before it attaches the receipt, `also(writer)` after it stamps the seal, just before it writes."""

    class Forging(PdfWriter):
        attached = False

        def add_attachment(self, filename: str, data: str | bytes) -> Any:
            if attach is not None and not self.attached:
                self.attached = True
                attach(self)
            return super().add_attachment(filename, data)

        def write(self, stream: Any) -> Any:
            if also is not None:
                also(self)
            return super().write(stream)

    with mock.patch.object(certified_pdf, "PdfWriter", Forging):
        return certified_pdf.certify(original, Receipt.from_json(receipt_json), seal_text)


def genuine_parts(sceau: Any, issuer: str, tmp_path: Path) -> tuple[bytes, bytes, str]:
    """(original, receipt JSON, seal text) of a certified PDF Sceau really issued."""
    path, seal_text = certified_with_fields(sceau, issuer, tmp_path, "holder=Jean Faux", "degree=Licence de lettres")
    data = path.read_bytes()
    certified = open_certified(data)
    assert certified is not None and certified.original is not None
    receipt_json = PdfReader(BytesIO(data)).attachments[RECEIPT_NAME][-1]
    return certified.original, receipt_json, seal_text


def text_seen_by_qpdf(data: bytes) -> str:
    """Page text as a qpdf-normalised file shows it (qpdf, pdf.js, PDFium keep the LAST duplicate key)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, qdf = Path(tmp) / "in.pdf", Path(tmp) / "out.pdf"
        src.write_bytes(data)
        subprocess.run(["qpdf", "--qdf", str(src), str(qdf)], capture_output=True)
        out = subprocess.run(
            ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=txtwrite", "-sOutputFile=-", str(qdf)],
            capture_output=True,
            text=True,
        )
        return out.stdout


# ---------------------------------------------------------------- certified PDFs


def test_duplicate_contents_key_in_the_updated_page_dictionary(sceau: Any, issuer: str, tmp_path: Path) -> None:
    """pypdf keeps the FIRST of two /Contents keys, qpdf/pdf.js/PDFium the LAST: the update rewrites
    page 1 (it must, to add /Annots) with `/Contents <original> /Contents <forged>`."""
    original, receipt_json, seal_text = genuine_parts(sceau, issuer, tmp_path)

    def second_contents(writer: PdfWriter) -> None:
        forged = DecodedStreamObject()
        forged.set_data(b"BT /Helvetica 20 Tf 60 700 Td (Doctorat de medecine - Jean Faux) Tj ET")
        writer.pages[0][NameObject("/Contentz")] = writer._add_object(forged)

    data = certify_with(original, receipt_json, seal_text, also=second_contents)
    assert data.count(b"/Contentz") == 1
    data = data.replace(b"/Contentz", b"/Contents")  # same length: offsets unchanged
    assert "Doctorat de medecine" in text_seen_by_qpdf(data)  # what other readers show
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(data)
    code, verdict = verify_json(forged)
    assert verdict["verdict"] == "tampered" and code == 1, verdict


def test_duplicate_rect_and_ap_keys_in_the_seal_annotation() -> None:
    """Same differential on the seal itself: pypdf checks the first /Rect and /AP (Sceau's QR), other
    readers draw the last (a page-sized white box with forged text)."""
    from tests.pdfs import covering_appearance, fpdf2_pdf, receipt_for

    original = fpdf2_pdf()

    def cover(writer: PdfWriter) -> None:
        annots: Any = writer.pages[0]["/Annots"]
        seal = annots[-1].get_object()
        box = writer.pages[0].mediabox
        seal[NameObject("/Recx")] = ArrayObject([FloatObject(v) for v in (box.left, box.bottom, box.right, box.top)])
        seal[NameObject("/AX")] = DictionaryObject(
            {NameObject("/N"): covering_appearance(writer, float(box.width), float(box.height), "Doctorat")}
        )

    data = certify_with(original, receipt_for(original).to_json().encode(), "SC1:TEST-SEAL-TEXT", also=cover)
    data = data.replace(b"/Recx", b"/Rect").replace(b"/AX ", b"/AP ")
    assert "Doctorat" in text_seen_by_qpdf(data)  # qpdf keeps the last /AP: the page-sized appearance
    certified = open_certified(data)
    assert certified is not None and certified.original == original
    assert certified.problems != (), "a seal annotation with duplicated /Rect and /AP passed as Sceau's"


def test_a_stamped_seal_signed_by_another_key_than_the_receipt(sceau: Any, issuer: str, tmp_path: Path) -> None:
    from verifier.core.seal import Seal

    original, receipt_json, seal_text = genuine_parts(sceau, issuer, tmp_path)
    s = Seal.decode(seal_text)
    resigned = Seal(s.chain_id, s.registry, s.root, s.anchored_at, s.document, s.proof, s.fields).signed(
        Account.create().key
    )
    forged = tmp_path / "resigned.pdf"
    forged.write_bytes(certify_with(original, receipt_json, resigned.encode()))
    code, verdict = verify_json(forged)
    assert code == 1 and verdict["verdict"] == "tampered", verdict


def test_a_stamped_seal_showing_other_fields_than_the_receipt(sceau: Any, issuer: str, tmp_path: Path) -> None:
    """The stamped seal of another genuine diploma of the same issuer (a lifted QR)."""
    original, receipt_json, _ = genuine_parts(sceau, issuer, tmp_path)
    (tmp_path / "other").mkdir()
    _, other_seal = certified_with_fields(sceau, issuer, tmp_path / "other", "holder=Autre Personne")
    forged = tmp_path / "lifted.pdf"
    forged.write_bytes(certify_with(original, receipt_json, other_seal))
    code, verdict = verify_json(forged)
    assert code == 1 and verdict["verdict"] == "tampered", verdict


def test_two_receipt_attachments_in_the_update(sceau: Any, issuer: str, tmp_path: Path) -> None:
    """Spec §10: exactly one embedded sceau-receipt.json. A second one (a bogus receipt a human
    opening the attachment panel may pick) must not pass as Sceau's update."""
    original, receipt_json, seal_text = genuine_parts(sceau, issuer, tmp_path)
    bogus = json.loads(receipt_json)
    bogus["anchor"]["issuerKey"] = Account.create().address

    def first(writer: PdfWriter) -> None:
        writer.add_attachment(RECEIPT_NAME, json.dumps(bogus).encode())

    data = certify_with(original, receipt_json, seal_text, attach=first)
    assert len(PdfReader(BytesIO(data)).attachments[RECEIPT_NAME]) == 2
    forged = tmp_path / "two.pdf"
    forged.write_bytes(data)
    code, verdict = verify_json(forged)
    assert verdict["verdict"] == "tampered", verdict


def test_genuine_certified_copy_rebuilt_by_helper_is_valid(sceau: Any, issuer: str, tmp_path: Path) -> None:
    """Control: the helper alone makes a copy the verifier accepts (so refusals above are real)."""
    original, receipt_json, seal_text = genuine_parts(sceau, issuer, tmp_path)
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(certify_with(original, receipt_json, seal_text))
    code, verdict = verify_json(copy)
    assert code == 0 and verdict["verdict"] == "valid", verdict


# ---------------------------------------------------------------- bulk: two trusted registries


def test_bulk_status_of_one_trusted_registry_leaks_to_a_receipt_naming_another(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    """With two trust anchors (a registry and its successor, RECEIPT.md §7.1), bulk caches the
    registry's answer by (key, root, index, leaf) only: a receipt naming registry NEW for a
    document anchored only in OLD gets OLD's status, and NEW's issuer of the same id is shown."""
    from certifier.chain.deployment import registry_contract, trust_anchor
    from certifier.chain.transactions import Sender
    from certifier.keys import keystore
    from tests.chainhelpers import Actor, actor
    from verifier.artifacts import load_artifact
    from verifier.core.anchors import MEDIA_TYPE, TrustAnchor

    [doc] = write_docs(tmp_path / "src", 1)
    assert sceau("issue", "--issuer", issuer, doc).exit_code == 0
    genuine = Receipt.from_json(doc.with_name(doc.name + ".receipt.json").read_bytes())
    issuer_id = keystore.load(issuer).issuer_id
    assert issuer_id

    # NEW: a successor registry, also trusted; its issuer with the same id is another university
    root = actor(chain.w3, chain.registry)
    artifact = load_artifact()
    factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    sent = Sender(chain.w3, chain.registry, root.account).send(
        factory.constructor(0, root.address, "Ministère", chain.deployment.registry), "successor"
    )
    new = registry_contract(chain.w3, sent.receipt["contractAddress"])
    as_root = Actor(root.account, Sender(chain.w3, new, root.account))
    for i in range(1, issuer_id + 1):
        name = "Sorbonne Université" if i == issuer_id else f"Filler {i}"
        as_root.send(new.functions.accreditIssuer(name, f"ID-{i}-{tmp_path.name}", 1 << 1))
    old_anchor = trust_anchor(chain.deployment)
    new_anchor = TrustAnchor(
        "Ministère (successeur)",
        old_anchor.chain_id,
        old_anchor.genesis_hash,
        new.address,
        root.address,
        old_anchor.registry,
    )
    anchors = tmp_path / "anchors.json"
    anchors.write_text(json.dumps({"mediaType": MEDIA_TYPE, "anchors": [new_anchor.to_dict(), old_anchor.to_dict()]}))

    folder = tmp_path / "bulk"
    folder.mkdir()
    relabelled = replace(genuine, registry=new.address)
    (folder / "a.pdf").write_bytes(doc.read_bytes())
    (folder / "a.pdf.receipt.json").write_text(relabelled.to_json())
    (folder / "b.pdf").write_bytes(doc.read_bytes())
    (folder / "b.pdf.receipt.json").write_text(genuine.to_json())

    # a single verification of the relabelled receipt: NEW never anchored it
    single = tmp_path / "single"
    single.mkdir()
    (single / "a.pdf").write_bytes(doc.read_bytes())
    (single / "a.pdf.receipt.json").write_text(relabelled.to_json())
    code, alone = verify_json(single / "a.pdf", "--trust-anchors", anchors)
    assert alone["verdict"] == "unknown", alone

    from tests.conftest import run_sceau

    out = run_sceau("verify", "--bulk", folder, "--format", "json", "--trust-anchors", anchors)
    lines = {d["file"]: d for d in json.loads(out.stdout)["documents"]}
    assert lines["b.pdf"]["verdict"] == "valid"
    assert lines["a.pdf"]["verdict"] == "unknown", (lines["a.pdf"]["verdict"], lines["a.pdf"]["issuer"])


# ---------------------------------------------------------------- revocation codes, seals, trust lists


@pytest.mark.parametrize("code", [6, 9, 15])
def test_reserved_revocation_codes_are_revoked_never_valid(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path, code: int
) -> None:
    from verifier.verify import verify_document

    [doc] = write_docs(tmp_path, 1)
    assert sceau("issue", "--issuer", issuer, doc).exit_code == 0
    receipt = Receipt.from_json(doc.with_name(doc.name + ".receipt.json").read_bytes())
    verifier = verifier_for(chain.url, chain.deployment)
    try:
        reader = verifier.reader(verifier.anchors.anchors[0])
        ok, state = reader.check_document(
            receipt.anchor.issuer_key, receipt.anchor.root, receipt.document.index, receipt.leaf, list(receipt.proof)
        )
        verdict = verify_document(
            hashlib.sha256(doc.read_bytes()).digest(), receipt, verifier, status=(ok, replace(state, revocation=code))
        )
    finally:
        verifier.close()
    assert verdict.outcome.value == "revoked" and verdict.revocation == {"reason": f"unknown_{code}", "code": code}


def _raw_seal(fields_raw: bytes, fields_sha: bytes) -> str:
    from verifier.core.base45 import b45encode
    from verifier.core.seal import _HEAD

    head = _HEAD.pack(
        b"SC",
        1,
        31337,
        b"\x11" * 20,
        b"\x22" * 32,
        1,
        0,
        1,
        0,
        0,
        b"\x33" * 32,
        b"\x44" * 32,
        fields_sha,
        len(fields_raw),
    )
    body = head + fields_raw + b"\x00"
    from eth_account.messages import encode_defunct

    sig = Account.sign_message(encode_defunct(primitive=body), Account.create().key).signature
    return "SC1:" + b45encode(body + bytes(sig))


@pytest.mark.parametrize(
    "fields_raw",
    [
        b'{"holder":"Jean Faux","holder":"Jean Vrai"}',  # duplicate members
        b'{"holder":"Jean \\u0046aux"}',  # non-canonical escape
        '{"holder":"Le\u0301a"}'.encode(),  # NFD
        '{"holder":"Jean Faux\u202e"}'.encode(),  # bidi override
        b'{"holder":"Jean Faux" }',  # whitespace
        b'{"holder":"Jean Faux","degree":"Licence"}',  # unsorted
    ],
)
def test_seal_fields_in_non_canonical_form_are_refused(fields_raw: bytes) -> None:
    from verifier.core.errors import InvalidSeal
    from verifier.core.seal import Seal

    with pytest.raises(InvalidSeal):
        Seal.decode(_raw_seal(fields_raw, hashlib.sha256(fields_raw).digest()))


@pytest.mark.parametrize(
    "wrap",
    [
        lambda t: "https://v.example/#" + t.replace(":", "%253A"),  # double percent-encoding
        lambda t: "https://v.example/?" + t + "#x",  # seal in the query, fragment elsewhere
        lambda t: "SC1:" + t,  # doubled prefix
    ],
)
def test_url_form_tricks_are_refused(wrap: Any) -> None:
    from verifier.core.errors import InvalidSeal
    from verifier.core.seal import Seal

    text = _raw_seal(b"", bytes(32))
    Seal.decode(text)  # control: decodes
    with pytest.raises(InvalidSeal):
        Seal.decode(wrap(text))


def test_a_trust_list_whose_anchor_differs_in_name_or_genesis_is_refused(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    from certifier.chain.deployment import trust_anchor
    from tests.test_trust import export_trust_list
    from verifier.core.anchors import TrustAnchors
    from verifier.core.errors import InvalidTrustList
    from verifier.trustlist import TrustList

    data = export_trust_list(tmp_path).read_bytes()
    anchor = trust_anchor(chain.deployment)
    TrustList.verified(data, TrustAnchors((anchor,), "t"))  # control
    for other in (replace(anchor, name="Autre ministère"), replace(anchor, genesis_hash=b"\x01" * 32)):
        with pytest.raises(InvalidTrustList):
            TrustList.verified(data, TrustAnchors((other,), "t"))


def test_offline_seal_of_another_registry_with_a_trust_list_of_the_first(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    from certifier.chain.deployment import trust_anchor
    from tests.test_trust import export_trust_list
    from verifier.core.anchors import TrustAnchors
    from verifier.core.seal import Seal
    from verifier.service import Verifier
    from verifier.trustlist import TrustList
    from verifier.verify_seal import verify_seal

    _, text = certified_with_fields(sceau, issuer, tmp_path, "holder=Nina Perrin")
    anchor = trust_anchor(chain.deployment)
    other = replace(anchor, registry="0x" + "AB" * 20, name="B")
    anchors = TrustAnchors((anchor, other), "t")
    trust = TrustList.verified(export_trust_list(tmp_path).read_bytes(), anchors)
    s = Seal.decode(text)
    key = __import__("certifier.keys.keystore", fromlist=["load"]).load(issuer)
    from tests.conftest import PASSPHRASE

    moved = Seal(s.chain_id, other.registry, s.root, s.anchored_at, s.document, s.proof, s.fields).signed(
        key.unlock(PASSPHRASE).key
    )
    verdict = verify_seal(moved, Verifier(anchors, chain.url, trust_list=trust), offline=True)
    assert verdict.outcome.value == "error", verdict
