"""The receipt: what a holder keeps to verify a document without Sceau's servers.

Format v1 is specified in RECEIPT.md. Parsing is strict and every failure is an InvalidReceipt
subclass naming the problem. Only a major version exists: a change that an old verifier could
misread is a new major version, and old versions stay readable forever.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from verifier.core.errors import (
    InvalidReceipt,
    ReceiptTooLarge,
    ReceiptTypeError,
    TrailingGarbage,
    TruncatedReceipt,
    UnsupportedReceiptVersion,
)
from verifier.core.merkle import LEAF_ENCODING, MAX_PROOF_LENGTH, LeafValues, leaf_hash

MAJOR_VERSION = 1
MEDIA_TYPE = f"application/vnd.sceau.receipt.v{MAJOR_VERSION}+json"
MAX_RECEIPT_BYTES = 64 * 1024
_MEDIA_TYPE_RE = re.compile(r"application/vnd\.sceau\.receipt\.v([1-9][0-9]{0,5})\+json")
_JSON_WS = " \t\n\r"  # RFC 8259 whitespace; str.strip() would also take Unicode spaces
_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_PROOF = re.compile(r"0x[0-9a-f]{64}(?:,0x[0-9a-f]{64})*")  # nodes joined with ",": see _proof
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where and by whom the batch root was anchored."""

    root: bytes
    transaction_hash: bytes
    block_number: int
    block_hash: bytes
    issuer_key: str
    document_count: int


