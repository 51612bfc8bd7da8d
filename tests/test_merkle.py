"""Leaves and trees are OpenZeppelin's StandardMerkleTree, byte for byte: same root for the same
documents, and our proofs verify unmodified with the npm package (the on-chain MerkleProof check is
in test_contracts.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from eth_abi import encode

from certifier.chain.merkle_batch import MerkleBatch
from verifier.core.merkle import LEAF_ENCODING, LeafValues, MerkleTree, leaf_hash, process_proof, verify_proof

ROOT = Path(__file__).resolve().parent.parent


def oz(values: list[list[object]], checks: list[dict[str, object]]) -> dict[str, object]:
    payload = json.dumps({"values": values, "encoding": list(LEAF_ENCODING), "checks": checks})
    out = subprocess.run(
        ["node", str(ROOT / "tests" / "js" / "oz_merkle.js")],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def batch(n: int) -> MerkleBatch:
    fields = [os.urandom(32) if i % 2 else bytes(32) for i in range(n)]  # some documents bind displayed fields
    return MerkleBatch.build([os.urandom(32) for _ in range(n)], 1, 1_780_000_000, 1_900_000_000, fields=fields)


def test_abi_encoding_of_a_leaf_matches_eth_abi() -> None:
    v = LeafValues(os.urandom(32), os.urandom(32), 7, 2, 1_780_000_000, 2**64 - 1, os.urandom(32))
    assert v.abi_encode() == encode(
        list(LEAF_ENCODING), [v.sha256, v.salt, v.index, v.kind, v.valid_from, v.valid_until, v.fields_sha256]
    )


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 101])
def test_root_and_proofs_match_openzeppelin_standard_merkle_tree(n: int) -> None:
    b = batch(n)
    root = "0x" + b.root.hex()
    checks = [
        {"root": root, "value": v.as_list(), "proof": ["0x" + p.hex() for p in b.tree.proof(h)]}
        for v, h in zip(b.leaves, b.hashes, strict=True)
    ]
    result = oz([v.as_list() for v in b.leaves], checks)
    assert result["root"] == root
    assert result["verdicts"] == [True] * n


def test_openzeppelin_rejects_a_proof_for_altered_values() -> None:
    b = batch(5)
    v, h = b.leaves[2], b.hashes[2]
    altered = v.as_list()
    altered[5] = 0  # try to remove the expiry date
    checks = [{"root": "0x" + b.root.hex(), "value": altered, "proof": ["0x" + p.hex() for p in b.tree.proof(h)]}]
    assert oz([x.as_list() for x in b.leaves], checks)["verdicts"] == [False]


def test_openzeppelin_rejects_a_proof_for_swapped_displayed_fields() -> None:
    b = batch(5)
    v, h = b.leaves[1], b.hashes[1]
    altered = v.as_list()
    altered[6] = "0x" + os.urandom(32).hex()  # the fields printed on a forged paper
    checks = [{"root": "0x" + b.root.hex(), "value": altered, "proof": ["0x" + p.hex() for p in b.tree.proof(h)]}]
    assert oz([x.as_list() for x in b.leaves], checks)["verdicts"] == [False]


def test_every_proof_leads_to_the_root_and_no_other_leaf_does() -> None:
    b = batch(33)
    for h in b.hashes:
        assert verify_proof(b.root, h, b.tree.proof(h))
    assert not verify_proof(b.root, b.hashes[0], b.tree.proof(b.hashes[1]))
    assert process_proof(b.hashes[0], []) == b.hashes[0]


def test_salts_make_equal_documents_distinct_and_unguessable() -> None:
    same = os.urandom(32)
    b = MerkleBatch.build([same, same], 1, 0)
    assert b.hashes[0] != b.hashes[1]
    assert len({v.salt for v in b.leaves}) == 2 and all(len(v.salt) == 32 for v in b.leaves)


def test_duplicate_leaves_and_empty_trees_are_refused() -> None:
    h = leaf_hash(LeafValues(b"\1" * 32, b"\2" * 32, 0, 1, 0, 0))
    with pytest.raises(ValueError, match="duplicate"):
        MerkleTree.build([h, h])
    with pytest.raises(ValueError, match="at least one"):
        MerkleTree.build([])


def test_leaf_values_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="kind 256 does not fit uint8"):
        LeafValues(b"\1" * 32, b"\2" * 32, 0, 256, 0, 0)
