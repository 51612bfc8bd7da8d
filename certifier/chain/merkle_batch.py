"""A batch: the leaves of many documents, their Merkle tree, and the receipts once anchored."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from verifier.core.merkle import NO_FIELDS, LeafValues, MerkleTree, leaf_hash
from verifier.core.receipt import Anchor, Receipt


@dataclass(frozen=True)
class MerkleBatch:
    kind: int
    leaves: tuple[LeafValues, ...]
    hashes: tuple[bytes, ...]
    tree: MerkleTree

    @property
    def root(self) -> bytes:
        return self.tree.root

    @classmethod
    def build(
        cls,
        digests: Sequence[bytes],
        kind: int,
        valid_from: int,
        valid_until: int = 0,
        salts: Sequence[bytes] | None = None,
        fields: Sequence[bytes] | None = None,
    ) -> MerkleBatch:
        """Leaves for `digests`, in order (document i gets index i), each with a fresh 256-bit salt
        unless `salts` are given (a batch rebuilt after a crash must keep its salts), and the
        SHA-256 of its displayed fields when `fields` gives them (see verifier.core.fields)."""
        if not digests:
            raise ValueError("a batch needs at least one document")
        salts = salts or [secrets.token_bytes(32) for _ in digests]
        bound = fields or [NO_FIELDS] * len(digests)
        leaves = tuple(
            LeafValues(digest, salt, i, kind, valid_from, valid_until, f)
            for i, (digest, salt, f) in enumerate(zip(digests, salts, bound, strict=True))
        )
        return cls.from_leaves(kind, leaves)

    @classmethod
    def from_leaves(cls, kind: int, leaves: Sequence[LeafValues]) -> MerkleBatch:
        """The batch of exactly these leaves (their indices must run from 0)."""
        if [v.index for v in leaves] != list(range(len(leaves))):
            raise ValueError("leaf indices must run 0, 1, 2… in order")
        hashes = tuple(leaf_hash(v) for v in leaves)
        return cls(kind, tuple(leaves), hashes, MerkleTree.build(hashes))

    def receipts(
        self,
        *,
        chain_id: int,
        registry: str,
        transaction_hash: bytes,
        block_number: int,
        block_hash: bytes,
        issuer_key: str,
    ) -> list[Receipt]:
        anchor = Anchor(self.root, transaction_hash, block_number, block_hash, issuer_key, len(self.leaves))
        return [
            Receipt(chain_id, registry, anchor, values, tuple(self.tree.proof(h)))
            for values, h in zip(self.leaves, self.hashes, strict=True)
        ]
