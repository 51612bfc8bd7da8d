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
from tests.conftest import Chain, never_anchored_receipt, verifier_for, write_docs
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


# ---------------------------------------------------------------- bulk against single verification
#
# The bulk path reads one `checkDocument` per (trust anchor, key, root) and only `revocationOf` for
# the other documents of that root, and decides each of them with a status synthesised from that
# one answer. Each test below puts a forger's receipts beside genuine documents of the same root in
# one folder and asserts that bulk gives every document exactly the verdict a single verification
# (`Verifier.verify_path`, what `sceau verify FILE` runs) gives it, whatever the chunking.


def _single_verdicts(folder: Path, verifier: Any) -> dict[str, str]:
    from verifier import bulk

    return {i.name: verifier.verify_path(folder / i.name, None).outcome.value for i in bulk.collect(folder)}


def _bulk_verdicts(folder: Path, verifier: Any, chunk: int | None = None) -> dict[str, str]:
    from verifier import bulk

    items = bulk.collect(folder)
    stream = bulk.verify_stream(items, verifier) if chunk is None else bulk.verify_stream(items, verifier, chunk=chunk)
    lines = list(stream)
    assert [ln.name for ln in lines] == [i.name for i in items]
    return {ln.name: ln.verdict.outcome.value for ln in lines}


def _assert_bulk_is_single(folder: Path, chain: Chain, chunks: tuple[int | None, ...] = (None, 1, 2, 3)) -> dict:
    verifier = verifier_for(chain.url, chain.deployment)
    try:
        single = _single_verdicts(folder, verifier)
        for chunk in chunks:
            assert _bulk_verdicts(folder, verifier, chunk) == single, f"chunk={chunk}"
    finally:
        verifier.close()
    return single


