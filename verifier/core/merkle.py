"""Merkle trees in OpenZeppelin's StandardMerkleTree format. Consensus-critical: frozen.

A leaf is ``keccak256(keccak256(abi.encode(values)))`` over LEAF_ENCODING; an inner node is the
keccak-256 of its two children sorted as unsigned integers. Trees are laid out exactly as
``StandardMerkleTree.of(values, LEAF_ENCODING)`` lays them out (leaves sorted by hash), so that the
same documents give the same root here and in OpenZeppelin's JavaScript package, and every proof
verifies unmodified with ``StandardMerkleTree.verify`` and with ``MerkleProof.verify`` on chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from verifier.core.hashing import keccak256

#: The Solidity types of a leaf's values, in order. Part of receipt format v1: never change.
LEAF_ENCODING: tuple[str, ...] = ("bytes32", "bytes32", "uint32", "uint8", "uint64", "uint64", "bytes32")
NO_FIELDS = bytes(32)  # ``fields_sha256`` of a document that binds no displayed fields
MAX_PROOF_LENGTH = 32  # a tree of 2**32 leaves at most: far beyond any batch


@dataclass(frozen=True, slots=True)
class LeafValues:
    """What one leaf commits to. ``salt`` is 32 random bytes so that a low-entropy document cannot
    be found by guessing its fingerprint; ``index`` names the document on chain for revocation;
    dates are Unix seconds, ``valid_until`` 0 meaning "does not expire"; ``fields_sha256`` is the
    SHA-256 of the canonical displayed fields (holder, degree, number…, see ``fields.py``) that a
    seal shows, or 32 zero bytes: the chain then vouches for what the paper says, not only for the
    file."""

    sha256: bytes
    salt: bytes
    index: int
    kind: int
    valid_from: int
    valid_until: int
    fields_sha256: bytes = NO_FIELDS

    def __post_init__(self) -> None:
        if len(self.sha256) != 32 or len(self.salt) != 32 or len(self.fields_sha256) != 32:
            raise ValueError("sha256, salt and fields_sha256 must be 32 bytes each")
        for name, value, bits in (
            ("index", self.index, 32),
            ("kind", self.kind, 8),
            ("valid_from", self.valid_from, 64),
            ("valid_until", self.valid_until, 64),
        ):
            if not 0 <= value < 1 << bits:
                raise ValueError(f"{name} {value} does not fit uint{bits}")

    def abi_encode(self) -> bytes:
        """``abi.encode`` of the values: every one is a static type, one 32-byte word each."""
        return (
            self.sha256
            + self.salt
            + self.index.to_bytes(32, "big")
            + self.kind.to_bytes(32, "big")
            + self.valid_from.to_bytes(32, "big")
            + self.valid_until.to_bytes(32, "big")
            + self.fields_sha256
        )

    def as_list(self) -> list[object]:
        """The values as StandardMerkleTree takes them (hex strings and integers)."""
        return [
            "0x" + self.sha256.hex(),
            "0x" + self.salt.hex(),
            self.index,
            self.kind,
            self.valid_from,
            self.valid_until,
            "0x" + self.fields_sha256.hex(),
        ]


@lru_cache(maxsize=256)
def leaf_hash(values: LeafValues) -> bytes:
    """Cached for the few leaves in use: one verification asks for its receipt's leaf several
    times. Small: every entry holds its values alive (16,384 of them were 7 MB a process)."""
    return keccak256(keccak256(values.abi_encode()))


def _pair_hash(a: bytes, b: bytes) -> bytes:
    return keccak256(a + b if a <= b else b + a)


#: An inner node: cached, because the proofs of a batch's documents share their upper nodes (a
#: bulk check folds thousands of them). 4,096 entries, about 1 MB: the 131,072 kept before were
#: 40 MB a process once full, in every web worker and in the anchoring worker.
node_hash = lru_cache(maxsize=1 << 12)(_pair_hash)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` leads to from `leaf`."""
    node = leaf
    for sibling in proof:
        node = node_hash(node, sibling)
    return node


def verify_proof(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    return len(proof) <= MAX_PROOF_LENGTH and process_proof(leaf, proof) == root


@dataclass(frozen=True)
class MerkleTree:
    """A built tree: ``nodes`` in OpenZeppelin's array layout, root first."""

    nodes: tuple[bytes, ...]
    positions: dict[bytes, int]  # leaf hash -> index in nodes

    @classmethod
    def build(cls, leaves: Sequence[bytes]) -> MerkleTree:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        if len(set(leaves)) != len(leaves):
            raise ValueError("duplicate leaves: every document needs its own salt")
        ordered = sorted(leaves)
        size = 2 * len(ordered) - 1
        nodes: list[bytes] = [b""] * size
        for i, leaf in enumerate(ordered):
            nodes[size - 1 - i] = leaf
        for i in range(size - 1 - len(ordered), -1, -1):  # each node once: not through the cache
            nodes[i] = _pair_hash(nodes[2 * i + 1], nodes[2 * i + 2])
        positions = {leaf: size - 1 - i for i, leaf in enumerate(ordered)}
        return cls(tuple(nodes), positions)

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    @property
    def leaf_count(self) -> int:
        return (len(self.nodes) + 1) // 2

    def proof(self, leaf: bytes) -> list[bytes]:
        index = self.positions[leaf]
        proof: list[bytes] = []
        while index > 0:
            sibling = index - 1 if index % 2 == 0 else index + 1
            proof.append(self.nodes[sibling])
            index = (index - 1) // 2
        return proof
