"""The golden receipt corpus (tests/assets/receipts). Receipts issued today must parse and verify
in 2070: never edit a valid file; add new ones. File names say what each case must do:
``valid__…``, ``invalid__<ErrorClass>__…`` and ``tampered__…`` (parses, but the proof fails)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from verifier import errors
from verifier.merkle import verify_proof
from verifier.receipt import MEDIA_TYPE, Receipt

CORPUS = Path(__file__).parent / "assets" / "receipts"
GOLDEN_LEAVES = {
    # leaf and root, frozen: a change here means the v1 format changed, which it must not
    "valid__v1_diploma_batch_of_5": (
        "83f6349933d5eb01f844bfdb4ad4ac23e0e2660ffe1704ecb1a521fbfd826fd4",
        "875d2964eaa846d65592bcfaff0723bbb9fbf0169458d030cd7a3c3d77a2e9e0",
    ),
    "valid__v1_permit_single_document_with_expiry": (
        "1f92a7d9ea0dd50e96442d32a5dc48160c42bba62802aab05896b96cd6940dab",
        "1f92a7d9ea0dd50e96442d32a5dc48160c42bba62802aab05896b96cd6940dab",
    ),
}


def cases(prefix: str) -> list[Path]:
    return sorted(CORPUS.glob(f"{prefix}__*.json"))


def test_corpus_holds_every_kind_of_case() -> None:
    assert set(GOLDEN_LEAVES) == {p.stem for p in cases("valid")}
    names = {p.name.split("__")[1] for p in cases("invalid")}
    assert {"UnsupportedReceiptVersion", "TruncatedReceipt", "TrailingGarbage", "ReceiptTypeError"} <= names


@pytest.mark.parametrize("path", cases("valid"), ids=lambda p: p.stem)
def test_valid_receipts_parse_bind_their_document_and_prove_their_leaf(path: Path) -> None:
    receipt = Receipt.from_json(path.read_bytes())
    document = path.with_suffix(".document").read_bytes()
    assert hashlib.sha256(document).digest() == receipt.document.sha256
    leaf, root = GOLDEN_LEAVES[path.stem]
    assert receipt.leaf.hex() == leaf and receipt.anchor.root.hex() == root
    assert verify_proof(receipt.anchor.root, receipt.leaf, receipt.proof)
    assert Receipt.from_json(receipt.to_json()) == receipt  # round trip
    assert receipt.to_dict()["mediaType"] == MEDIA_TYPE


@pytest.mark.parametrize("path", cases("invalid"), ids=lambda p: p.stem)
def test_invalid_receipts_fail_with_their_specific_error(path: Path) -> None:
    expected = getattr(errors, path.name.split("__")[1])
    with pytest.raises(expected) as info:
        Receipt.from_json(path.read_bytes())
    assert type(info.value) is expected
    assert str(info.value)  # a message a person can act on


@pytest.mark.parametrize("path", cases("tampered"), ids=lambda p: p.stem)
def test_tampered_receipts_parse_but_their_proof_fails(path: Path) -> None:
    receipt = Receipt.from_json(path.read_bytes())
    assert not verify_proof(receipt.anchor.root, receipt.leaf, receipt.proof)


def test_unsupported_version_names_both_versions() -> None:
    with pytest.raises(errors.UnsupportedReceiptVersion, match="version 2 is not supported.*version 1"):
        Receipt.from_json((CORPUS / "invalid__UnsupportedReceiptVersion__v2.json").read_bytes())


def test_unknown_fields_are_named() -> None:
    with pytest.raises(errors.ReceiptTypeError, match="unknown holderName"):
        Receipt.from_json((CORPUS / "invalid__ReceiptTypeError__unknown_field.json").read_bytes())