def _put(folder: Path, name: str, data: bytes, receipt: Receipt | bytes | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    if receipt is not None:
        text = receipt if isinstance(receipt, bytes) else receipt.to_json().encode()
        (folder / (name + ".receipt.json")).write_bytes(text)


def _issuer_account(issuer: str) -> Any:
    from certifier.keys import keystore
    from tests.conftest import PASSPHRASE

    return keystore.load(issuer).unlock(PASSPHRASE)


def _anchor_tree(chain: Chain, account: Any, leaves: list[Any], count: int, kind: int = 1) -> list[Receipt]:
    """What an accredited key (its own issuer's, or a stolen one) can do: anchor ANY tree of leaves,
    declaring any documentCount; the receipts of its leaves, each with its proof."""
    from certifier.chain.transactions import Sender
    from verifier.core.merkle import MerkleTree, leaf_hash
    from verifier.core.receipt import Anchor

    hashes = [leaf_hash(v) for v in leaves]
    tree = MerkleTree.build(hashes)
    sent = Sender(chain.w3, chain.registry, account).send(
        chain.registry.functions.anchor(tree.root, count, kind), "a forger's tree"
    )
    anchor = Anchor(tree.root, sent.transaction_hash, sent.block_number, sent.block_hash, account.address, count)
    return [
        Receipt(chain.w3.eth.chain_id, chain.deployment.registry, anchor, v, tuple(tree.proof(h)))
        for v, h in zip(leaves, hashes, strict=True)
    ]


def _leaf(data: bytes, index: int, kind: int = 1, valid_from: int = 0) -> Any:
    from verifier.core.merkle import LeafValues

    return LeafValues(
        hashlib.sha256(data).digest(), hashlib.sha256(data + b"salt").digest(), index, kind, valid_from, 0
    )


@pytest.fixture
def genuine_root(sceau: Any, issuer: str, tmp_path: Path) -> tuple[list[Path], list[Receipt]]:
    """Four documents Sceau issued in one root; document 2 revoked for fraud."""
    docs = write_docs(tmp_path / "issued", 4)
    assert sceau("issue", "--issuer", issuer, *docs).exit_code == 0
    assert sceau("revoke", "--issuer", issuer, "--reason", "fraud", docs[2]).exit_code == 0
    receipts = [Receipt.from_json(d.with_name(d.name + ".receipt.json").read_bytes()) for d in docs]
    assert len({r.anchor.root for r in receipts}) == 1
    return docs, receipts


def _relabel(receipt: Receipt, **anchor: Any) -> Receipt:
    return replace(receipt, anchor=replace(receipt.anchor, **anchor))


def test_bulk_forged_receipts_beside_genuine_siblings_of_their_root(
    chain: Chain, genuine_root: tuple[list[Path], list[Receipt]], tmp_path: Path
) -> None:
    """Genuine documents of a root (one revoked) and, in the same folder, receipts naming that same
    root with another key, another registry, another chain, another leaf for a sibling's index, a
    broken proof, another documentCount, or a root nobody anchored."""
    folder = _mixed_folder(genuine_root, tmp_path / "bulk")
    single = _assert_bulk_is_single(folder, chain)
    assert single == MIXED


MIXED = {
    "c-other-chain.pdf": "untrusted_issuer",
    "g0.pdf": "valid",
    "g1.pdf": "valid",
    "g2.pdf": "revoked",
    "g3.pdf": "valid",
    "i-index-of-revoked.pdf": "tampered",
    "k-other-key-revoked-sibling.pdf": "unknown",
    "k-other-key.pdf": "unknown",
    "l-forged-leaf.pdf": "tampered",
    "n-count.pdf": "unknown",
    "p-cut-proof.pdf": "tampered",
    "p-sibling-proof.pdf": "tampered",
    "r-other-registry.pdf": "untrusted_issuer",
    "z-forged.pdf": "unknown",
}


def _mixed_folder(genuine_root: tuple[list[Path], list[Receipt]], folder: Path) -> Path:
    docs, receipts = genuine_root
    data = [d.read_bytes() for d in docs]
    forged = b"%PDF-1.7 Doctorat de medecine - Jean Faux"
    for i in range(4):
        _put(folder, f"g{i}.pdf", data[i], receipts[i])
    other = Account.create().address
    _put(folder, "k-other-key.pdf", data[0], _relabel(receipts[0], issuer_key=other))
    _put(folder, "k-other-key-revoked-sibling.pdf", data[2], _relabel(receipts[2], issuer_key=other))
    _put(folder, "r-other-registry.pdf", data[1], replace(receipts[1], registry="0x" + "ab" * 20))
    _put(folder, "c-other-chain.pdf", data[1], replace(receipts[1], chain_id=1))
    # another leaf at a sibling's index (a forged document's fingerprint in the genuine leaf)
    swapped = replace(receipts[1], document=replace(receipts[1].document, sha256=hashlib.sha256(forged).digest()))
    _put(folder, "l-forged-leaf.pdf", forged, swapped)
    # the genuine document claiming the revoked sibling's index
    _put(
        folder, "i-index-of-revoked.pdf", data[0], replace(receipts[0], document=replace(receipts[0].document, index=2))
    )
    # a genuine leaf with its proof cut, and with the proof of a sibling
    _put(folder, "p-cut-proof.pdf", data[3], replace(receipts[3], proof=receipts[3].proof[:-1]))
    _put(folder, "p-sibling-proof.pdf", data[3], replace(receipts[3], proof=receipts[0].proof))
    # another documentCount (not in the leaf: the proof still folds)
    _put(folder, "n-count.pdf", data[1], _relabel(receipts[1], document_count=9))
    # a forged document in a root nobody anchored, under the genuine key and registry
    _put(folder, "z-forged.pdf", forged, None)
    (folder / "z-forged.pdf.receipt.json").write_text(
        never_anchored_receipt(folder / "z-forged.pdf", receipts[0]).to_json()
    )
    return folder


def test_bulk_cli_zip_and_http_endpoint_give_the_single_verdicts_on_forged_siblings(
    chain: Chain, genuine_root: tuple[list[Path], list[Receipt]], tmp_path: Path
) -> None:
    """The same folder through `sceau verify --bulk` (folder and ZIP) and POST /api/v1/verify/bulk
    (files and ZIP): every document gets the verdict `sceau verify FILE` gives it."""
    import io
    import zipfile

    from certifier.service.app import create_app
    from tests.conftest import run_sceau

    folder = _mixed_folder(genuine_root, tmp_path / "bulk")
    for name, expected in MIXED.items():  # the single verification as a user runs it
        if name in ("g0.pdf", "k-other-key.pdf", "l-forged-leaf.pdf", "c-other-chain.pdf"):
            code, alone = verify_json(folder / name)
            assert alone["verdict"] == expected, (name, alone)
    out = run_sceau("verify", "--bulk", folder, "--format", "json")
    assert out.returncode == 1, out.stderr  # the worst: not authentic
    assert {d["file"]: d["verdict"] for d in json.loads(out.stdout)["documents"]} == MIXED
    archive = tmp_path / "dossier.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, p.name)
    out = run_sceau("verify", "--bulk", archive, "--format", "json")
    assert {d["file"]: d["verdict"] for d in json.loads(out.stdout)["documents"]} == MIXED

    app = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url, "SCEAU_STORAGE": str(tmp_path / "s")})
    try:
        client = app.test_client()
        files = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted(folder.iterdir()) if p.suffix != ".json"]
        receipts = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted(folder.glob("*.receipt.json"))]
        response = client.post(
            "/api/v1/verify/bulk", data={"file": files, "receipt": receipts}, content_type="multipart/form-data"
        )
        assert response.status_code == 200
        assert {d["file"]: d["verdict"] for d in response.get_json()["documents"]} == MIXED
        response = client.post(
            "/api/v1/verify/bulk",
            data={"archive": (io.BytesIO(archive.read_bytes()), "a.zip")},
            content_type="multipart/form-data",
        )
        assert {d["file"]: d["verdict"] for d in response.get_json()["documents"]} == MIXED
    finally:
        app.extensions["sceau"].dispose()