@dataclass(frozen=True, slots=True)
class Receipt:
    chain_id: int
    registry: str
    anchor: Anchor
    document: LeafValues
    proof: tuple[bytes, ...]

    @property
    def leaf(self) -> bytes:
        return leaf_hash(self.document)

    # ------------------------------------------------------------ serialisation

    def to_dict(self) -> dict[str, Any]:
        d = self.document
        return {
            "mediaType": MEDIA_TYPE,
            "chainId": self.chain_id,
            "registry": self.registry,
            "anchor": {
                "root": _hex(self.anchor.root),
                "transactionHash": _hex(self.anchor.transaction_hash),
                "blockNumber": self.anchor.block_number,
                "blockHash": _hex(self.anchor.block_hash),
                "issuerKey": self.anchor.issuer_key,
                "documentCount": self.anchor.document_count,
            },
            "document": {
                "sha256": d.sha256.hex(),
                "salt": _hex(d.salt),
                "index": d.index,
                "kind": d.kind,
                "validFrom": d.valid_from,
                "validUntil": d.valid_until,
                "fieldsSha256": d.fields_sha256.hex(),
            },
            "leafEncoding": list(LEAF_ENCODING),
            "proof": [_hex(p) for p in self.proof],
        }

    def to_json(self) -> str:
        """Compact JSON (the C encoder: ten times faster than indented output for big cohorts)."""
        return json.dumps(self.to_dict(), separators=(",", ":")) + "\n"

    # ------------------------------------------------------------ parsing

    @classmethod
    def from_json(cls, data: bytes | str) -> Receipt:
        """Parse a receipt, refusing anything RECEIPT.md does not allow."""
        raw = data.encode() if isinstance(data, str) else data
        if len(raw) > MAX_RECEIPT_BYTES:
            raise ReceiptTooLarge(f"receipt is {len(raw)} bytes; the limit is {MAX_RECEIPT_BYTES}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidReceipt(f"receipt is not UTF-8 text (byte {exc.start})") from None
        return cls.from_dict(parse_json(text, "receipt"))

    @classmethod
    def from_dict(cls, obj: Any) -> Receipt:
        top = _object(obj, "receipt")
        media = top.get("mediaType")
        if not isinstance(media, str):
            raise ReceiptTypeError("receipt.mediaType: missing or not a string")
        match = _MEDIA_TYPE_RE.fullmatch(media)
        if not match:
            raise ReceiptTypeError(f"receipt.mediaType: {media!r} is not a Sceau receipt media type")
        if int(match.group(1)) != MAJOR_VERSION:
            raise UnsupportedReceiptVersion(
                f"receipt version {match.group(1)} is not supported; this verifier reads version {MAJOR_VERSION}"
            )
        _exact_keys(top, "receipt", {"mediaType", "chainId", "registry", "anchor", "document", "leafEncoding", "proof"})
        anchor = _object(top["anchor"], "anchor")
        _exact_keys(
            anchor, "anchor", {"root", "transactionHash", "blockNumber", "blockHash", "issuerKey", "documentCount"}
        )
        doc = _object(top["document"], "document")
        _exact_keys(doc, "document", {"sha256", "salt", "index", "kind", "validFrom", "validUntil", "fieldsSha256"})
        if top["leafEncoding"] != list(LEAF_ENCODING):
            raise ReceiptTypeError(f"receipt.leafEncoding: must be {list(LEAF_ENCODING)} in version 1")
        proof = top["proof"]
        if not isinstance(proof, list):
            raise ReceiptTypeError("receipt.proof: must be a list of 32-byte hex strings")
        if len(proof) > MAX_PROOF_LENGTH:
            raise ReceiptTooLarge(f"receipt.proof: {len(proof)} nodes; the limit is {MAX_PROOF_LENGTH}")
        count = _int(anchor["documentCount"], "anchor.documentCount", 32)
        if count == 0:
            raise ReceiptTypeError("anchor.documentCount: must be at least 1")
        try:
            values = LeafValues(
                sha256=bytes.fromhex(_match(doc["sha256"], "document.sha256", _SHA256, "64 lowercase hex digits")),
                salt=_bytes32(doc["salt"], "document.salt"),
                index=_int(doc["index"], "document.index", 32),
                kind=_kind(doc["kind"]),
                valid_from=_int(doc["validFrom"], "document.validFrom", 64),
                valid_until=_int(doc["validUntil"], "document.validUntil", 64),
                fields_sha256=bytes.fromhex(
                    _match(doc["fieldsSha256"], "document.fieldsSha256", _SHA256, "64 lowercase hex digits")
                ),
            )
        except ValueError as exc:  # pragma: no cover - ranges are checked above
            raise ReceiptTypeError(str(exc)) from None
        if values.index >= count:
            raise ReceiptTypeError(f"document.index {values.index} is not below anchor.documentCount {count}")
        if values.valid_until and values.valid_until <= values.valid_from:
            raise ReceiptTypeError("document.validUntil must be 0 (no expiry) or after document.validFrom")
        return cls(
            chain_id=_int(top["chainId"], "receipt.chainId", 64, minimum=1),
            registry=_match(top["registry"], "receipt.registry", _ADDRESS, "a 20-byte 0x address"),
            anchor=Anchor(
                root=_bytes32(anchor["root"], "anchor.root"),
                transaction_hash=_bytes32(anchor["transactionHash"], "anchor.transactionHash"),
                block_number=_int(anchor["blockNumber"], "anchor.blockNumber", 64),
                block_hash=_bytes32(anchor["blockHash"], "anchor.blockHash"),
                issuer_key=_match(anchor["issuerKey"], "anchor.issuerKey", _ADDRESS, "a 20-byte 0x address"),
                document_count=count,
            ),
            document=values,
            proof=_proof(proof),
        )


def parse_json(text: str, what: str) -> Any:
    """Strict JSON, as RECEIPT.md §1 requires of a receipt and of every JSON body carrying one:
    RFC 8259 whitespace only, no duplicate members, no NaN or Infinity, nothing after the value."""
    stripped = text.lstrip(_JSON_WS)
    if not stripped:
        raise TruncatedReceipt(f"{what} is empty")
    decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    try:
        obj, end = decoder.raw_decode(stripped)
    except json.JSONDecodeError as exc:
        if _ends_inside_a_value(stripped) and (
            exc.pos >= len(stripped.rstrip(_JSON_WS)) or exc.msg.startswith("Unterminated string")
        ):
            raise TruncatedReceipt(f"{what} JSON ends early: {exc.msg}") from None
        raise InvalidReceipt(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:  # a few thousand '[' within the size limit
        raise InvalidReceipt(f"{what} nests arrays or objects too deeply") from None
    if stripped[end:].strip(_JSON_WS):
        raise TrailingGarbage(f"unexpected data after the {what} at character {end + len(text) - len(stripped)}")
    return obj


def _no_constant(name: str) -> Any:
    raise InvalidReceipt(f"{name} is not a JSON number")


def _ends_inside_a_value(text: str) -> bool:
    """Whether `text` stops inside a string, object or array: the mark of a cut-short document."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return in_string or depth > 0


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ReceiptTypeError(f"duplicate field {key!r}")
        out[key] = value
    return out


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ReceiptTypeError(f"{where}: must be a JSON object, not {type(value).__name__}")
    return value


def _exact_keys(obj: dict[str, Any], where: str, expected: set[str]) -> None:
    missing = expected - obj.keys()
    unknown = obj.keys() - expected
    problems = []
    if missing:
        problems.append(f"missing {', '.join(sorted(missing))}")
    if unknown:
        problems.append(f"unknown {', '.join(sorted(unknown))}")
    if problems:
        raise ReceiptTypeError(f"{where}: {'; '.join(problems)}")


def _int(value: Any, where: str, bits: int, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReceiptTypeError(f"{where}: must be an integer, not {type(value).__name__}")
    if not minimum <= value < 1 << bits:
        raise ReceiptTypeError(f"{where}: {value} is out of range")
    return value


def _kind(value: Any) -> int:
    kind = _int(value, "document.kind", 8)
    if not 1 <= kind <= 31:
        raise ReceiptTypeError(f"document.kind: {kind} is not a document kind (1 to 31)")
    return kind


def _match(value: Any, where: str, pattern: re.Pattern[str], form: str) -> str:
    if not isinstance(value, str):
        raise ReceiptTypeError(f"{where}: must be a string ({form}), not {type(value).__name__}")
    if not pattern.fullmatch(value):
        raise ReceiptTypeError(f"{where}: {value[:80]!r} is not {form}")
    return value


def _proof(nodes: list[Any]) -> tuple[bytes, ...]:
    """The proof's nodes. All of them checked by one match over their join when each is a string
    of the right length (a bulk check parses tens of thousands of proofs); otherwise one by one,
    so that the error names the node at fault. Both accept exactly the same lists."""
    if all(type(p) is str and len(p) == 66 for p in nodes) and _PROOF.fullmatch(",".join(nodes)):
        return tuple(bytes.fromhex(p[2:]) for p in nodes)
    return tuple(_bytes32(p, f"proof[{i}]") for i, p in enumerate(nodes))


def _bytes32(value: Any, where: str) -> bytes:
    return bytes.fromhex(_match(value, where, _HEX32, "0x and 64 lowercase hex digits")[2:])
