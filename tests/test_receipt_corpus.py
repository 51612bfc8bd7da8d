"""The golden receipt corpus (tests/assets/receipts). Receipts issued today must parse and verify
in 2070: never edit a valid file; add new ones. File names say what each case must do:
``valid__…``, ``invalid__<ErrorClass>__…`` and ``tampered__…`` (parses, but the proof fails)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.core import errors
from verifier.core.fields import fields_sha256
from verifier.core.merkle import verify_proof
from verifier.core.receipt import MEDIA_TYPE, Receipt

CORPUS = Path(__file__).parent / "assets" / "receipts"
GOLDEN_LEAVES = {
    # leaf and root, frozen: a change here means the v1 format changed, which it must not
    "valid__v1_diploma_batch_of_5": (
        "7b35a1574c28e5a95ff699259246302960772247a5166e7e87df61a6dcd84182",
        "a3cc15025095c6fbf438c8fe501aaed7781821bf02087f1bd76ae5edcd438ebb",
    ),
    "valid__v1_permit_single_document_with_expiry": (
        "82946d9a4b7148aae168542152c1d23068b53623eb4984b97695f108a4947e5f",
        "82946d9a4b7148aae168542152c1d23068b53623eb4984b97695f108a4947e5f",
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
    fields = path.with_suffix(".fields")  # displayed fields bound in the leaf, when there are any
    expected = fields_sha256(json.loads(fields.read_text())) if fields.exists() else bytes(32)
    assert receipt.document.fields_sha256 == expected


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


def test_the_grammar_is_ascii_and_json_whitespace_only() -> None:
    for name in ("non_json_whitespace", "arabic_indic_digits", "nan_block_number"):
        with pytest.raises(errors.InvalidReceipt):
            Receipt.from_json((CORPUS / f"invalid__InvalidReceipt__{name}.json").read_bytes())
    with pytest.raises(errors.ReceiptTypeError, match="not a Sceau receipt media type"):
        Receipt.from_json((CORPUS / "invalid__ReceiptTypeError__media_type_v01.json").read_bytes())


_NODE = st.one_of(
    st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex()),  # a node
    st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex().upper()),  # upper case: refused
    st.binary(min_size=31, max_size=33).map(lambda b: "0x" + b.hex()),  # a byte short or long
    st.tuples(st.binary(min_size=16, max_size=16), st.binary(min_size=15, max_size=15)).map(
        lambda t: "0x" + t[0].hex() + "," + t[1].hex() + "f"  # 66 characters with a comma inside
    ),
    st.just("0x" + "0" * 63 + ",0x" + "0" * 64),  # two nodes in one string
    st.integers(),
    st.none(),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_NODE, max_size=6))
def test_the_proofs_fast_parse_accepts_exactly_what_the_node_by_node_parse_accepts(nodes: list[object]) -> None:
    from verifier.core.errors import ReceiptTypeError
    from verifier.core.receipt import _bytes32, _proof

    try:
        slow: object = tuple(_bytes32(p, f"proof[{i}]") for i, p in enumerate(nodes))
    except ReceiptTypeError as exc:
        slow = str(exc)
    try:
        fast: object = _proof(nodes)
    except ReceiptTypeError as exc:
        fast = str(exc)
    assert fast == slow