def _new_issuer(sceau: Any) -> str:
    from tests.conftest import unique

    name = unique("Université Seconde")
    result = sceau("issuer", "create", name, "--kind", "diploma", "--id", unique("SEC").replace(" ", "-"))
    assert result.exit_code == 0, result.output
    return name


def test_bulk_a_forgers_own_tree_duplicate_indices_out_of_range_and_foreign_kinds(
    chain: Chain, sceau: Any, issuer: str, genuine_root: tuple[list[Path], list[Receipt]], tmp_path: Path
) -> None:
    """An accredited key anchors a tree of its own making: two leaves with index 0, a leaf of
    another kind, a leaf whose index is past the documentCount it declares; and another accredited
    key re-anchors a genuine root under itself, next to a key that never anchored it."""
    folder = tmp_path / "bulk"
    account = _issuer_account(issuer)
    blobs = [f"%PDF-1.7 forged {i}".encode() for i in range(5)]
    leaves = [
        _leaf(blobs[0], 0),
        _leaf(blobs[1], 0),
        _leaf(blobs[2], 1, kind=3),
        _leaf(blobs[3], 3),
        _leaf(blobs[4], 1),
    ]
    a, b, c, d, e = _anchor_tree(chain, account, leaves, count=2)
    _put(folder, "a-dup-index-0.pdf", blobs[0], a)
    _put(folder, "b-dup-index-0.pdf", blobs[1], b)
    _put(folder, "c-other-kind.pdf", blobs[2], c)
    _put(folder, "d-past-count.pdf", blobs[3], d.to_json().encode())  # index 3 of 2: malformed
    _put(folder, "d-past-count-relabelled.pdf", blobs[3], _relabel(d, document_count=5))
    _put(folder, "e-index-1.pdf", blobs[4], e)

    docs, receipts = genuine_root
    second = _issuer_account(_new_issuer(sceau))
    from certifier.chain.transactions import Sender

    root = receipts[0].anchor
    Sender(chain.w3, chain.registry, second).send(chain.registry.functions.anchor(root.root, 4, 1), "re-anchor")
    _put(folder, "g0.pdf", docs[0].read_bytes(), receipts[0])
    _put(folder, "g0-second-key.pdf", docs[0].read_bytes(), _relabel(receipts[0], issuer_key=second.address))
    _put(folder, "g2-second-key.pdf", docs[2].read_bytes(), _relabel(receipts[2], issuer_key=second.address))
    _put(folder, "g1-third-key.pdf", docs[1].read_bytes(), _relabel(receipts[1], issuer_key=Account.create().address))
    _put(folder, "g2.pdf", docs[2].read_bytes(), receipts[2])
    single = _assert_bulk_is_single(folder, chain)
    assert single == {
        "a-dup-index-0.pdf": "valid",  # the key's own issuer vouches for whatever it anchored
        "b-dup-index-0.pdf": "valid",
        "c-other-kind.pdf": "unknown",
        "d-past-count.pdf": "error",
        "d-past-count-relabelled.pdf": "unknown",
        "e-index-1.pdf": "valid",
        "g0.pdf": "valid",
        "g0-second-key.pdf": "valid",  # vouched for by the second issuer, as a single check says
        "g1-third-key.pdf": "unknown",
        "g2-second-key.pdf": "valid",  # revoked under the first key only: (key, root) are separate
        "g2.pdf": "revoked",
    }


