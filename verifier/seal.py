"""The seal: a compact, signed form of a receipt for a QR code, in the spirit of France's 2D-Doc.

Offline, a verifier checks the issuer's signature against a cached trust list of accredited keys
(``sceau trustlist export``); online it also checks the chain and revocation, exactly as for a
receipt. A seal may carry displayed fields (holder name, document number, dates); their canonical
JSON is then the sealed "document", so the chain vouches for them too.

Binary layout, version 1 (big-endian), then Base45 text prefixed ``SC1:``::

    "SC" 0x01 | chainId u64 | registry 20 | root 32 | anchoredAt u64 | index u32 | kind u8
    | validFrom u64 | validUntil u64 | salt 32 | sha256 32 | fieldsLen u16 | fields (UTF-8 JSON)
    | proofLen u8 | proof 32×n | signature 65 (EIP-191 over every byte before it)
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct

from .base45 import b45decode, b45encode
from .errors import InvalidReceipt
from .merkle import LeafValues
from .receipt import Anchor, Receipt

PREFIX = "SC1:"
_HEAD = struct.Struct(">2sBQ20s32sQIBQQ32s32sH")
MAX_FIELDS = 600


class InvalidSeal(InvalidReceipt):
    """A seal that cannot be decoded, or whose signature does not hold."""


def canonical_fields(fields: dict[str, str]) -> bytes:
    """The bytes whose SHA-256 a fields-only document (a paper title) anchors."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Seal:
    chain_id: int
    registry: str
    root: bytes
    anchored_at: int  # block time of the anchor: offline, the key must have been valid then
    document: LeafValues
    proof: tuple[bytes, ...]
    fields: dict[str, str]
    signature: bytes = b""

    def body(self) -> bytes:
        d = self.document
        fields = canonical_fields(self.fields) if self.fields else b""
        if len(fields) > MAX_FIELDS:
            raise InvalidSeal(f"seal fields take {len(fields)} bytes; the limit is {MAX_FIELDS}")
        head = _HEAD.pack(
            b"SC",
            1,
            self.chain_id,
            bytes.fromhex(self.registry[2:]),
            self.root,
            self.anchored_at,
            d.index,
            d.kind,
            d.valid_from,
            d.valid_until,
            d.salt,
            d.sha256,
            len(fields),
        )
        return head + fields + bytes([len(self.proof)]) + b"".join(self.proof)

    def signer(self) -> str:
        """The address that signed the seal (raises InvalidSeal when the signature is malformed)."""
        try:
            return str(Account.recover_message(encode_defunct(primitive=self.body()), signature=self.signature))
        except Exception as exc:  # eth-keys raises several types for a bad signature
            raise InvalidSeal(f"the seal's signature is malformed ({exc.__class__.__name__})") from None

    def signed(self, private_key: Any) -> Seal:
        sig = Account.sign_message(encode_defunct(primitive=self.body()), private_key=private_key).signature
        return Seal(
            self.chain_id,
            self.registry,
            self.root,
            self.anchored_at,
            self.document,
            self.proof,
            self.fields,
            bytes(sig),
        )

    def encode(self) -> str:
        return PREFIX + b45encode(self.body() + self.signature)

    @classmethod
    def decode(cls, text: str) -> Seal:
        text = text.strip()
        if not text.startswith(PREFIX):
            raise InvalidSeal("not a Sceau seal (it should start with SC1:)")
        try:
            raw = b45decode(text[len(PREFIX) :])
            head = _HEAD.unpack_from(raw)
            magic, version, chain_id, registry, root, anchored_at, index, kind, vfrom, vuntil, salt, sha, flen = head
            if magic != b"SC" or version != 1:
                raise InvalidSeal(f"unsupported seal version {version}")
            pos = _HEAD.size
            fields_raw = raw[pos : pos + flen]
            pos += flen
            count = raw[pos]
            pos += 1
            proof = tuple(raw[pos + 32 * i : pos + 32 * (i + 1)] for i in range(count))
            pos += 32 * count
            signature = raw[pos:]
            if len(signature) != 65 or any(len(p) != 32 for p in proof) or len(fields_raw) != flen:
                raise InvalidSeal("the seal is truncated")
            fields = json.loads(fields_raw) if flen else {}
            if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
                raise InvalidSeal("the seal's fields are not a flat object of strings")
            doc = LeafValues(sha, salt, index, kind, vfrom, vuntil)
        except (ValueError, struct.error, IndexError) as exc:
            raise InvalidSeal(f"the seal cannot be decoded: {exc}") from None
        return cls(chain_id, "0x" + registry.hex(), root, anchored_at, doc, proof, fields, signature)

    def as_receipt(self, issuer_key: str) -> Receipt:
        """The receipt the seal stands for (transaction and block unknown: the chain's storage is
        what verification reads)."""
        anchor = Anchor(self.root, b"\0" * 32, 0, b"\0" * 32, issuer_key, self.document.index + 1)
        return Receipt(self.chain_id, self.registry, anchor, self.document, self.proof)


def make_seal(receipt: Receipt, fields: dict[str, str], private_key: Any, anchored_at: int) -> Seal:
    return Seal(
        receipt.chain_id, receipt.registry, receipt.anchor.root, anchored_at, receipt.document, receipt.proof, fields
    ).signed(private_key)
