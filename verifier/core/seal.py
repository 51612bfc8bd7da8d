"""The seal: a compact, signed form of a receipt for a QR code, in the spirit of France's 2D-Doc.

Online, a verifier checks the chain (the root anchored by the key that signed the seal, under a
trusted registry), accreditation at anchoring, and revocation, exactly as for a receipt. Offline,
it checks the issuer's signature against a signed trust list (``sceau trustlist export``).

A seal carries the displayed fields printed on the paper (holder, degree, number…); their SHA-256
is the leaf's ``fieldsSha256``, so the chain vouches for the words, not only for a file. A seal
without fields proves only that a document of its issuer exists, never that the paper is it.

Binary layout, version 1 (big-endian), then Base45 text prefixed ``SC1:`` (RECEIPT.md §8)::

    "SC" 0x01 | chainId u64 | registry 20 | root 32 | anchoredAt u64 | index u32 | kind u8
    | validFrom u64 | validUntil u64 | salt 32 | sha256 32 | fieldsSha256 32 | fieldsLen u16
    | fields (canonical UTF-8 JSON) | proofLen u8 | proof 32×n
    | signature 65 (EIP-191 over every byte before it)

The QR holds either that text or a URL ``BASE#SC1:…`` (space and % percent-encoded) that any phone
camera opens on the verifier page.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from verifier.core.base45 import b45decode, b45encode
from verifier.core.errors import InvalidFields, InvalidSeal
from verifier.core.fields import MAX_CANONICAL_BYTES, canonical, normalise
from verifier.core.merkle import LeafValues
from verifier.core.receipt import Anchor, Receipt

PREFIX = "SC1:"
_HEAD = struct.Struct(">2sBQ20s32sQIBQQ32s32s32sH")
MAX_SEAL_TEXT = 4096  # the largest QR code holds 4,296 alphanumeric characters


def canonical_fields(fields: dict[str, str]) -> bytes:
    """The bytes whose SHA-256 a fields-only document (a paper title) anchors."""
    return canonical(fields)


def seal_url(base_url: str, text: str) -> str:
    """The QR text that a phone camera opens: the verifier page, the seal in the fragment (never
    sent to a server by the browser)."""
    return base_url.rstrip("/") + "/#" + quote(text, safe="$*+-./:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


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
        if len(fields) > MAX_CANONICAL_BYTES:
            raise InvalidSeal(f"seal fields take {len(fields)} bytes; the limit is {MAX_CANONICAL_BYTES}")
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
            d.fields_sha256,
            len(fields),
        )
        return head + fields + bytes([len(self.proof)]) + b"".join(self.proof)

    def signer(self) -> str:
        """The address that signed the seal (raises InvalidSeal when the signature is malformed)."""
        from eth_account import Account  # outside the try: a missing library is not a malformed seal
        from eth_account.messages import encode_defunct

        try:
            return str(Account.recover_message(encode_defunct(primitive=self.body()), signature=self.signature))
        except Exception as exc:  # eth-keys raises several types for a bad signature
            raise InvalidSeal(f"the seal's signature is malformed ({exc.__class__.__name__})") from None

    def signed(self, private_key: Any) -> Seal:
        from eth_account import Account
        from eth_account.messages import encode_defunct

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
        if len(text) > MAX_SEAL_TEXT:
            raise InvalidSeal(f"a seal is at most {MAX_SEAL_TEXT} characters; this text has {len(text)}")
        if "#" in text and not text.startswith(PREFIX):  # the URL form: BASE#SC1:…
            text = unquote(text.split("#", 1)[1])
        if not text.startswith(PREFIX):
            raise InvalidSeal("not a Sceau seal (it should start with SC1:, or be a verifier link ending #SC1:…)")
        try:
            raw = b45decode(text[len(PREFIX) :])
            head = _HEAD.unpack_from(raw)
            magic, version, chain_id, registry, root, anchored_at, index, kind, vfrom, vuntil, salt, sha, fsha, flen = (
                head
            )
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
            if fields and (normalise(fields) != fields or canonical(fields) != fields_raw):
                raise InvalidSeal("the seal's fields are not in canonical form")
            doc = LeafValues(sha, salt, index, kind, vfrom, vuntil, fsha)
        except InvalidFields as exc:
            raise InvalidSeal(f"the seal's fields are malformed: {exc}") from None
        except (ValueError, struct.error, IndexError) as exc:
            raise InvalidSeal(f"the seal cannot be decoded: {exc}") from None
        return cls(chain_id, "0x" + registry.hex(), root, anchored_at, doc, proof, fields, signature)

    def as_receipt(self, issuer_key: str) -> Receipt:
        """The receipt the seal stands for (transaction and block unknown: the chain's storage is
        what verification reads)."""
        anchor = Anchor(self.root, b"\0" * 32, 0, b"\0" * 32, issuer_key, self.document.index + 1)
        return Receipt(self.chain_id, self.registry, anchor, self.document, self.proof)


def make_seal(receipt: Receipt, fields: dict[str, str], private_key: Any, anchored_at: int) -> Seal:
    """The seal of `receipt`'s document, showing `fields`, which must be the ones its leaf binds."""
    from verifier.core.fields import fields_sha256

    if fields_sha256(fields) != receipt.document.fields_sha256:
        raise InvalidFields(
            "these displayed fields are not the ones anchored with the document: a seal can only show "
            "the fields given when the document was issued"
        )
    return Seal(
        receipt.chain_id, receipt.registry, receipt.anchor.root, anchored_at, receipt.document, receipt.proof, fields
    ).signed(private_key)