def test_bulk_a_back_dated_suspension_or_key_end_beside_genuine_documents(
    chain: Chain, sceau: Any, issuer: str, genuine_root: tuple[list[Path], list[Receipt]], tmp_path: Path
) -> None:
    """Roots anchored by an issuer later suspended from before its anchor, and by a key whose
    validity was ended (compromised) before its anchor, in one folder with a valid root."""
    from certifier.keys import keystore
    from tests.chainhelpers import root_actor

    docs, receipts = genuine_root
    ministry = root_actor(chain.w3, chain.registry)
    anchored_at = chain.registry.functions.anchorOf(receipts[0].anchor.issuer_key, receipts[0].anchor.root).call()[0]
    issuer_id = keystore.load(issuer).issuer_id
    ministry.send(chain.registry.functions.suspendIssuer(issuer_id, anchored_at, "fraude"))

    stolen = _new_issuer(sceau)
    stolen_docs = write_docs(tmp_path / "stolen", 2, "stolen")
    assert sceau("issue", "--issuer", stolen, *stolen_docs).exit_code == 0
    stolen_receipt = Receipt.from_json(stolen_docs[0].with_name(stolen_docs[0].name + ".receipt.json").read_bytes())
    at = chain.registry.functions.anchorOf(stolen_receipt.anchor.issuer_key, stolen_receipt.anchor.root).call()[0]
    ministry.send(chain.registry.functions.endKeyValidity(stolen_receipt.anchor.issuer_key, at, True))

    fine = _new_issuer(sceau)
    fine_docs = write_docs(tmp_path / "fine", 2, "fine")
    assert sceau("issue", "--issuer", fine, *fine_docs).exit_code == 0

    folder = tmp_path / "bulk"
    for i, d in enumerate(docs):
        _put(folder, f"s{i}.pdf", d.read_bytes(), receipts[i])
    for d in (*stolen_docs, *fine_docs):
        _put(folder, d.name, d.read_bytes(), d.with_name(d.name + ".receipt.json").read_bytes())
    single = _assert_bulk_is_single(folder, chain)
    assert single == {
        "fine-0.pdf": "valid",
        "fine-1.pdf": "valid",
        "s0.pdf": "untrusted_issuer",
        "s1.pdf": "untrusted_issuer",
        "s2.pdf": "untrusted_issuer",  # step 5 before revocation
        "s3.pdf": "untrusted_issuer",
        "stolen-0.pdf": "untrusted_issuer",
        "stolen-1.pdf": "untrusted_issuer",
    }


def test_bulk_across_the_chunk_boundary_of_one_large_root(chain: Chain, issuer: str, tmp_path: Path) -> None:
    """1,030 documents of one root straddle the pipeline's 1,024-document chunks: revoked
    documents and forged receipts on either side of the boundary, each chunk reading the root
    again, get the single verdicts (and the last chunk's root is read with a sibling's answer)."""
    from verifier import bulk

    n = bulk.CHUNK_ITEMS + 6
    account = _issuer_account(issuer)
    blobs = [f"d{i}".encode() for i in range(n)]
    receipts = _anchor_tree(chain, account, [_leaf(b, i) for i, b in enumerate(blobs)], count=n)
    from certifier.chain.transactions import Sender

    sender = Sender(chain.w3, chain.registry, account)
    root = receipts[0].anchor.root
    for index in (1, 1022, 1024, 1029):
        sender.send(chain.registry.functions.revoke(account.address, root, index, 1, bytes(32)), "revoke")
    folder = tmp_path / "bulk"
    folder.mkdir()
    for i, (data, receipt) in enumerate(zip(blobs, receipts, strict=True)):
        if i == 1023:  # the last of chunk 1 under a key that never anchored the root
            receipt = _relabel(receipt, issuer_key=Account.create().address)
        elif i == 1025:  # the first folding receipt of chunk 2 claims a revoked sibling's index
            receipt = replace(receipt, document=replace(receipt.document, index=1024))
        elif i == 1026:  # a broken proof
            receipt = replace(receipt, proof=receipt.proof[1:])
        _put(folder, f"d{i:04}.txt", data, receipt)
    from verifier import limits

    verifier = verifier_for(chain.url, chain.deployment)
    try:
        with limits.applied(replace(limits.current(), max_bulk_items=2 * n)):  # the default is 1,000
            names = [i.name for i in bulk.collect(folder)]  # the chunks are the folder's sorted names
            assert names[bulk.CHUNK_ITEMS - 1 : bulk.CHUNK_ITEMS + 1] == ["d1023.txt", "d1024.txt"]
            single = _single_verdicts(folder, verifier)
            assert _bulk_verdicts(folder, verifier) == single
    finally:
        verifier.close()
    wrong = {k: v for k, v in single.items() if v != "valid"}
    assert wrong == {
        "d0001.txt": "revoked",
        "d1022.txt": "revoked",
        "d1023.txt": "unknown",
        "d1024.txt": "revoked",
        "d1025.txt": "tampered",
        "d1026.txt": "tampered",
        "d1029.txt": "revoked",
    }


# ---------------------------------------------------------------- bulk sources against single verification
#
# Found by the review of the bulk rewrite: the sources paired documents and receipts differently
# from `verify_path` (both fixed in verifier/bulk_sources.py).


def test_bulk_a_receipt_that_is_not_a_file_is_not_ignored(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    """`sceau verify FILE` reads FILE.receipt.json whenever it exists (a folder there is an error);
    the folder walk keeps only regular files, so bulk never sees that receipt and verifies the PDF
    as a certified PDF alone: a verdict single verification does not give."""
    from tests.conftest import issue_certified_pdf

    (tmp_path / "issued").mkdir()
    certified = issue_certified_pdf(sceau, issuer, tmp_path / "issued", "Licence de droit")
    folder = tmp_path / "bulk"
    _put(folder, "licence.pdf", certified.read_bytes(), None)
    (folder / "licence.pdf.receipt.json").mkdir()
    verifier = verifier_for(chain.url, chain.deployment)
    try:
        single = verifier.verify_path(folder / "licence.pdf", None).outcome.value
    finally:
        verifier.close()
    assert single == "error"
    assert _assert_bulk_is_single(folder, chain, (None,)) == {"licence.pdf": "error"}


def test_bulk_a_zip_with_two_entries_of_one_name_is_refused(
    chain: Chain, genuine_root: tuple[list[Path], list[Receipt]], tmp_path: Path
) -> None:
    """A candidate's ZIP holds two entries named diploma.pdf: a forgery first (what an archive
    manager shows or extracts first), the genuine diploma last. Bulk verification (CLI and
    POST /api/v1/verify/bulk) kept only the last entry of a name: the report said
    "diploma.pdf: valid" and the forgery was never verified. Such an archive is now refused whole."""
    import io
    import zipfile

    from certifier.service.app import create_app
    from tests.conftest import run_sceau

    docs, receipts = genuine_root
    forged = b"%PDF-1.7 Doctorat de medecine - Jean Faux"
    archive = tmp_path / "dossier.zip"
    with zipfile.ZipFile(archive, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("diploma.pdf", forged)
        zf.writestr("diploma.pdf.receipt.json", receipts[0].to_json())
        zf.writestr("diploma.pdf", docs[0].read_bytes())
        zf.writestr("diploma.pdf.receipt.json", receipts[0].to_json())
    # what single verification says of each entry, extracted on its own
    alone = {}
    for i, data in enumerate((forged, docs[0].read_bytes())):
        _put(tmp_path / f"entry{i}", "diploma.pdf", data, receipts[0])
        alone[i] = verify_json(tmp_path / f"entry{i}" / "diploma.pdf")[1]["verdict"]
    assert alone == {0: "tampered", 1: "valid"}

    app = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url, "SCEAU_STORAGE": str(tmp_path / "s")})
    try:
        response = app.test_client().post(
            "/api/v1/verify/bulk",
            data={"archive": (io.BytesIO(archive.read_bytes()), "a.zip")},
            content_type="multipart/form-data",
        )
        uploads = app.test_client().post(  # the same two files uploaded as parts, under one name
            "/api/v1/verify/bulk",
            data={"file": [(io.BytesIO(forged), "diploma.pdf"), (io.BytesIO(docs[0].read_bytes()), "diploma.pdf")]},
            content_type="multipart/form-data",
        )
        assert (
            uploads.status_code == 422 and "two files named 'diploma.pdf' in the upload" in uploads.get_json()["error"]
        )
    finally:
        app.extensions["sceau"].dispose()
    duplicate = "two files named 'diploma.pdf' in the archive: each name must be given once"
    assert response.status_code == 422 and duplicate in response.get_json()["error"]
    out = run_sceau("verify", "--bulk", archive, "--format", "json")
    assert out.returncode != 0 and '"valid"' not in out.stdout and duplicate in out.stderr + out.stdout
